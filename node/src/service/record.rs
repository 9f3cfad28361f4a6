//! Recording an officer's command on a dossier: one load, one fold, the
//! events planned from that fold ([`super::plan`]), one transaction.

use std::collections::BTreeSet;

use automerge::Automerge;
use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold::{self, ConflictReason, DossierState};
use lienthong_shared::dossier::schema;
use lienthong_shared::dossier::{Action, ActionKind, Dossier, Event, StoredEvent};
use lienthong_shared::scope;

use super::plan::{self, Desk, Intent};
use super::{
    ActionError, Recorded, Refusal, Result, check_officer, check_served, key_hex, resolve,
};
use crate::node::Node;
use crate::store::cache::CachedDossier;
use crate::store::documents::{DocKey, DocKind};
use crate::store::index::IndexRow;
use crate::store::{StoreError, Writer};

/// The office this node acts as for `kind` on a dossier, when the officer
/// did not say (`--as`): see [`plan::choose_office`].
pub fn default_office(
    node: &Node,
    dossier: &Dossier,
    state: &DossierState,
    kind: ActionKind,
) -> OfficeId {
    let served = node.served_ids();
    let desk = Desk {
        tree: &node.network.offices,
        calendar: &node.calendar,
        served: &served,
        own: node.office(),
    };
    plan::choose_office(&desk, dossier, state, kind)
}

/// Record `action`, given in full, on a dossier as `office` (default: see
/// [`default_office`]).
pub fn record(
    node: &mut Node,
    query: &str,
    office: Option<&OfficeId>,
    officer: &str,
    at: DateTime<Utc>,
    action: Action,
) -> Result<Recorded> {
    act(node, query, office, officer, at, &Intent::Exact(action))
}

/// Carry out an officer's command on a dossier: the dossier is loaded and
/// folded once, the events are planned from that fold (defaults from the
/// route, the open consultations, the due time, the return desk) and
/// checked against it, then stored.
///
/// The work (load, check, build the change) happens outside the write lock;
/// the write transaction then only checks that the dossier did not change
/// meanwhile (same heads) and stores the change, so officers at other
/// desks — other processes on the same data directory — do their work while
/// this one's commit is being made durable. If the dossier did change (a
/// peer's changes arrived), the command starts over against the new state.
pub fn act(
    node: &mut Node,
    query: &str,
    office: Option<&OfficeId>,
    officer: &str,
    at: DateTime<Utc>,
    intent: &Intent,
) -> Result<Recorded> {
    check_officer(officer)?;
    node.calendar.is_working_day(node.calendar.local_date(at))?;
    if let Some(office) = office {
        check_served(node, office)?;
    }
    let row = resolve(node, query)?;
    let key = row.key;
    // Every line logged while the command runs names the dossier.
    let span = tracing::info_span!("dossier", code = %row.code);
    let _entered = span.enter();
    let actor = node.actor();
    let face = node.face.as_str();
    let served = node.served_ids();
    let own = node.office().clone();
    let (store, ctx, tree) = node.split(at);
    let desk = Desk {
        tree,
        calendar: ctx.calendar,
        served: &served,
        own: &own,
    };
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let Some(stored_heads) = store.read_now(|r| r.document_heads(&key))? else {
            return Err(ActionError::UnknownDossier(key_hex(&key)));
        };
        let CachedDossier {
            mut doc,
            mut dossier,
        } = match store.dossiers.take(&key, &stored_heads) {
            Some(cached) => cached,
            None => {
                let Some((_, doc)) = store.read(|r| r.load_document(&key))? else {
                    return Err(ActionError::UnknownDossier(key_hex(&key)));
                };
                let dossier = schema::read(&doc)?;
                CachedDossier { doc, dossier }
            }
        };
        let planned = fold::check_planned(&dossier, &ctx, |before| {
            let events = plan::plan(&desk, &dossier, before, office, officer, at, intent)?;
            for event in &events {
                validate_payload(&desk, &event.action)?;
            }
            Ok::<_, ActionError>(events)
        })?;
        let state = match planned.outcome {
            Ok(state) => state,
            Err((i, reason)) => {
                tracing::debug!(action = planned.events[i].action.kind().as_str(), %reason, "command refused by the workflow");
                return Err(refusal(
                    &served,
                    &dossier,
                    &planned.before,
                    &planned.events[i],
                    reason,
                    &ctx,
                ));
            }
        };
        let events = planned.events;
        if let Some(event) = events.iter().find(|e| !served.contains(&e.office)) {
            return Err(not_served(&event.office, &served));
        }
        doc.set_actor(actor.clone());
        let heads = doc.get_heads();
        let mut tx = doc.transaction();
        for event in &events {
            schema::append_event(&mut tx, event)?;
        }
        crate::store::documents::commit_now(tx);
        // The log now ends with the events just checked: the state after
        // them is the one `check_planned` derived. They are kept as the
        // document stores them (times to the millisecond: `now` has
        // nanoseconds), so the copy the desk keeps reads as its document.
        match events
            .iter()
            .map(|e| schema::as_stored(e).map(StoredEvent::Valid))
            .collect::<Option<Vec<_>>>()
        {
            Some(stored) => dossier.events.extend(stored),
            // A time the document cannot keep as given: read it back.
            None => dossier = schema::read(&doc)?,
        }
        let written = store.write(|w| -> Result<Option<i64>> {
            if !same_heads(w.reader().document_heads(&key)?.as_deref(), &heads) {
                return Ok(None);
            }
            let seq = save_dossier(w, &key, &doc, &heads, &dossier, &state, tree)?;
            for event in &events {
                w.count_operation(event.action.kind().as_str(), event.office.as_str(), face)?;
            }
            Ok(Some(seq))
        })?;
        if let Some(seq) = written {
            let mut events = events.into_iter();
            let event = events.next().expect("a plan has at least one event");
            tracing::info!(
                action = event.action.kind().as_str(),
                office = %event.office,
                officer,
                follow_up = events.len(),
                seq,
                "recorded"
            );
            let code = dossier.facts.code.clone();
            store.dossiers.keep(key, CachedDossier { doc, dossier });
            return Ok(Recorded {
                key,
                code,
                event,
                follow_up: events.collect(),
                state,
                seq,
            });
        }
        tracing::debug!("the dossier changed while the command was prepared: starting over");
    }
    Err(ActionError::KeptChanging)
}

pub(super) fn not_served(office: &OfficeId, served: &[OfficeId]) -> ActionError {
    ActionError::NotServedHere {
        office: office.clone(),
        served: served
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn same_heads(stored: Option<&[automerge::ChangeHash]>, ours: &[automerge::ChangeHash]) -> bool {
    let Some(stored) = stored else { return false };
    let mut a = stored.to_vec();
    let mut b = ours.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn validate_payload(desk: &Desk<'_>, action: &Action) -> Result<()> {
    let known = |office: &OfficeId| {
        if desk.tree.get(office).is_some() {
            Ok(())
        } else {
            Err(ActionError::UnknownOffice(office.clone()))
        }
    };
    match action {
        Action::Forwarded { to, .. } | Action::Consulted { to, .. } => known(to),
        Action::ResultIssued { return_office, .. } => known(return_office),
        Action::Apologized { new_due, .. } => {
            desk.calendar
                .is_working_day(desk.calendar.local_date(*new_due))?;
            Ok(())
        }
        Action::SupplementRequested { items, .. } if items.is_empty() => Err(ActionError::Invalid(
            "a supplement request must list everything missing, in one request (D3): give at least one --item".into(),
        )),
        _ => Ok(()),
    }
}

fn refusal(
    served: &[OfficeId],
    dossier: &Dossier,
    state: &DossierState,
    event: &Event,
    reason: ConflictReason,
    ctx: &fold::FoldContext<'_>,
) -> ActionError {
    let (_, per_office) = fold::fold_with_allowed(dossier, ctx, served);
    let allowed: BTreeSet<ActionKind> = per_office
        .into_iter()
        .flat_map(|(_, kinds)| kinds)
        .filter(|kind| *kind != ActionKind::Note)
        .collect();
    ActionError::NotAllowed(Box::new(Refusal {
        action: event.action.kind(),
        code: dossier.facts.code.clone(),
        status: state.status,
        transfer_to: state.transfer.as_ref().map(|t| t.to.clone()),
        holder: state.holder.clone(),
        reason,
        allowed: allowed.into_iter().collect(),
    }))
}

/// Persist a dossier's new changes and everything derived from it (index,
/// scope, attachments referenced) in the caller's transaction.
pub fn save_dossier(
    w: &Writer<'_>,
    key: &DocKey,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
    dossier: &Dossier,
    state: &DossierState,
    tree: &lienthong_shared::offices::OfficeTree,
) -> Result<i64, StoreError> {
    let seq = w.save_document(key, DocKind::Dossier, doc, before)?;
    index_dossier(w, key, seq, dossier, state, tree)
}

/// Everything derived from a stored dossier: its index row, the nodes in
/// its scope, the attachments it references. Used for local writes and for
/// changes received from peers alike.
pub fn index_dossier(
    w: &Writer<'_>,
    key: &DocKey,
    seq: Option<i64>,
    dossier: &Dossier,
    state: &DossierState,
    tree: &lienthong_shared::offices::OfficeTree,
) -> Result<i64, StoreError> {
    let seq = match seq {
        Some(seq) => seq,
        None => w.reader().last_seq()?,
    };
    w.upsert_index(&IndexRow::from_fold(*key, &dossier.facts, state), seq)?;
    let applicant = &dossier.facts.applicant;
    let searched = format!("{} {}", applicant.name, applicant.organisation);
    w.upsert_search(
        key,
        &crate::store::desk::SearchRow {
            code: &dossier.facts.code,
            due_at: state.due_at,
            name: &searched,
            id_number: &applicant.id_number,
        },
    )?;
    let nodes: BTreeSet<String> = scope::nodes_in_scope(dossier, state, tree)
        .into_iter()
        .map(|o| o.to_string())
        .collect();
    w.set_scope(key, &nodes)?;
    w.set_blob_refs(key, &attachments_of(dossier))?;
    Ok(seq)
}

/// Every attachment a dossier references: submitted components and results.
pub fn attachments_of(dossier: &Dossier) -> Vec<lienthong_shared::dossier::AttachmentRef> {
    let mut refs: Vec<_> = dossier
        .facts
        .documents
        .iter()
        .flat_map(|c| {
            c.attachments
                .iter()
                .map(lienthong_shared::dossier::AttachmentRef::from)
        })
        .collect();
    for event in dossier.valid_events() {
        if let Action::ResultIssued {
            attachment: Some(a),
            ..
        } = &event.action
        {
            refs.push(a.clone());
        }
    }
    refs
}
