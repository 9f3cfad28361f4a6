//! A whole network of nodes on one machine: data directories side by side,
//! peers pinned to each other by the office tree, daemons in this process
//! on loopback ports the OS picks. The demo plays its story on one; the
//! multi-node tests use it too.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lienthong_shared::OfficeId;
use lienthong_shared::offices::NetworkConfig;

use crate::config::{NodeConfig, PeerConfig, PeerRole};
use crate::daemon::{Daemon, DaemonError, DaemonOptions};
use crate::node::{InitSources, Node, NodeError};
use lienthong_sync::transport::endpoint::EndpointError;

/// Why the local network could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LocalNetworkError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error("{0}")]
    Config(#[from] lienthong_shared::ConfigError),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("no node for {0} in this network")]
    UnknownNode(OfficeId),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}

pub type Result<T, E = LocalNetworkError> = std::result::Result<T, E>;

/// One node of the local network.
pub struct LocalNode {
    pub office: OfficeId,
    pub dir: PathBuf,
    daemon: Option<Daemon>,
    /// The loopback address it listens on (fixed after its first start).
    pub addr: Option<SocketAddr>,
}

impl LocalNode {
    pub fn is_running(&self) -> bool {
        self.daemon.is_some()
    }
}

/// Nodes for a set of offices of one network file.
pub struct LocalNetwork {
    pub root: PathBuf,
    network: NetworkConfig,
    nodes: BTreeMap<OfficeId, LocalNode>,
    /// Node offices from the root down, so parents start before children.
    order: Vec<OfficeId>,
    options: DaemonOptions,
    /// Where a node dials a given peer instead of the peer's own address
    /// (a link emulator in between).
    dial_overrides: BTreeMap<(OfficeId, OfficeId), SocketAddr>,
}

fn dir_name(office: &OfficeId) -> String {
    office.as_str().replace([':', '/'], "_")
}

impl LocalNetwork {
    /// Initialise a node per office in `offices` (offices that serve
    /// themselves) under `root`, and pin each to its nearest ancestor node
    /// (parent) and nearest descendant nodes (children).
    pub fn init(
        root: &Path,
        network_text: &str,
        catalogue_text: &str,
        offices: &[OfficeId],
    ) -> Result<Self> {
        let network = NetworkConfig::parse(Path::new("network.toml"), network_text)?;
        std::fs::create_dir_all(root)
            .map_err(|e| LocalNetworkError::Io(format!("creating {}", root.display()), e))?;
        let mut nodes = BTreeMap::new();
        for office in offices {
            let dir = root.join(dir_name(office));
            Node::init(
                &dir,
                office,
                InitSources {
                    network: (network_text, Path::new("network.toml")),
                    catalogue: (catalogue_text, Path::new("catalogue.toml")),
                },
            )?;
            nodes.insert(
                office.clone(),
                LocalNode {
                    office: office.clone(),
                    dir,
                    daemon: None,
                    addr: None,
                },
            );
        }
        let mut order: Vec<OfficeId> = offices.to_vec();
        order.sort_by_key(|o| network.offices.depth(o).unwrap_or(usize::MAX));
        let mut this = LocalNetwork {
            root: root.to_path_buf(),
            network,
            nodes,
            order,
            options: DaemonOptions {
                listen: None,
                backoff: (Duration::from_millis(200), Duration::from_secs(2)),
                ..DaemonOptions::default()
            },
            dial_overrides: BTreeMap::new(),
        };
        this.pin_tree()?;
        Ok(this)
    }

    /// Name every node's id in every node's network file (`node_id` on its
    /// office): the directory of change authors of issue 8, and the
    /// province's id as the only author of configuration. Call before the
    /// nodes start.
    pub fn name_nodes_in_network(&mut self) -> Result<()> {
        let ids: BTreeMap<OfficeId, lienthong_sync::transport::identity::NodeId> = self
            .nodes
            .iter()
            .map(|(office, node)| Ok((office.clone(), Node::open(&node.dir)?.node_id())))
            .collect::<Result<_>>()?;
        for node in self.nodes.values() {
            let opened = Node::open(&node.dir)?;
            let path = opened.dir.resolve(&opened.config.network);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LocalNetworkError::Io(format!("reading {}", path.display()), e))?;
            let mut named = String::with_capacity(text.len() + ids.len() * 80);
            for line in text.lines() {
                named.push_str(line);
                named.push('\n');
                let id = line
                    .strip_prefix("id = \"")
                    .and_then(|rest| rest.split('"').next());
                if let Some(node_id) = id
                    .and_then(|id| id.parse::<OfficeId>().ok())
                    .and_then(|office| ids.get(&office))
                {
                    named.push_str(&format!("node_id = \"{node_id}\"\n"));
                }
            }
            self.network = NetworkConfig::parse(Path::new("network.toml"), &named)?;
            std::fs::write(&path, named)
                .map_err(|e| LocalNetworkError::Io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Daemon options for every node (backoff, driver settings).
    pub fn set_options(&mut self, options: DaemonOptions) {
        self.options = options;
    }

    /// The node office that acts as `office`'s parent: its nearest ancestor with a node here.
    fn parent_node(&self, office: &OfficeId) -> Option<OfficeId> {
        self.network
            .offices
            .ancestors(office)
            .into_iter()
            .map(|o| o.id.clone())
            .find(|id| self.nodes.contains_key(id))
    }

    fn pin_tree(&mut self) -> Result<()> {
        let ids: BTreeMap<OfficeId, _> = self
            .nodes
            .iter()
            .map(|(office, node)| Ok((office.clone(), Node::open(&node.dir)?.node_id())))
            .collect::<Result<_>>()?;
        for office in self.nodes.keys().cloned().collect::<Vec<_>>() {
            let node = &self.nodes[&office];
            let mut node_handle = Node::open(&node.dir)?;
            let mut peers = Vec::new();
            if let Some(parent) = self.parent_node(&office) {
                peers.push(PeerConfig {
                    role: PeerRole::Parent,
                    office: parent.clone(),
                    node_id: ids[&parent],
                    address: None,
                });
            }
            for (child, id) in &ids {
                if self.parent_node(child).as_ref() == Some(&office) {
                    peers.push(PeerConfig {
                        role: PeerRole::Child,
                        office: child.clone(),
                        node_id: *id,
                        address: None,
                    });
                }
            }
            node_handle.config.peers = peers;
            node_handle.config.listen = "127.0.0.1:0".parse().expect("loopback address");
            save_config(&node_handle)?;
        }
        Ok(())
    }

    /// Also pin `extra` as an extra peer of `office` (both ways).
    pub fn add_extra_peer(&mut self, office: &OfficeId, extra: &OfficeId) -> Result<()> {
        let a = Node::open(&self.get(office)?.dir)?;
        let b = Node::open(&self.get(extra)?.dir)?;
        for (mut node, other, other_id) in [
            (a, extra, b.node_id()),
            (b, office, Node::open(&self.get(office)?.dir)?.node_id()),
        ] {
            node.config.peers.push(PeerConfig {
                role: PeerRole::Extra,
                office: other.clone(),
                node_id: other_id,
                address: None,
            });
            save_config(&node)?;
        }
        Ok(())
    }

    /// Make `office` dial `peer` at `addr` (e.g. a link emulator in front of
    /// the peer) from its next start on.
    pub fn dial_through(&mut self, office: &OfficeId, peer: &OfficeId, addr: SocketAddr) {
        self.dial_overrides
            .insert((office.clone(), peer.clone()), addr);
    }

    pub fn get(&self, office: &OfficeId) -> Result<&LocalNode> {
        self.nodes
            .get(office)
            .ok_or_else(|| LocalNetworkError::UnknownNode(office.clone()))
    }

    pub fn offices(&self) -> impl Iterator<Item = &OfficeId> {
        self.order.iter()
    }

    /// Open a node's data directory (store, config) for officer commands.
    pub fn open(&self, office: &OfficeId) -> Result<Node> {
        Ok(Node::open(&self.get(office)?.dir)?)
    }

    /// Start every stopped node, parents first.
    pub async fn start_all(&mut self) -> Result<()> {
        for office in self.order.clone() {
            if !self.get(&office)?.is_running() {
                self.start(&office).await?;
            }
        }
        Ok(())
    }

    /// Start one node's daemon (its parent's address must be known: start
    /// parents first). Its children learn its address.
    pub async fn start(&mut self, office: &OfficeId) -> Result<()> {
        let dir = self.get(office)?.dir.clone();
        // Point every dialled peer (parent, extra) at its known address.
        let mut node = Node::open(&dir)?;
        let mut changed = false;
        for peer in &mut node.config.peers {
            // Dial the parent, and extra peers above or beside us (the lower
            // office dials, as links are usually set up from the commune).
            let dials = match peer.role {
                PeerRole::Parent => true,
                PeerRole::Extra => !self.network.offices.is_ancestor_of(office, &peer.office),
                PeerRole::Child => false,
            };
            if dials {
                let address = self
                    .dial_overrides
                    .get(&(office.clone(), peer.office.clone()))
                    .copied()
                    .or_else(|| self.nodes.get(&peer.office).and_then(|n| n.addr))
                    .map(|a| a.to_string());
                if address.is_some() && peer.address != address {
                    peer.address = address;
                    changed = true;
                }
            }
        }
        if let Some(addr) = self.get(office)?.addr
            && node.config.listen != addr
        {
            node.config.listen = addr;
            changed = true;
        }
        if changed {
            save_config(&node)?;
        }
        drop(node);
        // A node restarted in this process may find its old address still
        // bound for a moment: the stopped daemon's socket is released when
        // its endpoint's last task has been dropped on the runtime.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let daemon = loop {
            match Daemon::start(&dir, self.options.clone()).await {
                Err(DaemonError::Endpoint(EndpointError::Bind { source, .. }))
                    if source.kind() == std::io::ErrorKind::AddrInUse
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                started => break started?,
            }
        };
        let addr = daemon.local_addr();
        if let Some(local) = self.nodes.get_mut(office) {
            local.daemon = Some(daemon);
            local.addr = Some(addr);
        }
        Ok(())
    }

    /// Stop one node's daemon (its link goes down; its data stays).
    pub async fn stop(&mut self, office: &OfficeId) -> Result<()> {
        let daemon = self
            .nodes
            .get_mut(office)
            .ok_or_else(|| LocalNetworkError::UnknownNode(office.clone()))?
            .daemon
            .take();
        if let Some(daemon) = daemon {
            daemon.shutdown().await;
        }
        Ok(())
    }

    pub async fn stop_all(&mut self) {
        for office in self.order.clone().into_iter().rev() {
            let _ = self.stop(&office).await;
        }
    }

    /// Poll `check` on a node until it holds, or time out. (For the demo
    /// and tests that watch another process-like node; not a sleep as
    /// synchronisation: it returns as soon as the condition is true.)
    pub async fn wait_until(
        &self,
        office: &OfficeId,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&mut Node) -> bool,
    ) -> Result<()> {
        let dir = self.get(office)?.dir.clone();
        let start = Instant::now();
        loop {
            let mut node = Node::open(&dir)?;
            if check(&mut node) {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(LocalNetworkError::Timeout(
                    timeout,
                    format!("{what} at {office}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn save_config(node: &Node) -> Result<()> {
    let path = node.dir.config_file();
    node.config
        .save(&path)
        .map_err(|e| LocalNetworkError::Io(format!("writing {}", path.display()), e))
}

/// Node configuration helper for tests that build networks by hand.
pub fn config_of(dir: &Path) -> Result<NodeConfig> {
    Ok(NodeConfig::load(&dir.join("node.toml"))?)
}
