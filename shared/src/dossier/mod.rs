//! The dossier (hồ sơ): its document schema, its events, and the fold that
//! derives its state from the event log.

pub mod attachment;
pub mod event;
pub mod fold;
#[cfg(test)]
mod legacy;
mod reader;
pub mod schema;
pub mod status;
#[cfg(test)]
mod write_tests;
mod writer;

pub use event::{Action, ActionKind, AppraisalOutcome, AttachmentRef, Channel, Event, EventId};
pub use schema::{Dossier, DossierFacts, DossierId, StoredEvent};
pub use status::{Status, Timeliness};
