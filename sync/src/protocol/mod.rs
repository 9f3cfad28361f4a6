//! The sync protocol as a pure state machine ("sans-IO", as quinn-proto is
//! beneath quinn): frames in, frames out, storage through a trait, no
//! sockets, no clock. See `ARCHITECTURE.md` for the exchange.

pub mod attest;
pub(crate) mod blobs;
pub mod chain;
mod config;
pub mod frame;
pub mod guard;
pub mod inbound;
pub mod memory;
pub(crate) mod messages;
mod outbound;
pub mod prepare;
pub mod session;
pub mod store;

pub use attest::Attestation;
pub use blobs::BLOB_WINDOW_CHUNKS;
pub use frame::{Frame, PROTOCOL_VERSION};
pub use guard::{GuardError, GuardLimits};
pub use prepare::{Prepared, Preparer};
pub use session::{
    MAX_UNFINISHED_OFFERS, PathEstimate, Session, SessionConfig, SessionError, SessionEvent,
    SessionStats,
};
pub use store::{
    Admission, AdmitAll, BlobHash, BlobSaved, Checkpoints, ChunkRanges, FeedItem, NewChange,
    PeerId, Reading, Received, SyncStore, WantedBlob, WholeDocument,
};
