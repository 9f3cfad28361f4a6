//! The dossier (hồ sơ): its document schema, its events, and the fold that
//! derives its state from the event log.

pub mod attachment;
pub mod event;
pub mod fold;
mod reader;
pub mod schema;
pub mod status;

pub use event::{Action, ActionKind, AppraisalOutcome, AttachmentRef, Channel, Event, EventId};
pub use schema::{Dossier, DossierFacts, DossierId, StoredEvent};
pub use status::{Status, Timeliness};
