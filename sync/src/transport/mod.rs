//! The I/O shell: node identities, TLS configuration and the QUIC endpoint.

pub mod identity;
pub mod tls;
pub mod verifier;
