//! Pinned mutual TLS for quinn.
//!
//! Both ends present their node certificate; each side accepts the other only
//! if its node id is pinned (see [`super::verifier`] for exactly what is
//! checked, and why validity dates are ignored). TLS 1.3 only, the ring
//! provider only (never the process-wide default provider), ALPN
//! [`ALPN`] required.
//!
//! A client dials a node by the server name [`server_name_for`], which
//! encodes the node id it expects: the client refuses a server that presents
//! any other identity, even a pinned one.
//!
//! Note for callers: in QUIC (as in TLS 1.3) the client finishes its side of
//! the handshake before the server has checked the client's certificate, so a
//! client that the server does not pin may see `connect` succeed and the
//! connection close right after with a crypto error (TLS alert
//! `handshake_failure`). The server's log names the refused node id.
//!
//! Session resumption and 0-RTT are disabled: a resumed session would skip
//! the pin check (so un-pinning a peer at runtime would not lock it out), and
//! our certificates are small enough that a full handshake is cheap.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use super::congestion::{InitialWindow, SyncBbrConfig};
use super::identity::{IdentityError, NodeId, NodeIdentity};
use super::verifier::{PinnedClientVerifier, PinnedServerVerifier};

/// The ALPN protocol id of the Liên Thông sync protocol, version 1.
pub const ALPN: &[u8] = b"lienthong/1";

/// The ALPN protocol id of enrolment (`lienthong init --join`): the one
/// exchange an unpinned client may have with a node, and only while that
/// node holds an open invitation ([`PinnedPeers::set_enrolment_open`]).
pub const ENROL_ALPN: &[u8] = b"lienthong-enrol/1";

/// Suffix of the server names built by [`server_name_for`].
pub const SERVER_NAME_SUFFIX: &str = "lienthong.node";

/// The set of peers this node accepts, shared and updatable at runtime: the
/// TLS verifiers hold a clone, so changes apply to the next handshake.
#[derive(Clone, Default)]
pub struct PinnedPeers {
    inner: Arc<RwLock<HashSet<NodeId>>>,
    /// While set, the client verifier also admits unpinned clients; the
    /// listener then lets them speak [`ENROL_ALPN`] only.
    enrolment_open: Arc<std::sync::atomic::AtomicBool>,
}

impl PinnedPeers {
    pub fn new(ids: impl IntoIterator<Item = NodeId>) -> Self {
        Self {
            inner: Arc::new(RwLock::new(ids.into_iter().collect())),
            enrolment_open: Arc::default(),
        }
    }

    /// Open or close enrolment: while open, a listening node's TLS layer
    /// admits clients it does not pin (the dialling side never does), and
    /// the caller must refuse them everything but the enrolment exchange.
    pub fn set_enrolment_open(&self, open: bool) {
        self.enrolment_open
            .store(open, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn enrolment_open(&self) -> bool {
        self.enrolment_open
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Pins `id`; returns whether it was newly added.
    pub fn insert(&self, id: NodeId) -> bool {
        self.write().insert(id)
    }

    /// Unpins `id`; returns whether it was pinned. Established connections
    /// are not affected; new handshakes from `id` are refused.
    pub fn remove(&self, id: &NodeId) -> bool {
        self.write().remove(id)
    }

    pub fn contains(&self, id: &NodeId) -> bool {
        self.read().contains(id)
    }

    /// Replaces the whole set (e.g. after the config is reloaded).
    pub fn replace(&self, ids: impl IntoIterator<Item = NodeId>) {
        let new: HashSet<NodeId> = ids.into_iter().collect();
        *self.write() = new;
    }

    /// The pinned ids, sorted.
    pub fn to_vec(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.read().iter().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A panic while holding the lock cannot leave a HashSet half-updated in a
    // way that matters here, so a poisoned lock is simply used as is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashSet<NodeId>> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashSet<NodeId>> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for PinnedPeers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.to_vec()).finish()
    }
}

impl FromIterator<NodeId> for PinnedPeers {
    fn from_iter<T: IntoIterator<Item = NodeId>>(iter: T) -> Self {
        Self::new(iter)
    }
}

/// Errors building TLS configurations or identifying a peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("TLS configuration unusable for QUIC: {0}")]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
    #[error("the connection has no peer certificate (is the handshake complete?)")]
    NoPeerCertificate,
    #[error("peer certificate: {0}")]
    PeerCertificate(#[source] IdentityError),
}

/// The TLS server name to dial a given node: `<52 base32 chars>.lienthong.node`.
/// It encodes the expected node id so the client's verifier checks that the
/// server presents exactly that identity (not just any pinned one). It is
/// not sent on the wire (SNI is disabled) and needs no DNS.
pub fn server_name_for(node: &NodeId) -> String {
    format!("{}.{SERVER_NAME_SUFFIX}", node.base32())
}

/// The node id encoded in a server name made by [`server_name_for`].
pub(crate) fn node_id_from_server_name(name: &str) -> Option<NodeId> {
    let (label, suffix) = name.split_once('.')?;
    if !suffix.eq_ignore_ascii_case(SERVER_NAME_SUFFIX) {
        return None;
    }
    NodeId::from_base32(label).ok()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls half of [`server_config`]: TLS 1.3, ring, mandatory pinned
/// client certificates, ALPN, no session tickets or resumption, no 0-RTT.
pub fn rustls_server_config(
    identity: &NodeIdentity,
    pinned: PinnedPeers,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedClientVerifier::new(pinned, &provider));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.certificate()], identity.private_key())?;
    config.alpn_protocols = vec![ALPN.to_vec(), ENROL_ALPN.to_vec()];
    config.max_early_data_size = 0;
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Ok(config)
}

/// The rustls half of [`client_config`]: TLS 1.3, ring, our certificate,
/// the pinned server verifier, ALPN, no SNI, no resumption, no 0-RTT.
pub fn rustls_client_config(
    identity: &NodeIdentity,
    pinned: PinnedPeers,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedServerVerifier::new(pinned, &provider));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.certificate()], identity.private_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    config.enable_early_data = false;
    // The server name only carries the expected node id to our verifier;
    // sending it in the clear would tell on-path observers whom we dial.
    config.enable_sni = false;
    Ok(config)
}

/// The quinn client configuration of a node being enrolled: it presents
/// its new identity, accepts only `parent` as the server, and speaks
/// [`ENROL_ALPN`] only.
pub fn enrolment_client_config(
    identity: &NodeIdentity,
    parent: NodeId,
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ClientConfig, TlsError> {
    let mut tls = rustls_client_config(identity, PinnedPeers::new([parent]))?;
    tls.alpn_protocols = vec![ENROL_ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// The ALPN protocol the connection agreed on.
pub fn negotiated_alpn(connection: &quinn::Connection) -> Option<Vec<u8>> {
    connection
        .handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

/// The quinn configuration for a listening node.
pub fn server_config(
    identity: &NodeIdentity,
    pinned: PinnedPeers,
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ServerConfig, TlsError> {
    let tls = rustls_server_config(identity, pinned)?;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// The quinn configuration for dialling nodes (use with
/// `Endpoint::connect_with(config, addr, &server_name_for(&node))`).
pub fn client_config(
    identity: &NodeIdentity,
    pinned: PinnedPeers,
    transport: Arc<quinn::TransportConfig>,
) -> Result<quinn::ClientConfig, TlsError> {
    let tls = rustls_client_config(identity, pinned)?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport);
    Ok(config)
}

/// After the handshake: who is on the other end.
pub fn peer_node_id(connection: &quinn::Connection) -> Result<NodeId, TlsError> {
    let identity = connection
        .peer_identity()
        .ok_or(TlsError::NoPeerCertificate)?;
    let certificates = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| TlsError::NoPeerCertificate)?;
    let end_entity = certificates.first().ok_or(TlsError::NoPeerCertificate)?;
    NodeId::from_certificate_der(end_entity).map_err(TlsError::PeerCertificate)
}

/// Bytes the peer may send on the connection before we read them.
pub const QUIC_RECEIVE_WINDOW: usize = 2 << 20;
/// Bytes the peer may send on the session's stream unread: the
/// connection's whole window (one stream carries a session), so that under
/// loss the data behind a gap can fill it while the gap is repaired
/// (issue 11).
pub const QUIC_STREAM_RECEIVE_WINDOW: usize = QUIC_RECEIVE_WINDOW;
/// Bytes sent and not yet acknowledged by the peer that QUIC keeps.
pub const QUIC_SEND_WINDOW: usize = 2 << 20;

/// QUIC's share of the per-peer memory bound, as configured here.
pub fn quic_windows() -> super::budget::QuicWindows {
    super::budget::QuicWindows {
        receive: QUIC_RECEIVE_WINDOW,
        send: QUIC_SEND_WINDOW,
    }
}

/// Transport settings for sync links: slow, lossy, often idle, sometimes down
/// for minutes; traffic is many small messages plus occasional attachment
/// chunks.
///
/// - Keep-alive every 10 s, idle timeout 60 s: keeps NAT bindings (often
///   30 s for UDP) open on an idle link and notices a dead link within a
///   minute, so the peer loop can reconnect. Cost of an idle link: one small
///   PING and its ACK per 10 s (roughly 0.5–1 MB a day).
/// - Initial RTT 333 ms (the RFC 9002 default, stated explicitly): the
///   handshake retransmission timer starts from it. Lower values would
///   retransmit handshake packets spuriously on slow rural and satellite
///   links, which costs bytes on every reconnect; higher values slow
///   recovery from a lost first packet.
/// - No MTU discovery: its probes (up to ~1.4 KB each, several per
///   connection) would by themselves exceed the byte budget of an idle
///   reconnect, and 1200-byte packets cost only ~1 % more overhead on bulk
///   transfers. This also avoids black holes on tunnels and odd links.
/// - No unreliable datagrams (the protocol does not use them).
/// - 64 concurrent bidirectional streams (plenty for pipelined batches) and
///   16 unidirectional ones; 2 MiB per stream and per connection of
///   receive window (quinn's default connection window is unlimited, which a
///   province node with hundreds of peers cannot afford), 2 MiB send window
///   (a session uses one stream; every byte here counts in the per-peer
///   memory bound, `budget.rs`).
/// - BBR (random loss is not taken for congestion), started without quinn's
///   start-up stall and with an initial window of
///   [`InitialWindow::DEFAULT`] datagrams ([`super::congestion`]; change it
///   with [`set_initial_window`]).
pub fn default_transport_config() -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(Duration::from_secs(10)))
        .max_idle_timeout(Some(quinn::VarInt::from_u32(60_000).into()))
        .initial_rtt(Duration::from_millis(333))
        .mtu_discovery_config(None)
        .datagram_receive_buffer_size(None)
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(64))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(16))
        .stream_receive_window(quinn::VarInt::from_u32(QUIC_STREAM_RECEIVE_WINDOW as u32))
        // One stream carries a session: the connection needs little more
        // than its window, and every byte here is one a peer can make us
        // hold (see `budget.rs`).
        .receive_window(quinn::VarInt::from_u32(QUIC_RECEIVE_WINDOW as u32))
        .send_window(QUIC_SEND_WINDOW as u64)
        .congestion_controller_factory(Arc::new(SyncBbrConfig::default()));
    transport
}

/// Start connections made with `transport` from an initial congestion
/// window of `initial` (node.toml `[sync] initial_window`).
pub fn set_initial_window(transport: &mut quinn::TransportConfig, initial: InitialWindow) {
    transport.congestion_controller_factory(Arc::new(SyncBbrConfig::new(initial)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_round_trip() {
        let id = NodeId::from_bytes([0xa5; 32]);
        let name = server_name_for(&id);
        assert!(name.len() <= 253);
        assert_eq!(node_id_from_server_name(&name), Some(id));
        assert_eq!(
            node_id_from_server_name(&name.to_ascii_uppercase()),
            Some(id)
        );
        assert_eq!(node_id_from_server_name("lienthong.node"), None);
        assert_eq!(node_id_from_server_name("example.com"), None);
        assert!(rustls::pki_types::ServerName::try_from(name).is_ok());
    }
}
