//! A node's QUIC endpoint: listens for pinned peers and dials them, with
//! mutual TLS on both sides.

use std::net::SocketAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::identity::{NodeId, NodeIdentity};
use super::tls::{self, PinnedPeers, TlsError};

/// Why the endpoint could not be set up or a connection made.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "cannot listen on {addr}: {source} (is another node using this port? change `listen` in node.toml)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot dial {addr}: {0}", addr = .1)]
    Connect(#[source] quinn::ConnectError, SocketAddr),
    #[error("connection to {addr} failed: {source}")]
    Connection {
        addr: SocketAddr,
        #[source]
        source: quinn::ConnectionError,
    },
    #[error("peer at {addr} is {found}, not the pinned {expected}")]
    WrongPeer {
        addr: SocketAddr,
        expected: NodeId,
        found: NodeId,
    },
}

/// Connection ids of 4 bytes instead of quinn's 8: every packet carries
/// one, and the first flights of an idle reconnect carry several. A node
/// has tens of connections, not millions, so 32 random bits are plenty.
struct ShortConnectionIds;

const CID_LEN: usize = 4;

impl quinn::ConnectionIdGenerator for ShortConnectionIds {
    fn generate_cid(&mut self) -> quinn::ConnectionId {
        let bytes: [u8; CID_LEN] = rand::random();
        quinn::ConnectionId::new(&bytes)
    }

    fn cid_len(&self) -> usize {
        CID_LEN
    }

    fn cid_lifetime(&self) -> Option<std::time::Duration> {
        None
    }
}

/// The key behind this node's stateless reset tokens (RFC 9000 §10.3): an
/// HMAC-SHA-256 key derived from the node's private key, so that it is the
/// same after a restart.
///
/// quinn picks a random key per endpoint by default. Then, when a node is
/// killed and restarts, its peers' packets on the old connection draw
/// stateless resets they cannot recognise (the token came from the old
/// key), so each peer keeps the dead connection until its idle timeout — a
/// minute in which the peer does not redial, and in which the restarted
/// node's own dial is turned away as a second session. With a stable key
/// the first packet a peer sends after the restart ends the old connection
/// at once, and both sides reconnect and resume from their checkpoints.
fn reset_key(identity: &NodeIdentity) -> ring::hmac::Key {
    let mut hash = Sha256::new();
    hash.update(b"lienthong/quic-stateless-reset/v1\0");
    hash.update(identity.private_key().secret_der());
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &hash.finalize())
}

/// Listening and dialling with one identity and one pin set.
#[derive(Clone)]
pub struct Endpoint {
    inner: quinn::Endpoint,
    client: quinn::ClientConfig,
}

impl Endpoint {
    /// Bind to `addr` (port 0: the OS picks one) and accept pinned peers;
    /// the same transport settings for connections it dials and accepts.
    pub fn bind(
        addr: SocketAddr,
        identity: &NodeIdentity,
        pinned: PinnedPeers,
        transport: Arc<quinn::TransportConfig>,
    ) -> Result<Self, EndpointError> {
        Self::bind_with(addr, identity, pinned, transport.clone(), transport)
    }

    /// [`Self::bind`] with settings of its own for the connections it
    /// accepts (`accepted`) — e.g. no keep-alives of its own when every
    /// dialler sends them: a keep-alive and its acknowledgement are then one
    /// pair of datagrams a period instead of two, and both sides still hear
    /// from each other every period.
    pub fn bind_with(
        addr: SocketAddr,
        identity: &NodeIdentity,
        pinned: PinnedPeers,
        dialled: Arc<quinn::TransportConfig>,
        accepted: Arc<quinn::TransportConfig>,
    ) -> Result<Self, EndpointError> {
        let server = tls::server_config(identity, pinned.clone(), accepted)?;
        let client = tls::client_config(identity, pinned, dialled)?;
        let bind_error = |source| EndpointError::Bind { addr, source };
        let socket = std::net::UdpSocket::bind(addr).map_err(bind_error)?;
        let runtime = quinn::default_runtime().ok_or_else(|| {
            bind_error(std::io::Error::other(
                "no async runtime (start the node under tokio)",
            ))
        })?;
        let mut config = quinn::EndpointConfig::new(Arc::new(reset_key(identity)));
        config.cid_generator(|| Box::new(ShortConnectionIds));
        let mut inner =
            quinn::Endpoint::new(config, Some(server), socket, runtime).map_err(bind_error)?;
        inner.set_default_client_config(client.clone());
        Ok(Endpoint { inner, client })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Dial `peer` at `addr`; the handshake fails unless the server proves
    /// it is exactly `peer`.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        peer: &NodeId,
    ) -> Result<quinn::Connection, EndpointError> {
        let connecting = self
            .inner
            .connect_with(self.client.clone(), addr, &tls::server_name_for(peer))
            .map_err(|e| EndpointError::Connect(e, addr))?;
        let connection = connecting
            .await
            .map_err(|source| EndpointError::Connection { addr, source })?;
        let found = tls::peer_node_id(&connection)?;
        if &found != peer {
            connection.close(0u32.into(), b"wrong peer");
            return Err(EndpointError::WrongPeer {
                addr,
                expected: *peer,
                found,
            });
        }
        Ok(connection)
    }

    /// The next incoming connection attempt (None once the endpoint is closed).
    pub async fn accept(&self) -> Option<quinn::Incoming> {
        self.inner.accept().await
    }

    /// Close every connection and stop listening.
    pub fn close(&self, reason: &str) {
        self.inner.close(0u32.into(), reason.as_bytes());
    }

    /// Wait until connections have closed cleanly (after [`Self::close`]).
    pub async fn wait_idle(&self) {
        self.inner.wait_idle().await;
    }

    pub fn inner(&self) -> &quinn::Endpoint {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use quinn::crypto::HmacKey;

    use super::*;

    #[test]
    fn reset_key_survives_a_restart_and_differs_per_node() {
        let dir = tempfile::tempdir().unwrap();
        let identity = NodeIdentity::generate("commune").unwrap();
        identity.save(dir.path()).unwrap();
        let reloaded = NodeIdentity::load(dir.path()).unwrap();
        let other = NodeIdentity::generate("district").unwrap();
        let cid = [1u8, 2, 3, 4];
        let sign = |key: &ring::hmac::Key| {
            let mut tag = vec![0u8; key.signature_len()];
            key.sign(&cid, &mut tag);
            tag
        };
        let tag = sign(&reset_key(&identity));
        assert_eq!(tag, sign(&reset_key(&reloaded)));
        assert_ne!(tag, sign(&reset_key(&other)));
        assert!(reset_key(&reloaded).verify(&cid, &tag).is_ok());
    }
}
