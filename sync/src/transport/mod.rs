//! The I/O shell: node identities, TLS configuration, the QUIC endpoint,
//! and the driver that runs a [`crate::protocol::Session`] over a connection.

pub mod budget;
pub mod congestion;
pub mod driver;
pub mod endpoint;
pub mod framing;
pub mod identity;
mod sink_helper;
pub mod tls;
pub mod verifier;
