//! The service layer: what officers do on this node — receive a dossier,
//! act on one, attach a file, look one up — for every face of the node
//! (the CLI, the console, the JSON API, the tests' harness). Each command
//! loads and folds its dossier once, plans its events from that fold
//! ([`plan`]) and writes them in one transaction. A command the rules
//! refuse writes nothing and says why and what is allowed now.

pub mod accounts;
pub mod api_tokens;
mod attach;
pub mod authors;
pub mod metrics;
pub mod plan;
mod receive;
mod record;
pub mod refusals;
pub mod sessions;
pub mod status;
pub mod sync_refusals;

use automerge::{ActorId, Automerge};
use lienthong_shared::OfficeId;
use lienthong_shared::calendar::CalendarError;
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::fold::{ConflictReason, DossierState};
use lienthong_shared::dossier::schema::{self, Applicant, SchemaError};
use lienthong_shared::dossier::{ActionKind, Channel, Dossier, Event, EventId, Status};
use rand::RngCore;

use crate::node::Node;
use crate::store::StoreError;
use crate::store::documents::DocKey;
use crate::store::index::IndexRow;

pub use attach::{NewAttachment, attach, guess_media_type};
pub use plan::{Intent, NewDue};
pub use receive::receive;
pub use record::{act, attachments_of, default_office, index_dossier, record, save_dossier};

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
    #[error(
        "{code} has no further step on its route after {}; say where with --to OFFICE",
        holder.as_ref().map_or("its holder".to_string(), |h| h.to_string())
    )]
    NoNextStep {
        code: String,
        holder: Option<OfficeId>,
    },
    #[error("{code} has no open consultation addressed to this node")]
    NoOpenConsultation { code: String },
    #[error(
        "{code} has {} open consultations for this node; choose one with --consultation ({})",
        ids.len(),
        ids.join(", ")
    )]
    SeveralConsultations { code: String, ids: Vec<String> },
    #[error("{code} has no due time to move")]
    NoDueTime { code: String },
    #[error("no attachment {hash} in this dossier; add it first with `lienthong attach`")]
    UnknownAttachment { hash: String },
    #[error(
        "the dossier kept changing while this command ran (changes arriving from peers); run it again"
    )]
    KeptChanging,
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
#[derive(Debug, Clone)]
pub struct Refusal {
    pub action: ActionKind,
    pub code: String,
    /// The dossier's status before the command (None: not yet received).
    pub status: Option<Status>,
    pub transfer_to: Option<OfficeId>,
    pub holder: Option<OfficeId>,
    pub reason: ConflictReason,
    /// What this node may do now instead (notes aside).
    pub allowed: Vec<ActionKind>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` refused: {}. The dossier {} is ",
            self.action.command(),
            self.reason,
            self.code
        )?;
        match (self.status, &self.transfer_to) {
            (None, _) => write!(f, "not yet received")?,
            (Some(status), Some(to)) => write!(f, "{status} (in transfer to {to})")?,
            (Some(status), None) => write!(f, "{status}")?,
        }
        if let Some(holder) = &self.holder {
            write!(f, ", held by {holder}")?;
        }
        if self.allowed.is_empty() {
            return write!(f, "; this node may only add notes to it now");
        }
        let mut commands: Vec<&str> = self.allowed.iter().map(|k| k.command()).collect();
        commands.sort_unstable();
        let listed: Vec<String> = commands.iter().map(|c| format!("`{c}`")).collect();
        write!(f, "; allowed here now: {}", listed.join(", "))
    }
}

impl std::error::Error for Refusal {}

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
    /// The officer's event.
    pub event: Event,
    /// Events the rules made follow it in the same change (a dossier its
    /// receiving office processes itself goes straight to processing).
    pub follow_up: Vec<Event>,
    pub state: DossierState,
    pub seq: i64,
}

pub fn new_event_id() -> EventId {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    EventId(lienthong_shared::dossier::attachment::hex(&bytes))
}

pub(crate) fn new_dossier_key() -> DocKey {
    let mut key = [0u8; 16];
    rand::rng().fill_bytes(&mut key);
    key
}

pub(crate) fn key_hex(key: &DocKey) -> String {
    crate::store::documents::hex(key)
}

pub(crate) fn check_officer(officer: &str) -> Result<()> {
    if officer.trim().is_empty() {
        return Err(ActionError::Invalid(
            "--officer must name the officer doing this".into(),
        ));
    }
    Ok(())
}

pub(crate) fn check_served(node: &Node, office: &OfficeId) -> Result<()> {
    if node.network.offices.get(office).is_none() {
        return Err(ActionError::UnknownOffice(office.clone()));
    }
    if !node.serves(office) {
        return Err(ActionError::NotServedHere {
            office: office.clone(),
            served: node
                .served_ids()
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// Find a dossier by its code, or by its id or an unambiguous id prefix (≥ 6 hex digits).
pub fn resolve(node: &mut Node, query: &str) -> Result<IndexRow> {
    let query = query.trim();
    // Single statements, no transaction around them: the second runs only
    // when the first found nothing, so they need not agree on a snapshot,
    // and every officer's command resolves its dossier first.
    node.store.read_now(|r| {
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

/// A dossier as an officer looks at it: its facts, its state and what each
/// office this node serves may do now — from one load and one fold.
#[derive(Debug, Clone)]
pub struct DossierView {
    pub row: IndexRow,
    pub dossier: Dossier,
    pub state: DossierState,
    /// Per office this node serves, the actions the rules allow it now
    /// (notes aside), in the catalogue's order; offices with none left out.
    pub allowed: Vec<(OfficeId, Vec<ActionKind>)>,
}

/// Look a dossier up (code, id or id prefix) and judge it at `now`.
pub fn view(
    node: &mut Node,
    query: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<DossierView> {
    let row = resolve(node, query)?;
    let (_, dossier) = load(node, &row.key)?;
    let served = node.served_ids();
    let (state, allowed) = lienthong_shared::dossier::fold::fold_with_allowed(
        &dossier,
        &node.fold_context(now),
        &served,
    );
    let allowed = allowed
        .into_iter()
        .map(|(office, kinds)| {
            let kinds: Vec<ActionKind> = kinds
                .into_iter()
                .filter(|k| *k != ActionKind::Note)
                .collect();
            (office, kinds)
        })
        .filter(|(_, kinds)| !kinds.is_empty())
        .collect();
    Ok(DossierView {
        row,
        dossier,
        state,
        allowed,
    })
}

/// The return desk for a result issued by `issuer` (R1, R2): the issuing
/// agency itself if it returns its results directly (the provincial Police),
/// otherwise the desk of the office that received the dossier.
pub fn return_office(node: &Node, dossier: &Dossier, issuer: &OfficeId) -> OfficeId {
    plan::return_office(&node.network.offices, dossier, issuer)
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
