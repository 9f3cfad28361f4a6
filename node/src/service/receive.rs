//! Receiving a dossier at the desk (Form 01): its code, its facts and the
//! `received` event — and, when the receiving office is the first step of
//! its route, straight into that office's processing.

use automerge::Automerge;
use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::catalogue::{ProcessingTime, resolve_route};
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::fold::{self, DossierState};
use lienthong_shared::dossier::schema::{
    self, Component, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{Action, Dossier, Event};

use super::plan;
use super::record::index_dossier;
use super::{
    ActionError, NewDossier, Recorded, Result, check_officer, check_served, key_hex,
    new_dossier_key, new_event_id,
};
use crate::node::Node;
use crate::store::cache::CachedDossier;
use crate::store::documents::DocKind;

/// Receive a dossier at the desk of `office` (one of this node's offices):
/// assign its code, write Form 01's facts and the `received` event. When
/// `office` is the first step of the dossier's route (it decides the
/// procedure itself, or does the first part of it), the desk hands it to
/// the office's processing in the same change ([`plan::into_processing`]):
/// status 4 at once, as at a real one-stop desk.
pub fn receive(
    node: &mut Node,
    office: &OfficeId,
    officer: &str,
    at: DateTime<Utc>,
    new: &NewDossier,
) -> Result<Recorded> {
    check_officer(officer)?;
    check_served(node, office)?;
    // The code is known once the counter gives it (in the write below).
    let span = tracing::info_span!("dossier", code = tracing::field::Empty);
    let _entered = span.enter();
    let local_date = node.calendar.local_date(at);
    node.calendar.is_working_day(local_date)?;
    let procedure =
        node.catalogue
            .get(&new.procedure)
            .ok_or_else(|| ActionError::UnknownProcedure {
                code: new.procedure.clone(),
                hint: procedure_hint(node, &new.procedure),
            })?;
    let rule_set = node
        .network
        .rule_sets
        .in_force_on(local_date)
        .ok_or_else(|| {
            ActionError::Invalid(format!(
                "no rule set in force on {local_date} in the network file"
            ))
        })?
        .id
        .clone();
    let route: Vec<RouteStep> = resolve_route(&node.network.offices, procedure, office)
        .map_err(|e| ActionError::Invalid(e.to_string()))?
        .iter()
        .map(RouteStep::from)
        .collect();
    let agency_code = node
        .network
        .offices
        .get(office)
        .ok_or_else(|| ActionError::UnknownOffice(office.clone()))?
        .agency_code
        .clone();
    let (processing_days, same_day_cutoff) = match procedure.processing {
        ProcessingTime::WorkingDays(days) => (Some(u64::from(days)), None),
        ProcessingTime::SameDay { cutoff } => (None, Some(cutoff.format("%H:%M").to_string())),
    };
    let components: Vec<Component> = if new.components.is_empty() {
        procedure
            .components
            .iter()
            .map(|c| Component {
                name: c.name.clone(),
                copies: u64::from(c.copies),
                attachments: Vec::new(),
            })
            .collect()
    } else {
        new.components
            .iter()
            .map(|name| Component {
                name: name.clone(),
                copies: 1,
                attachments: Vec::new(),
            })
            .collect()
    };
    let key = new_dossier_key();
    let snapshot = ProcedureSnapshot {
        code: procedure.code.clone(),
        name: procedure.name.clone(),
        catalogue_version: node.catalogue.version.clone(),
        processing_days,
        same_day_cutoff,
        fee_vnd: procedure.fee_vnd,
    };
    let action = if new.submitted_only {
        Action::Submitted
    } else {
        Action::Received
    };
    let follow_up: Vec<Action> = if new.submitted_only {
        Vec::new()
    } else {
        plan::into_processing(&route, office)
    };
    let make_event = |action: Action| Event {
        id: new_event_id(),
        at,
        office: office.clone(),
        officer: officer.to_string(),
        action,
    };
    let event = make_event(action);
    let follow_up: Vec<Event> = follow_up.into_iter().map(make_event).collect();
    let actor = node.actor();
    let face = node.face.as_str();
    let (store, ctx, tree) = node.split(at);
    // Everything a receipt writes depends on its code only through the
    // facts, so build the document for the code the counter will most
    // likely give, outside the write lock (Automerge's work is most of a
    // receipt's cost, and other desks wait while the lock is held); inside,
    // take the code and rebuild only if another desk took that one first.
    let build = |code: &DossierCode| -> Result<ReceivedDocument> {
        let facts = DossierFacts {
            id: key_hex(&key),
            code: code.to_string(),
            rules: rule_set.clone(),
            origin: office.clone(),
            channel: new.channel,
            result_delivery: new.result_delivery,
            procedure: snapshot.clone(),
            applicant: new.applicant.clone(),
            route: route.clone(),
            documents: components.clone(),
        };
        let mut doc = Automerge::new().with_actor(actor.clone());
        let mut tx = doc.transaction();
        schema::create_with_events(&mut tx, &facts, &event, &follow_up)?;
        crate::store::documents::commit_now(tx);
        let written: Vec<&Event> = std::iter::once(&event).chain(&follow_up).collect();
        let dossier = match schema::as_written(&facts, &written) {
            Some(dossier) => dossier,
            None => schema::read(&doc)?,
        };
        let state = fold::fold(&dossier, &ctx);
        if let Some(reason) = dossier_conflict(&state) {
            // Nothing an officer did: a route or catalogue this build cannot follow.
            return Err(ActionError::Invalid(reason));
        }
        if let Some(problem) = due_problem(&state) {
            return Err(ActionError::Invalid(problem));
        }
        let stored = crate::store::snapshot::encode(&doc);
        Ok(ReceivedDocument {
            code: code.clone(),
            doc,
            dossier,
            state,
            stored,
        })
    };
    let sequence = store.read(|r| r.peek_dossier_sequence(&agency_code, local_date))?;
    let guess = u32::try_from(sequence)
        .ok()
        .and_then(|n| DossierCode::new(&agency_code, local_date, n).ok());
    let mut built = guess.as_ref().map(&build).transpose()?;
    let (recorded, cached) = store.write(|w| -> Result<(Recorded, CachedDossier)> {
        let code = w.next_dossier_code(&agency_code, local_date)?;
        let received = match built.take() {
            Some(received) if received.code == code => received,
            _ => build(&code)?,
        };
        let seq = w.save_document_with(
            &key,
            DocKind::Dossier,
            &received.doc,
            &[],
            Some(received.stored.as_slice()),
        )?;
        let seq = index_dossier(w, &key, seq, &received.dossier, &received.state, tree)?;
        for e in std::iter::once(&event).chain(&follow_up) {
            w.count_operation(e.action.kind().as_str(), e.office.as_str(), face)?;
        }
        let recorded = Recorded {
            key,
            code: code.to_string(),
            event: event.clone(),
            follow_up: follow_up.clone(),
            state: received.state,
            seq,
        };
        let cached = CachedDossier {
            doc: received.doc,
            dossier: received.dossier,
        };
        Ok((recorded, cached))
    })?;
    // The desk's next step on this dossier starts from here.
    store.dossiers.keep(key, cached);
    span.record("code", tracing::field::display(&recorded.code));
    tracing::info!(
        procedure = %new.procedure,
        %office,
        officer,
        processing = !recorded.follow_up.is_empty(),
        seq = recorded.seq,
        "received"
    );
    Ok(recorded)
}

/// A receipt's document, built for one code.
struct ReceivedDocument {
    code: DossierCode,
    doc: Automerge,
    dossier: Dossier,
    state: DossierState,
    /// The document in its stored form (zstd-wrapped).
    stored: Vec<u8>,
}

fn dossier_conflict(state: &DossierState) -> Option<String> {
    state.conflicts.first().map(|c| c.to_string())
}

fn due_problem(state: &DossierState) -> Option<String> {
    state.flags.iter().find_map(|f| match f {
        fold::Flag::DueTimeUnknown { problem } => {
            Some(format!("the due time cannot be computed: {problem}"))
        }
        _ => None,
    })
}

fn procedure_hint(node: &Node, code: &str) -> String {
    let needle = code.to_lowercase();
    let close: Vec<String> = node
        .catalogue
        .iter()
        .filter(|p| p.code.contains(code) || p.name.to_lowercase().contains(&needle))
        .take(5)
        .map(|p| format!("{} ({})", p.code, p.name))
        .collect();
    if close.is_empty() {
        "`lienthong procedures` lists the catalogue".into()
    } else {
        format!("did you mean: {}", close.join(", "))
    }
}
