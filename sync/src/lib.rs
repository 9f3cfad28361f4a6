//! Liên Thông replication: node identity and mutual TLS, the sync session as
//! a pure state machine, and the QUIC transport around it.
//!
//! This crate knows nothing of dossiers: it replicates Automerge documents
//! between peers through the store and scope traits that the node implements.

pub mod transport;
