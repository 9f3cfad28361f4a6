//! The layout of a dossier's Automerge document, and reading and writing it.
//!
//! ```text
//! ROOT
//! ├── schema: "lienthong.dossier/1"
//! ├── facts: { id, code, rules, origin, channel, result_delivery,
//! │            procedure {code, name, catalogue_version, processing_days,
//! │                       same_day_cutoff, fee_vnd},
//! │            applicant {name, id_number, address, phone, email, organisation},
//! │            route [ {office, task, days, lead} ],
//! │            documents [ {name, copies, attachments [ {hash, size, media_type, name} ]} ] }
//! └── events: [ {id, kind, at, office, officer, …payload} ]   (append-only)
//! ```
//!
//! New object trees are written as one Automerge batch each, in the shape
//! autosurgeon's derives give these types (`writer`; the derives stay for
//! whoever hydrates a part of a dossier). Events are flat maps tagged by
//! `kind`, read one by one and leniently: a malformed or unknown event (from
//! a buggy or newer peer) never makes the dossier unreadable; it is kept and
//! reported as a conflict by the fold.

use std::fmt;
use std::str::FromStr;

use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};

use serde::{Deserialize, Serialize};

use super::event::{Action, ActionKind, AttachmentRef, Channel, Event};
use super::writer;
use crate::OfficeId;

/// The `schema` value of a dossier document of this version.
pub const DOSSIER_SCHEMA: &str = "lienthong.dossier/1";

/// A dossier's stable random identity (16 bytes, shown as 32 hex digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DossierId(pub [u8; 16]);

impl DossierId {
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for DossierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Not a dossier id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a dossier id (32 hexadecimal digits)")]
pub struct DossierIdError(pub String);

impl FromStr for DossierId {
    type Err = DossierIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 32 || !s.is_ascii() {
            return Err(DossierIdError(s.to_string()));
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| DossierIdError(s.to_string()))?;
        }
        Ok(DossierId(bytes))
    }
}

impl Serialize for DossierId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DossierId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The procedure as it stood in the catalogue when the dossier was received:
/// a dossier is judged by the version it was received under.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct ProcedureSnapshot {
    pub code: String,
    pub name: String,
    pub catalogue_version: String,
    /// Processing time in working days (None for same-day procedures).
    pub processing_days: Option<u64>,
    /// Same-day cut-off, local `HH:MM` (D2), for same-day procedures.
    pub same_day_cutoff: Option<String>,
    pub fee_vnd: u64,
}

/// The applicant (tổ chức, cá nhân).
#[derive(Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Applicant {
    pub name: String,
    pub id_number: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    /// Organisation name, when an organisation applies.
    pub organisation: String,
}

/// One step of the dossier's route (liên thông).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct RouteStep {
    #[autosurgeon(with = "office_id_codec")]
    pub office: OfficeId,
    pub task: String,
    pub days: u64,
    pub lead: bool,
}

impl From<&crate::catalogue::RouteStep> for RouteStep {
    /// The step of the route resolved at receipt, as written into Form 01.
    fn from(step: &crate::catalogue::RouteStep) -> Self {
        RouteStep {
            office: step.office.clone(),
            task: step.task.clone(),
            days: u64::from(step.days),
            lead: step.lead,
        }
    }
}

/// A submitted component (thành phần hồ sơ) and its scanned files.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub copies: u64,
    pub attachments: Vec<StoredAttachment>,
}

/// [`AttachmentRef`] as stored in the document.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct StoredAttachment {
    pub hash: String,
    pub size: u64,
    pub media_type: String,
    pub name: String,
    pub chunks_root: String,
}

impl From<&AttachmentRef> for StoredAttachment {
    fn from(a: &AttachmentRef) -> Self {
        StoredAttachment {
            hash: a.hash.clone(),
            size: a.size,
            media_type: a.media_type.clone(),
            name: a.name.clone(),
            chunks_root: a.chunks_root.clone(),
        }
    }
}

impl From<&StoredAttachment> for AttachmentRef {
    fn from(a: &StoredAttachment) -> Self {
        AttachmentRef {
            hash: a.hash.clone(),
            size: a.size,
            media_type: a.media_type.clone(),
            name: a.name.clone(),
            chunks_root: a.chunks_root.clone(),
        }
    }
}

/// What is known about a dossier from the moment it is received.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct DossierFacts {
    pub id: String,
    /// The dossier code printed on Form 01 (mã hồ sơ).
    pub code: String,
    /// The rule set in force when it was received ("2018", "2025").
    pub rules: String,
    /// The receiving office.
    #[autosurgeon(with = "office_id_codec")]
    pub origin: OfficeId,
    #[autosurgeon(with = "channel_codec")]
    pub channel: Channel,
    /// How the applicant wants the result: at the desk or by post (R3).
    #[autosurgeon(with = "channel_codec")]
    pub result_delivery: Channel,
    pub procedure: ProcedureSnapshot,
    pub applicant: Applicant,
    pub route: Vec<RouteStep>,
    pub documents: Vec<Component>,
}

impl DossierFacts {
    pub fn dossier_id(&self) -> Result<DossierId, DossierIdError> {
        self.id.parse()
    }
}

/// An event as read from a document: either well-formed or not.
// Nearly every entry is `Valid`; boxing it would cost an allocation per
// event for the rare malformed one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StoredEvent {
    Valid(Event),
    /// Present in the log but not readable by this version; never dropped.
    Malformed {
        index: usize,
        problem: String,
    },
}

/// A dossier as read from its document.
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    pub facts: DossierFacts,
    pub events: Vec<StoredEvent>,
}

impl Dossier {
    /// The well-formed events, in log order.
    pub fn valid_events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter_map(|e| match e {
            StoredEvent::Valid(event) => Some(event),
            StoredEvent::Malformed { .. } => None,
        })
    }
}

/// A document that is not a readable dossier.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("not a dossier document (schema is {found:?}, expected {DOSSIER_SCHEMA:?})")]
    WrongSchema { found: Option<String> },
    #[error("dossier facts unreadable: {0}")]
    Malformed(String),
    #[error("dossier has no event log")]
    NoEvents,
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
    #[error("autosurgeon: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
}

/// Write a new dossier: the schema tag, its facts and its first event, in
/// the caller's transaction (one Automerge change, one SQLite transaction).
pub fn create(
    tx: &mut Transaction<'_>,
    facts: &DossierFacts,
    first: &Event,
) -> Result<(), SchemaError> {
    create_with_events(tx, facts, first, &[])
}

/// [`create`] followed by [`append_event`] of each of `next`, in one write
/// (a receipt and the steps it starts, as `service::receive` records them).
pub fn create_with_events(
    tx: &mut Transaction<'_>,
    facts: &DossierFacts,
    first: &Event,
    next: &[Event],
) -> Result<(), SchemaError> {
    let has_history = !tx.get_heads().is_empty();
    let events: Vec<&Event> = std::iter::once(first).chain(next).collect();
    writer::new_dossier(tx, has_history, facts, &events)?;
    Ok(())
}

/// The dossier [`read`] gives back from a document [`create_with_events`]
/// wrote from `facts` and `events`, without reading it: a receipt already
/// holds what it wrote (reading the new document back cost a third of a
/// receipt). The document keeps times to the millisecond, so they are cut
/// to it here. `None` if an event is an [`Action::Unknown`] named like a
/// known kind (never written by this version: reading it back would parse
/// it as that kind), or a time out of the millisecond range; read the
/// document then.
pub fn as_written(facts: &DossierFacts, events: &[&Event]) -> Option<Dossier> {
    let events = events
        .iter()
        .map(|e| as_stored(e).map(StoredEvent::Valid))
        .collect::<Option<_>>()?;
    Some(Dossier {
        facts: facts.clone(),
        events,
    })
}

/// `event` as the document stores it (times to the millisecond; see
/// [`as_written`]), for a dossier held in memory after a write to read as
/// its document does.
pub fn as_stored(event: &Event) -> Option<Event> {
    fn ms(t: &chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp_millis(t.timestamp_millis())
    }
    let mut stored = event.clone();
    stored.at = ms(&event.at)?;
    match &mut stored.action {
        Action::VerificationScheduled { when: t, .. }
        | Action::Consulted { deadline: t, .. }
        | Action::Apologized { new_due: t, .. } => *t = ms(t)?,
        Action::Unknown { name } if ActionKind::from_name(name).is_some() => return None,
        _ => {}
    }
    Some(stored)
}

/// Append an event at the end of the log.
pub fn append_event(tx: &mut Transaction<'_>, event: &Event) -> Result<(), SchemaError> {
    let events = match tx.get(ROOT, "events")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => return Err(SchemaError::NoEvents),
    };
    let len = tx.length(&events);
    writer::event(tx, &events, len, event)?;
    Ok(())
}

/// Add a scanned file to the component named `component_name`; a new
/// component (one copy) is created when none has that name.
pub fn add_attachment(
    tx: &mut Transaction<'_>,
    component_name: &str,
    attachment: &AttachmentRef,
) -> Result<(), SchemaError> {
    let facts = match tx.get(ROOT, "facts")? {
        Some((Value::Object(ObjType::Map), id)) => id,
        _ => return Err(SchemaError::WrongSchema { found: None }),
    };
    let documents = match tx.get(&facts, "documents")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => return Err(SchemaError::WrongSchema { found: None }),
    };
    let count = tx.length(&documents);
    let mut target = None;
    for index in 0..count {
        if let Some((Value::Object(ObjType::Map), component)) = tx.get(&documents, index)?
            && read_str(tx, &component, "name").ok().as_deref() == Some(component_name)
        {
            target = Some(component);
            break;
        }
    }
    let stored = StoredAttachment::from(attachment);
    match target {
        Some(component) => {
            let attachments = match tx.get(&component, "attachments")? {
                Some((Value::Object(ObjType::List), id)) => id,
                _ => tx.put_object(&component, "attachments", ObjType::List)?,
            };
            let len = tx.length(&attachments);
            writer::attachment(tx, &attachments, len, &stored)?;
        }
        None => {
            let component = Component {
                name: component_name.to_string(),
                copies: 1,
                attachments: vec![stored],
            };
            writer::component(tx, &documents, count, &component)?;
        }
    }
    Ok(())
}

/// Read a dossier document (see [`super::reader`]).
pub fn read(doc: &Automerge) -> Result<Dossier, SchemaError> {
    super::reader::read(doc)
}

fn read_scalar<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Result<ScalarValue, String> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => Ok(s.into_owned()),
        Ok(Some(_)) => Err(format!("field `{key}` is an object, expected a value")),
        Ok(None) => Err(format!("field `{key}` is missing")),
        Err(e) => Err(e.to_string()),
    }
}

fn read_str<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Result<String, String> {
    match read_scalar(doc, obj, key)? {
        ScalarValue::Str(s) => Ok(s.to_string()),
        other => Err(format!("field `{key}` is {other:?}, expected a string")),
    }
}

/// autosurgeon codec storing an [`OfficeId`] as a string.
mod office_id_codec {
    use super::*;

    pub(super) fn reconcile<R: Reconciler>(
        id: &OfficeId,
        mut reconciler: R,
    ) -> Result<(), R::Error> {
        reconciler.str(id.as_str())
    }

    pub(super) fn hydrate<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: autosurgeon::Prop<'_>,
    ) -> Result<OfficeId, HydrateError> {
        let text = String::hydrate(doc, obj, prop)?;
        text.parse().map_err(|e: crate::office_id::OfficeIdError| {
            HydrateError::unexpected("an office id", e.to_string())
        })
    }
}

/// autosurgeon codec storing a [`Channel`] as its name.
mod channel_codec {
    use super::*;

    pub(super) fn reconcile<R: Reconciler>(
        channel: &Channel,
        mut reconciler: R,
    ) -> Result<(), R::Error> {
        reconciler.str(channel.as_str())
    }

    pub(super) fn hydrate<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: autosurgeon::Prop<'_>,
    ) -> Result<Channel, HydrateError> {
        let text = String::hydrate(doc, obj, prop)?;
        Channel::parse(&text)
            .ok_or_else(|| HydrateError::unexpected("direct, postal or online", text))
    }
}
