//! Liên Thông replication: node identity and mutual TLS, the sync session as
//! a pure state machine, and the QUIC transport around it.
//!
//! This crate knows nothing of dossiers: it replicates Automerge documents
//! between peers through the store and admission traits that the node
//! implements.

pub mod document_id;
pub mod protocol;
pub mod transport;

pub use document_id::DocumentId;
