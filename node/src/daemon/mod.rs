//! The daemon (`lienthong run`): listens for pinned peers, dials its parent
//! and extra peers, and keeps a sync session with each while the links
//! allow. Officer commands run against the same data directory from other
//! processes; sessions notice the feed growing and offer what is new.

mod heartbeat;
pub(crate) mod link;
mod listener;
mod peer_loop;
mod peers;
mod scheduler;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lienthong_shared::OfficeId;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::protocol::PeerId;
use lienthong_sync::transport::congestion::InitialWindow;
use lienthong_sync::transport::driver::DriverConfig;
use lienthong_sync::transport::endpoint::{Endpoint, EndpointError};
use lienthong_sync::transport::tls::{PinnedPeers, default_transport_config, set_initial_window};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::config::DataDir;
use crate::config::Limits;
use crate::node::{Node, NodeError};
use crate::replication::config_docs::{self, PublishError};
use crate::replication::{Clock, peer_offices};

pub use heartbeat::{HEARTBEAT_INTERVAL, daemon_heartbeat};
pub use scheduler::SCHEDULER_INTERVAL;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("publishing the configuration: {0}")]
    Publish(#[from] PublishError),
    #[error("peer {office} has address `{address}` that does not resolve: {source}")]
    Address {
        office: OfficeId,
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Override `listen` from node.toml.
    pub listen: Option<SocketAddr>,
    /// Override the node.toml path.
    pub config: Option<PathBuf>,
    /// First and longest wait between reconnection attempts.
    pub backoff: (Duration, Duration),
    pub driver: DriverConfig,
    /// The time as sessions see it (quota days); tests move it.
    pub clock: Clock,
    /// How often a session with a peer held at a limit looks whether the
    /// limit has lifted (then the session is closed, and the next one asks
    /// the peer again for what was refused).
    pub limit_check: Duration,
    /// How often node.toml is read again for peer changes
    /// (`lienthong peer add/remove` on a running daemon).
    pub config_poll: Duration,
    /// A link with no packet from the peer for this long is down: QUIC
    /// keep-alives go every fifth of it, so a cut is noticed (and `status`
    /// says "disconnected") within this time, not quinn's usual 60 s.
    pub idle_timeout: Duration,
}

/// The default [`DaemonOptions::idle_timeout`]: a cut is noticed in 10 s.
/// The dialling side pings every 2 s and the listening side acknowledges
/// (it sends no pings of its own): one datagram a second on an idle link,
/// about 207 kB an hour (5 MB a day) with IP/UDP headers, both ways
/// (measured, `docs/benchmarks.md` "Recovery"; 350–410 kB an hour when
/// both sides pinged).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopping daemon lets its sessions say goodbye (a close frame
/// to each peer, the last frames queued) and its loops finish.
pub const STOP_DRAIN: Duration = Duration::from_millis(1500);
/// How long the endpoint is given to put its close frames on the wire.
pub const STOP_CLOSE: Duration = Duration::from_millis(200);

/// The QUIC settings of the connections the daemon dials, with its idle
/// timeout: keep-alives every fifth of it; each connection starts from the
/// initial congestion window of `[sync]`.
fn transport_config(idle: Duration, initial: InitialWindow) -> quinn::TransportConfig {
    let mut transport = default_transport_config();
    set_initial_window(&mut transport, initial);
    let idle = idle.max(Duration::from_millis(500));
    transport
        .keep_alive_interval(Some(idle / 5))
        .max_idle_timeout(quinn::IdleTimeout::try_from(idle).ok());
    transport
}

/// The settings of the connections it accepts: the same idle timeout, but
/// no keep-alives of its own. Every peer that dials sends them and this
/// side acknowledges each at once, so both sides still hear from each other
/// every period — one pair of datagrams instead of two on an idle link
/// (metered commune links). A dialler that stops pinging is gone: the idle
/// timeout ends the connection, as before.
fn accepted_transport_config(idle: Duration, initial: InitialWindow) -> quinn::TransportConfig {
    let mut transport = transport_config(idle, initial);
    transport.keep_alive_interval(None);
    transport
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            listen: None,
            config: None,
            backoff: (Duration::from_secs(1), Duration::from_secs(60)),
            driver: DriverConfig::default(),
            clock: Clock::system(),
            limit_check: Duration::from_secs(60),
            config_poll: Duration::from_secs(1),
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// What every task of the daemon shares.
pub(crate) struct Shared {
    pub dir: DataDir,
    pub config_path: Option<PathBuf>,
    pub office: OfficeId,
    pub network: NetworkConfig,
    /// The network file, read again at each session for the node
    /// directory, and watched for directory changes (`peers.rs`).
    pub network_path: PathBuf,
    pub calendar: WorkingCalendar,
    /// The pinned peers: replaced when node.toml changes ([`reload`]).
    pub peers: std::sync::RwLock<PeerSet>,
    /// The endpoint's pins, shared with its TLS verifiers.
    pub pinned: PinnedPeers,
    /// Every session's connection, so unpinning a peer closes it.
    pub connections: Mutex<HashMap<PeerId, quinn::Connection>>,
    /// Rung when the peers change, so dial loops look whether they are
    /// still wanted.
    pub peers_changed: Notify,
    /// The dial loop wanted for each dialled peer, by generation.
    pub dialling: Mutex<HashMap<PeerId, u64>>,
    pub limits: Limits,
    pub endpoint: Endpoint,
    /// Rung when documents arrive, so other sessions relay them at once.
    pub wake: Arc<Notify>,
    /// Peers with a session right now (one session per peer).
    pub active: Mutex<HashSet<PeerId>>,
    /// The connection of each session a peer dialled (we listened). A peer
    /// dials only when it has no session, so when it dials again while one
    /// is recorded here, its old connection is dead to it (it restarted, or
    /// lost the link): the new connection replaces the stale session instead
    /// of being turned away until the old one times out.
    pub listened: Mutex<HashMap<PeerId, quinn::Connection>>,
    /// Rung whenever a session releases its peer.
    pub released: Notify,
    pub options: DaemonOptions,
    pub shutdown: watch::Receiver<bool>,
}

/// Who the daemon talks to, from node.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeerSet {
    pub offices: HashMap<PeerId, OfficeId>,
    /// The parent, whose "in sync" lifts a code fence (`store/codes.rs`).
    pub parent: Option<PeerId>,
}

impl PeerSet {
    pub(crate) fn of(config: &crate::config::NodeConfig) -> Self {
        PeerSet {
            offices: peer_offices(config),
            parent: config
                .peers
                .iter()
                .find(|p| p.role == crate::config::PeerRole::Parent)
                .map(|p| *p.node_id.as_bytes()),
        }
    }
}

impl Shared {
    /// The office of a pinned peer; `None` once it is unpinned.
    pub(crate) fn peer_office(&self, peer: &PeerId) -> Option<OfficeId> {
        self.peers.read().ok()?.offices.get(peer).cloned()
    }

    /// Whether the dial loop `generation` for `peer` is still the one
    /// wanted (a removed, changed or re-added peer gets a new loop).
    pub(crate) fn dials(&self, peer: &PeerId, generation: u64) -> bool {
        self.dialling
            .lock()
            .map(|d| d.get(peer) == Some(&generation))
            .unwrap_or(false)
    }

    /// Note the connection of a session with `peer`, to close it if the
    /// peer is unpinned.
    pub(crate) fn register(&self, peer: PeerId, connection: &quinn::Connection) {
        if let Ok(mut c) = self.connections.lock() {
            c.insert(peer, connection.clone());
        }
    }

    pub(crate) fn unregister(&self, peer: &PeerId, connection: &quinn::Connection) {
        if let Ok(mut c) = self.connections.lock()
            && c.get(peer)
                .is_some_and(|x| x.stable_id() == connection.stable_id())
        {
            c.remove(peer);
        }
    }

    pub(crate) fn peer_offices(&self) -> HashMap<PeerId, OfficeId> {
        self.peers
            .read()
            .map(|p| p.offices.clone())
            .unwrap_or_default()
    }

    /// Whether being in sync with `peer` means the node has caught up: it
    /// is the parent, or the node has none (a province).
    pub(crate) fn catches_up_from(&self, peer: &PeerId) -> bool {
        self.peers
            .read()
            .map(|p| p.parent.is_none_or(|parent| &parent == peer))
            .unwrap_or(false)
    }

    /// One write to the store on a blocking thread, for bookkeeping the
    /// daemon keeps for `status`: a failure is logged as "could not record
    /// `what`" and the daemon goes on.
    pub(crate) async fn record<F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&crate::store::Writer<'_>) -> Result<(), crate::store::StoreError>
            + Send
            + 'static,
    {
        let path = self.dir.store_file();
        let result =
            tokio::task::spawn_blocking(move || crate::store::Store::open(&path)?.write(f)).await;
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "could not record {what}");
        }
    }

    pub(crate) fn open_node(&self) -> Result<Node, NodeError> {
        match &self.config_path {
            Some(path) => Node::open_with_config(self.dir.root(), path),
            None => Node::open(self.dir.root()),
        }
    }

    /// Claim the right to run a session with `peer`; false if one runs.
    pub(crate) fn claim(&self, peer: &PeerId) -> bool {
        self.active
            .lock()
            .map(|mut set| set.insert(*peer))
            .unwrap_or(false)
    }

    pub(crate) fn release(&self, peer: &PeerId) {
        if let Ok(mut set) = self.active.lock() {
            set.remove(peer);
        }
        self.released.notify_waiters();
    }

    /// Claim `peer` once its current session has released it, waiting at
    /// most `timeout`.
    pub(crate) async fn claim_when_released(&self, peer: &PeerId, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.claim(peer) {
                return true;
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return self.claim(peer);
            }
        }
    }
}

/// A running daemon.
pub struct Daemon {
    local_addr: SocketAddr,
    node_id: String,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    endpoint: Endpoint,
}

impl Daemon {
    /// Open the node in `dir`, bind, and start every loop.
    pub async fn start(dir: &Path, options: DaemonOptions) -> Result<Daemon, DaemonError> {
        let mut node = match &options.config {
            Some(path) => Node::open_with_config(dir, path)?,
            None => Node::open(dir)?,
        };
        // Nothing stored may keep the node from running: references no node
        // could hold and malformed heads are set aside before any session.
        let limits = node.config.limits;
        let now = options.clock.now();
        let quarantined = node.store.write(|w| w.quarantine_unsafe(&limits, now))?;
        if quarantined > 0 {
            tracing::warn!(
                quarantined,
                "documents quarantined at start (lienthong status lists them)"
            );
        }
        let published = config_docs::publish(&mut node)?;
        if published > 0 {
            tracing::info!(
                published,
                "published the office tree and catalogue to the network"
            );
        }
        let replaced = config_docs::apply_received(&mut node)?;
        if !replaced.is_empty() {
            tracing::info!(
                ?replaced,
                "configuration updated from the province; reopening"
            );
            node = match &options.config {
                Some(path) => Node::open_with_config(dir, path)?,
                None => Node::open(dir)?,
            };
        }
        node.store.write(|w| w.mark_all_disconnected())?;
        let pinned = PinnedPeers::new(node.config.peers.iter().map(|p| p.node_id));
        let listen = options.listen.unwrap_or(node.config.listen);
        let endpoint = Endpoint::bind_with(
            listen,
            &node.identity,
            pinned.clone(),
            Arc::new(transport_config(
                options.idle_timeout,
                node.config.sync.initial_window,
            )),
            Arc::new(accepted_transport_config(
                options.idle_timeout,
                node.config.sync.initial_window,
            )),
        )?;
        let local_addr = endpoint
            .local_addr()
            .map_err(|source| EndpointError::Bind {
                addr: listen,
                source,
            })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            dir: node.dir.clone(),
            config_path: options.config.clone(),
            office: node.office().clone(),
            network: node.network.clone(),
            network_path: node.dir.resolve(&node.config.network),
            calendar: node.calendar.clone(),
            peers: std::sync::RwLock::new(PeerSet::of(&node.config)),
            pinned: pinned.clone(),
            connections: Mutex::new(HashMap::new()),
            peers_changed: Notify::new(),
            dialling: Mutex::new(HashMap::new()),
            limits: node.config.limits,
            endpoint: endpoint.clone(),
            wake: Arc::new(Notify::new()),
            active: Mutex::new(HashSet::new()),
            listened: Mutex::new(HashMap::new()),
            released: Notify::new(),
            options: options.clone(),
            shutdown: shutdown_rx,
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(listener::accept_loop(shared.clone()));
        tasks.spawn(crate::enrol::door_loop(shared.clone()));
        // Unresolvable addresses stop the start, as before; later changes
        // to node.toml are applied live (`peers.rs`).
        for peer in &node.config.peers {
            if let Some(address) = &peer.address {
                resolve(address).map_err(|source| DaemonError::Address {
                    office: peer.office.clone(),
                    address: address.clone(),
                    source,
                })?;
            }
        }
        tasks.spawn(peers::peers_loop(shared.clone(), node.config.clone()));
        tasks.spawn(heartbeat::heartbeat_loop(shared.clone()));
        tasks.spawn(scheduler::scheduler_loop(shared.clone()));
        tasks.spawn(scheduler::delivery_loop(shared.clone()));
        tracing::info!(
            office = %node.office(),
            node = %node.node_id(),
            %local_addr,
            peers = node.config.peers.len(),
            "node running"
        );
        Ok(Daemon {
            local_addr,
            node_id: node.node_id().to_string(),
            shutdown: shutdown_tx,
            tasks,
            endpoint,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Stop every session cleanly (peers are told), close the endpoint;
    /// within [`STOP_DRAIN`] + [`STOP_CLOSE`] whatever the peers do.
    ///
    /// Nothing here needs longer: a store write in flight finishes on its
    /// blocking thread whether or not its task is still awaited (SQLite
    /// commits or rolls back whole), a session's checkpoint moves only with
    /// its commits, and an unreachable peer's handshake has nothing to say
    /// goodbye to. The endpoint sends its CONNECTION_CLOSE frames at once;
    /// waiting out QUIC's draining period (three retransmission timeouts,
    /// seconds on a handshake that never got an answer) would only answer
    /// a peer's late packets, which its own idle timeout handles.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let drained = tokio::time::timeout(STOP_DRAIN, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!("stopping: tasks still busy after {STOP_DRAIN:?}, abandoning them");
            self.tasks.abort_all();
        }
        self.endpoint.close("node shutting down");
        let _ = tokio::time::timeout(STOP_CLOSE, self.endpoint.wait_idle()).await;
    }
}

fn resolve(address: &str) -> std::io::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
}
