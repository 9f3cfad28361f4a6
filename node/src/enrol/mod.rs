//! Enrolment in one step (ghi danh): `lienthong invite` at the parent,
//! `lienthong init --join CODE` at the new node. See `docs/install.md` for
//! why this is safe.
//!
//! The exchange, on one QUIC connection with the [`tls::ENROL_ALPN`] protocol:
//! the new node dials the parent with the identity it has just made, and
//! accepts only the parent named in the code (pinned TLS, as for sync).
//! The parent admits an unpinned client at the TLS layer only while it
//! holds an open invitation, and the listener gives such a client this
//! exchange and nothing else. On one bidirectional stream the new node sends
//! [`REQUEST_LEN`] bytes (magic, invitation id, secret) — inside TLS, to the
//! authenticated parent only; the parent checks the secret against the hash
//! it kept, spends the invitation and pins the client's TLS identity as its
//! child (node.toml, in the same store transaction), and answers with the
//! office, its own office, and its network and catalogue files.

pub mod code;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_sync::transport::tls::{self, default_transport_config, enrolment_client_config};
use serde::{Deserialize, Serialize};

pub use code::InvitationCode;

use crate::config::{NodeConfig, PeerConfig, PeerRole};
use crate::daemon::Shared;
use crate::node::{InitSources, Node};
use crate::store::invitations::{InvitationRefused, InvitationRow};

const MAGIC: &[u8; 4] = b"LTE1";
/// The request is fixed-size: magic, invitation id, secret.
pub const REQUEST_LEN: usize = 4 + 8 + 16;
/// Longest reply a joining node reads (network and catalogue files).
pub const MAX_REPLY: usize = 8 << 20;
/// The whole exchange, on either side.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);
/// Enrolment exchanges served at once; more are turned away.
const MAX_CONCURRENT: usize = 4;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Accepted {
        office: OfficeId,
        parent_office: OfficeId,
        network: String,
        catalogue: String,
    },
    Refused {
        reason: String,
    },
}

/// Make an invitation for `office`, valid until `expires_at`; returns the
/// code to give the new node's operator. Only the secret's hash is stored.
pub fn invite(
    node: &mut Node,
    office: &OfficeId,
    address: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<InvitationCode> {
    let entry = node.network.offices.get(office).with_context(|| {
        format!(
            "office {office} is not in this node's network file (`lienthong offices` lists them)"
        )
    })?;
    if entry.served_by != entry.id {
        bail!(
            "office {office} is served by {}'s node, not a node of its own: invite {} instead",
            entry.served_by,
            entry.served_by
        );
    }
    if entry.parent.as_ref() != Some(node.office()) {
        bail!(
            "office {office} is not a child of this node's office {}: invite it from its parent's node",
            node.office()
        );
    }
    if address.len() > code::MAX_ADDRESS || !address.contains(':') {
        bail!("`{address}` is not a host:port the new node can dial");
    }
    let code = InvitationCode {
        parent: node.node_id(),
        address: address.to_string(),
        id: rand::random(),
        secret: rand::random(),
    };
    let row = InvitationRow {
        id: code.id,
        office: office.to_string(),
        created_at: now,
        expires_at,
        used_at: None,
        used_by: None,
    };
    let hash = InvitationCode::secret_hash(&code.secret);
    node.store.write(|w| w.insert_invitation(&row, &hash))?;
    Ok(code)
}

fn parse_request(bytes: &[u8]) -> Option<([u8; 8], [u8; 16])> {
    if bytes.len() != REQUEST_LEN || &bytes[..4] != MAGIC {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[4..12]);
    let mut secret = [0u8; 16];
    secret.copy_from_slice(&bytes[12..28]);
    Some((id, secret))
}

/// Spend the invitation and pin `child` (on a blocking thread).
fn accept_child(
    shared: &Shared,
    child: NodeId,
    id: [u8; 8],
    secret: [u8; 16],
    now: DateTime<Utc>,
) -> Result<Reply> {
    let mut node = shared.open_node()?;
    let config_path = shared
        .config_path
        .clone()
        .unwrap_or_else(|| node.dir.config_file());
    let hash = InvitationCode::secret_hash(&secret);
    let spent = node.store.write(|w| -> Result<_> {
        let row = match w.spend_invitation(&id, &hash, child.as_bytes(), now)? {
            Ok(row) => row,
            Err(refused) => return Ok(Err(refused)),
        };
        let office: OfficeId = row.office.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        // node.toml written inside the transaction: if it fails, the
        // invitation stays unspent.
        let mut config = NodeConfig::load(&config_path)?;
        if config.peer(&child).is_none() {
            config.peers.push(PeerConfig {
                role: PeerRole::Child,
                office: office.clone(),
                node_id: child,
                address: None,
            });
            config
                .save(&config_path)
                .with_context(|| format!("cannot write {}", config_path.display()))?;
        }
        Ok(Ok(office))
    })?;
    let office = match spent {
        Ok(office) => office,
        Err(refused) => {
            tracing::warn!(peer = %child, "refused an enrolment: {refused}");
            return Ok(Reply::Refused {
                reason: refused.to_string(),
            });
        }
    };
    tracing::info!(peer = %child, %office, "enrolled a new child node and pinned it");
    // At the province, the new node enters the directory at once (issue 8):
    // valid since ever (a new key has written nothing before), published
    // with the network file the reply carries. Only where the file already
    // names nodes: a first entry would make the file the whole directory,
    // refusing every node not yet in it — the operator's choice
    // (`lienthong directory add`), not an enrolment's.
    let names_nodes = !node.network.directory_entries().is_empty();
    if node.network.offices.root().id == *node.office() && names_nodes {
        match crate::replication::directory_file::add_entry(&mut node, &child, &office, None) {
            Ok(_) => {
                tracing::info!(peer = %child, %office, "added the new node to the node directory")
            }
            Err(e) => {
                tracing::warn!(peer = %child, error = %e, "could not add the new node to the node directory; add it with `lienthong directory add`")
            }
        }
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    Ok(Reply::Accepted {
        office,
        parent_office: node.office().clone(),
        network: read(&node.dir.resolve(&node.config.network))?,
        catalogue: read(&node.dir.resolve(&node.config.catalogue))?,
    })
}

static SERVING: AtomicUsize = AtomicUsize::new(0);

struct Slot;
impl Drop for Slot {
    fn drop(&mut self) {
        SERVING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serve one enrolment exchange on a connection that negotiated
/// [`tls::ENROL_ALPN`]. Bounded: one stream, [`REQUEST_LEN`] bytes, at most
/// [`EXCHANGE_TIMEOUT`], [`MAX_CONCURRENT`] at once; then the connection
/// is closed whatever happened.
pub(crate) async fn serve(shared: Arc<Shared>, connection: quinn::Connection, peer: NodeId) {
    if shared.peer_office(peer.as_bytes()).is_some() {
        connection.close(4u32.into(), b"already pinned: no enrolment needed");
        return;
    }
    if SERVING.fetch_add(1, Ordering::SeqCst) >= MAX_CONCURRENT {
        SERVING.fetch_sub(1, Ordering::SeqCst);
        connection.close(5u32.into(), b"busy: try again in a minute");
        return;
    }
    let _slot = Slot;
    let now = shared.options.clock.now();
    let exchange = async {
        let (mut send, mut recv) = connection.accept_bi().await.ok()?;
        let request = recv.read_to_end(REQUEST_LEN).await.ok()?;
        let reply = match parse_request(&request) {
            None => Reply::Refused {
                reason: "malformed enrolment request (another version of lienthong?)".into(),
            },
            Some((id, secret)) => {
                let shared = shared.clone();
                tokio::task::spawn_blocking(move || accept_child(&shared, peer, id, secret, now))
                    .await
                    .ok()?
                    .unwrap_or_else(|e| {
                        tracing::warn!(peer = %peer, error = %e, "enrolment failed");
                        Reply::Refused {
                            reason: format!("the parent could not complete the enrolment: {e:#}"),
                        }
                    })
            }
        };
        let bytes = serde_json::to_vec(&reply).ok()?;
        send.write_all(&bytes).await.ok()?;
        send.finish().ok()?;
        // Let the reply reach the client; it closes the connection.
        let _ = connection.closed().await;
        Some(())
    };
    if tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .is_err()
    {
        tracing::warn!(peer = %peer, "enrolment exchange timed out");
    }
    connection.close(0u32.into(), b"enrolment over");
}

/// Keep the TLS layer's enrolment door open exactly while the store holds
/// an invitation that can still be spent.
pub(crate) async fn door_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let path = shared.dir.store_file();
        let now = shared.options.clock.now();
        let open = tokio::task::spawn_blocking(move || {
            crate::store::Store::open(&path)?.read_now(|r| r.has_open_invitation(now))
        })
        .await;
        match open {
            Ok(Ok(open)) => {
                if open != shared.pinned.enrolment_open() {
                    tracing::info!(open, "enrolment door");
                }
                shared.pinned.set_enrolment_open(open);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read invitations; enrolment closed");
                shared.pinned.set_enrolment_open(false);
            }
            Err(_) => shared.pinned.set_enrolment_open(false),
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.options.config_poll) => {}
            _ = shutdown.changed() => break,
        }
    }
    shared.pinned.set_enrolment_open(false);
}

/// What `init --join` made.
pub struct Joined {
    pub node: Node,
    pub parent_office: OfficeId,
}

fn resolve(address: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    address
        .to_socket_addrs()
        .with_context(|| format!("the parent's address `{address}` does not resolve"))?
        .next()
        .with_context(|| format!("the parent's address `{address}` does not resolve"))
}

/// Dial the parent, prove the invitation, and on acceptance create the
/// node in `dir` with the identity the parent pinned, pinning the parent.
/// Nothing is written to `dir` unless the parent accepted.
pub async fn join(code: &InvitationCode, dir: &Path, listen: Option<SocketAddr>) -> Result<Joined> {
    let data = crate::config::DataDir::new(dir);
    if data.config_file().exists() {
        bail!(
            "{} already holds a node: join with a new, empty directory",
            dir.display()
        );
    }
    let identity = NodeIdentity::generate("lienthong")?;
    let addr = resolve(&code.address)?;
    let bind: SocketAddr = match (addr.ip().is_loopback(), addr.is_ipv4()) {
        (true, true) => "127.0.0.1:0".parse()?,
        (true, false) => "[::1]:0".parse()?,
        (false, true) => "0.0.0.0:0".parse()?,
        (false, false) => "[::]:0".parse()?,
    };
    let endpoint = quinn::Endpoint::client(bind).context("cannot open a UDP socket")?;
    let config =
        enrolment_client_config(&identity, code.parent, Arc::new(default_transport_config()))?;
    let exchange = async {
        let connection = endpoint
            .connect_with(config, addr, &tls::server_name_for(&code.parent))?
            .await
            .with_context(|| {
                format!(
                    "cannot enrol with the parent at {addr}: refused or unreachable (is its daemon running, is the invitation still open, is this the right code?)"
                )
            })?;
        let no_door = || {
            format!(
                "the parent at {addr} refused this node at the handshake: it holds no open invitation (this code was used or has expired, or is not from this parent); ask the parent's operator for a new one"
            )
        };
        let (mut send, mut recv) = connection.open_bi().await.with_context(no_door)?;
        let mut request = Vec::with_capacity(REQUEST_LEN);
        request.extend_from_slice(MAGIC);
        request.extend_from_slice(&code.id);
        request.extend_from_slice(&code.secret);
        send.write_all(&request).await?;
        send.finish()?;
        let bytes = recv.read_to_end(MAX_REPLY).await.with_context(no_door)?;
        connection.close(0u32.into(), b"done");
        anyhow::Ok(
            serde_json::from_slice::<Reply>(&bytes).context("the parent's answer is malformed")?,
        )
    };
    let reply = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .with_context(|| {
            format!("the parent at {addr} did not answer within {EXCHANGE_TIMEOUT:?}")
        })??;
    endpoint.wait_idle().await;
    let (office, parent_office, network, catalogue) = match reply {
        Reply::Accepted {
            office,
            parent_office,
            network,
            catalogue,
        } => (office, parent_office, network, catalogue),
        Reply::Refused { reason } => bail!("the parent refused: {reason}"),
    };
    let mut node = Node::init_with_identity(
        dir,
        &office,
        InitSources {
            network: (&network, Path::new("network.toml (from the parent)")),
            catalogue: (&catalogue, Path::new("catalogue (from the parent)")),
        },
        identity,
    )?;
    node.config.peers.push(PeerConfig {
        role: PeerRole::Parent,
        office: parent_office.clone(),
        node_id: code.parent,
        address: Some(code.address.clone()),
    });
    if let Some(listen) = listen {
        node.config.listen = listen;
    }
    node.config.save(&node.dir.config_file())?;
    Ok(Joined {
        node,
        parent_office,
    })
}

/// Why a spent invitation was refused, for tests and messages.
pub type Refused = InvitationRefused;
