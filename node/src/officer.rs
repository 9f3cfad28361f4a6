//! What officers do on this node: receive a dossier, record an event, each
//! as one transaction. A command the rules refuse writes nothing and says
//! why and what is allowed now.

use std::collections::BTreeSet;

use automerge::{ActorId, Automerge};
use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::calendar::CalendarError;
use lienthong_shared::catalogue::{ProcessingTime, resolve_route};
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::fold::{self, ConflictReason, DossierState};
use lienthong_shared::dossier::schema::{
    self, Applicant, Component, DossierFacts, ProcedureSnapshot, RouteStep, SchemaError,
};
use lienthong_shared::dossier::{Action, ActionKind, Channel, Dossier, Event, EventId, Status};
use lienthong_shared::scope;
use rand::RngCore;

use crate::node::Node;
use crate::store::documents::{DocKey, DocKind};
use crate::store::index::IndexRow;
use crate::store::{StoreError, Writer};

/// Why an officer's command was not carried out. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("unknown procedure `{code}`; {hint}")]
    UnknownProcedure { code: String, hint: String },
    #[error(
        "no dossier `{0}` on this node; check the code (lienthong list shows the dossiers here)"
    )]
    UnknownDossier(String),
    #[error("`{query}` matches several dossiers ({matches}); use the full id")]
    AmbiguousDossier { query: String, matches: String },
    #[error("{0}")]
    NotAllowed(Box<Refusal>),
    #[error("{0}; dates outside the shipped calendars cannot be used")]
    Calendar(#[from] CalendarError),
    #[error("office {0} is not in this network's office tree")]
    UnknownOffice(OfficeId),
    #[error("this node serves {served}; it cannot act as {office}")]
    NotServedHere { office: OfficeId, served: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("dossier document: {0}")]
    Schema(Box<SchemaError>),
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
}

impl From<SchemaError> for ActionError {
    fn from(e: SchemaError) -> Self {
        ActionError::Schema(Box::new(e))
    }
}

impl From<automerge::AutomergeError> for ActionError {
    fn from(e: automerge::AutomergeError) -> Self {
        ActionError::Automerge(Box::new(e))
    }
}

pub type Result<T, E = ActionError> = std::result::Result<T, E>;

/// A command the workflow rules refuse now, with what is allowed instead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{}` refused: {reason}. The dossier {code} is {status}{holder}{allowed}", action.command())]
pub struct Refusal {
    pub action: ActionKind,
    pub code: String,
    pub status: String,
    pub holder: String,
    pub reason: ConflictReason,
    /// "; allowed here now: …", or empty.
    pub allowed: String,
}

/// A new dossier at the desk.
#[derive(Debug, Clone)]
pub struct NewDossier {
    pub procedure: String,
    pub applicant: Applicant,
    pub channel: Channel,
    pub result_delivery: Channel,
    /// Component names; empty = the catalogue's list.
    pub components: Vec<String>,
    /// Filed online or by post and not yet checked at the desk (status 1).
    pub submitted_only: bool,
}

impl NewDossier {
    /// A dossier for `procedure` handed in at the desk by `applicant`, its
    /// result collected there, with the catalogue's list of components.
    pub fn at_the_desk(procedure: &str, applicant: Applicant) -> Self {
        NewDossier {
            procedure: procedure.to_string(),
            applicant,
            channel: Channel::Direct,
            result_delivery: Channel::Direct,
            components: Vec::new(),
            submitted_only: false,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub key: DocKey,
    pub code: String,
    pub event: Event,
    pub state: DossierState,
    pub seq: i64,
}

pub fn new_event_id() -> EventId {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    EventId(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn new_dossier_key() -> DocKey {
    let mut key = [0u8; 16];
    rand::rng().fill_bytes(&mut key);
    key
}

fn key_hex(key: &DocKey) -> String {
    crate::store::documents::hex(key)
}

/// Receive a dossier at the desk of `office` (one of this node's offices):
/// assign its code, write Form 01's facts and the `received` event.
pub fn receive(
    node: &mut Node,
    office: &OfficeId,
    officer: &str,
    at: DateTime<Utc>,
    new: &NewDossier,
) -> Result<Recorded> {
    check_officer(officer)?;
    check_served(node, office)?;
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
    let event = Event {
        id: new_event_id(),
        at,
        office: office.clone(),
        officer: officer.to_string(),
        action,
    };
    let actor = node.actor();
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
        schema::create(&mut tx, &facts, &event)?;
        tx.commit();
        let dossier = schema::read(&doc)?;
        let state = fold::fold(&dossier, &ctx);
        if let Some(reason) = dossier_conflict(&state) {
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
    store.write(|w| {
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
        Ok(Recorded {
            key,
            code: code.to_string(),
            event: event.clone(),
            state: received.state,
            seq,
        })
    })
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

fn check_officer(officer: &str) -> Result<()> {
    if officer.trim().is_empty() {
        return Err(ActionError::Invalid(
            "--officer must name the officer doing this".into(),
        ));
    }
    Ok(())
}

fn check_served(node: &Node, office: &OfficeId) -> Result<()> {
    if node.network.offices.get(office).is_none() {
        return Err(ActionError::UnknownOffice(office.clone()));
    }
    if !node.serves(office) {
        return Err(ActionError::NotServedHere {
            office: office.clone(),
            served: node
                .served_offices()
                .iter()
                .map(|o| o.id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// Find a dossier by its code, or by its id or an unambiguous id prefix (≥ 6 hex digits).
pub fn resolve(node: &mut Node, query: &str) -> Result<IndexRow> {
    let query = query.trim();
    node.store.read(|r| {
        let mut rows = r.find_by_code(query)?;
        if rows.is_empty() && query.len() >= 6 && query.bytes().all(|b| b.is_ascii_hexdigit()) {
            rows = r.find_by_id_prefix(query)?;
        }
        match rows.len() {
            0 => Err(ActionError::UnknownDossier(query.to_string())),
            1 => Ok(rows.remove(0)),
            _ => Err(ActionError::AmbiguousDossier {
                query: query.to_string(),
                matches: rows
                    .iter()
                    .map(|row| format!("{} {}", row.code, key_hex(&row.key)))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    })
}

/// Load and read a dossier.
pub fn load(node: &mut Node, key: &DocKey) -> Result<(Automerge, Dossier)> {
    let loaded = node
        .store
        .read(|r| r.load_document(key).map_err(ActionError::from))?;
    let Some((_, doc)) = loaded else {
        return Err(ActionError::UnknownDossier(key_hex(key)));
    };
    let dossier = schema::read(&doc)?;
    Ok((doc, dossier))
}

/// The office this node acts as for `kind` on a dossier, when the officer
/// did not say (`--as`): the office the rule needs, if this node serves it.
pub fn default_office(
    node: &Node,
    dossier: &Dossier,
    state: &DossierState,
    kind: ActionKind,
) -> OfficeId {
    let served: Vec<OfficeId> = node.served_offices().iter().map(|o| o.id.clone()).collect();
    choose_office(&served, node.office(), dossier, state, kind)
}

fn choose_office(
    served: &[OfficeId],
    own: &OfficeId,
    dossier: &Dossier,
    state: &DossierState,
    kind: ActionKind,
) -> OfficeId {
    let candidates: Vec<Option<&OfficeId>> = match kind {
        ActionKind::Accepted => vec![state.transfer.as_ref().map(|t| &t.to)],
        ActionKind::ForwardCancelled => vec![state.transfer.as_ref().map(|t| &t.from)],
        ActionKind::SupplementReceived | ActionKind::WithdrawalRequested | ActionKind::Received => {
            vec![Some(&dossier.facts.origin)]
        }
        ActionKind::Returned => vec![state.result.as_ref().map(|r| &r.return_office)],
        ActionKind::ConsultationAnswered => {
            state.open_consultations().map(|c| Some(&c.to)).collect()
        }
        ActionKind::Paid => vec![Some(&dossier.facts.origin), state.holder.as_ref()],
        _ => vec![state.holder.as_ref()],
    };
    candidates
        .into_iter()
        .flatten()
        .find(|office| served.contains(office))
        .cloned()
        .unwrap_or_else(|| own.clone())
}

/// Record `action` on a dossier as `office` (default: see [`default_office`]).
///
/// The work (load, check against the rules, build the change) happens
/// outside the write lock; the write transaction then only checks that the
/// dossier did not change meanwhile (same heads) and stores the change, so
/// officers at other desks — other processes on the same data directory —
/// do their work while this one's commit is being made durable. If the
/// dossier did change (a peer's changes arrived), the command starts over
/// against the new state.
pub fn record(
    node: &mut Node,
    query: &str,
    office: Option<&OfficeId>,
    officer: &str,
    at: DateTime<Utc>,
    action: Action,
) -> Result<Recorded> {
    check_officer(officer)?;
    node.calendar.is_working_day(node.calendar.local_date(at))?;
    if let Action::Apologized { new_due, .. } = &action {
        node.calendar
            .is_working_day(node.calendar.local_date(*new_due))?;
    }
    validate_payload(node, &action)?;
    if let Some(office) = office {
        check_served(node, office)?;
    }
    let key = resolve(node, query)?.key;
    let actor = node.actor();
    let served: Vec<OfficeId> = node.served_offices().iter().map(|o| o.id.clone()).collect();
    let own = node.office().clone();
    let (store, ctx, tree) = node.split(at);
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let Some((_, mut doc)) = store.read(|r| r.load_document(&key))? else {
            return Err(ActionError::UnknownDossier(key_hex(&key)));
        };
        let mut dossier = schema::read(&doc)?;
        let kind = action.kind();
        let (before, event, outcome) = fold::check_built(&dossier, &ctx, |before| Event {
            id: new_event_id(),
            at,
            office: office
                .cloned()
                .unwrap_or_else(|| choose_office(&served, &own, &dossier, before, kind)),
            officer: officer.to_string(),
            action: action.clone(),
        });
        let state = match outcome {
            Ok(state) => state,
            Err(reason) => return Err(refusal(&served, &dossier, &before, &event, reason, &ctx)),
        };
        if !served.contains(&event.office) {
            return Err(ActionError::NotServedHere {
                office: event.office.clone(),
                served: served
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        doc.set_actor(actor.clone());
        let heads = doc.get_heads();
        let mut tx = doc.transaction();
        schema::append_event(&mut tx, &event)?;
        tx.commit();
        // The log now ends with the event just checked: the state after it is
        // the one `check_built` derived.
        dossier
            .events
            .push(lienthong_shared::dossier::StoredEvent::Valid(event.clone()));
        let written = store.write(|w| -> Result<Option<i64>> {
            if !same_heads(w.reader().document_heads(&key)?.as_deref(), &heads) {
                return Ok(None);
            }
            Ok(Some(save_dossier(
                w, &key, &doc, &heads, &dossier, &state, tree,
            )?))
        })?;
        if let Some(seq) = written {
            return Ok(Recorded {
                key,
                code: dossier.facts.code.clone(),
                event,
                state,
                seq,
            });
        }
    }
    Err(ActionError::Invalid(
        "the dossier kept changing while this command ran (changes arriving from peers); run it again".into(),
    ))
}

fn same_heads(stored: Option<&[automerge::ChangeHash]>, ours: &[automerge::ChangeHash]) -> bool {
    let Some(stored) = stored else { return false };
    let mut a = stored.to_vec();
    let mut b = ours.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn validate_payload(node: &Node, action: &Action) -> Result<()> {
    let known = |office: &OfficeId| {
        if node.network.offices.get(office).is_some() {
            Ok(())
        } else {
            Err(ActionError::UnknownOffice(office.clone()))
        }
    };
    match action {
        Action::Forwarded { to, .. } | Action::Consulted { to, .. } => known(to),
        Action::ResultIssued { return_office, .. } => known(return_office),
        Action::SupplementRequested { items, .. } if items.is_empty() => Err(ActionError::Invalid(
            "a supplement request must list everything missing, in one request (D3): give at least one --item".into(),
        )),
        _ => Ok(()),
    }
}

fn describe_status(state: &DossierState) -> String {
    match (state.status, &state.transfer) {
        (None, _) => "not yet received".into(),
        (Some(status), Some(t)) => format!("{status} (in transfer to {})", t.to),
        (Some(status), None) => status.to_string(),
    }
}

fn describe_holder(state: &DossierState) -> String {
    state
        .holder
        .as_ref()
        .map(|h| format!(", held by {h}"))
        .unwrap_or_default()
}

fn refusal(
    served: &[OfficeId],
    dossier: &Dossier,
    state: &DossierState,
    event: &Event,
    reason: ConflictReason,
    ctx: &fold::FoldContext<'_>,
) -> ActionError {
    let mut allowed: BTreeSet<String> = BTreeSet::new();
    for office in served {
        for kind in fold::allowed_actions(dossier, office, ctx) {
            if kind != ActionKind::Note {
                allowed.insert(format!("`{}`", kind.command()));
            }
        }
    }
    let allowed = if allowed.is_empty() {
        "; this node may only add notes to it now".to_string()
    } else {
        format!(
            "; allowed here now: {}",
            allowed.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    ActionError::NotAllowed(Box::new(Refusal {
        action: event.action.kind(),
        code: dossier.facts.code.clone(),
        status: describe_status(state),
        holder: describe_holder(state),
        reason,
        allowed,
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

/// Media type from a file name's extension (what scanners produce).
pub fn guess_media_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("tif" | "tiff") => "image/tiff",
        Some("xml") => "application/xml",
        Some("txt") => "text/plain",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// What to attach.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file: std::path::PathBuf,
    /// The dossier component it belongs to (created if new).
    pub component: String,
    pub name: Option<String>,
    pub media_type: Option<String>,
}

/// Attach a file to a dossier: the blob (streamed in 64 KiB chunks, never
/// whole in memory), its reference in the dossier's components and a note
/// in the timeline — one transaction.
pub fn attach(
    node: &mut Node,
    query: &str,
    office: Option<&OfficeId>,
    officer: &str,
    at: DateTime<Utc>,
    new: &NewAttachment,
) -> Result<(Recorded, lienthong_shared::dossier::AttachmentRef)> {
    check_officer(officer)?;
    node.calendar.is_working_day(node.calendar.local_date(at))?;
    let row = resolve(node, query)?;
    let key = row.key;
    let office = match office {
        Some(office) => office.clone(),
        None => row
            .holder
            .as_deref()
            .and_then(|h| h.parse::<OfficeId>().ok())
            .filter(|h| node.serves(h))
            .unwrap_or_else(|| node.office().clone()),
    };
    check_served(node, &office)?;
    let file = std::fs::File::open(&new.file)
        .map_err(|e| ActionError::Invalid(format!("cannot read {}: {e}", new.file.display())))?;
    let name = new.name.clone().unwrap_or_else(|| {
        new.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into())
    });
    let media_type = new
        .media_type
        .clone()
        .unwrap_or_else(|| guess_media_type(&new.file).to_string());
    let actor = node.actor();
    let (store, ctx, tree) = node.split(at);
    store.write(|w| {
        let hashed = w.put_blob(std::io::BufReader::new(file), &media_type)?;
        let attachment = lienthong_shared::dossier::AttachmentRef {
            hash: lienthong_shared::dossier::attachment::hex(&hashed.content),
            size: hashed.size,
            media_type: media_type.clone(),
            name: name.clone(),
            chunks_root: lienthong_shared::dossier::attachment::hex(&hashed.root),
        };
        let Some((_, mut doc)) = w.reader().load_document(&key)? else {
            return Err(ActionError::UnknownDossier(key_hex(&key)));
        };
        doc.set_actor(actor.clone());
        let heads = doc.get_heads();
        let event = Event {
            id: new_event_id(),
            at,
            office: office.clone(),
            officer: officer.to_string(),
            action: Action::Note {
                text: format!(
                    "Đính kèm {name} ({} bytes) vào thành phần \"{}\"",
                    hashed.size, new.component
                ),
            },
        };
        let mut tx = doc.transaction();
        schema::add_attachment(&mut tx, &new.component, &attachment)?;
        schema::append_event(&mut tx, &event)?;
        tx.commit();
        let dossier = schema::read(&doc)?;
        let state = fold::fold(&dossier, &ctx);
        let seq = save_dossier(w, &key, &doc, &heads, &dossier, &state, tree)?;
        Ok((
            Recorded {
                key,
                code: dossier.facts.code.clone(),
                event,
                state,
                seq,
            },
            attachment,
        ))
    })
}

/// The return desk for a result issued by `issuer` (R1, R2): the issuing
/// agency itself if it returns its results directly (the provincial Police),
/// otherwise the desk of the office that received the dossier.
pub fn return_office(node: &Node, dossier: &Dossier, issuer: &OfficeId) -> OfficeId {
    match node.network.offices.get(issuer) {
        Some(office) if office.returns_results_directly => issuer.clone(),
        _ => dossier.facts.origin.clone(),
    }
}

/// The actor used for this node's changes.
pub fn actor_of(node: &Node) -> ActorId {
    node.actor()
}

/// Status filter helper used by the CLI.
pub fn parse_status(s: &str) -> Result<Status> {
    s.parse()
        .map_err(|e: lienthong_shared::dossier::status::UnknownStatus| {
            ActionError::Invalid(e.to_string())
        })
}

/// Dossier code parse check used by the CLI for friendlier errors.
pub fn looks_like_code(s: &str) -> bool {
    s.parse::<DossierCode>().is_ok()
}
