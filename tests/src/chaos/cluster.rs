//! A network of in-process nodes whose child → parent links each go through
//! a [`LinkEmulator`]: the child dials the emulator, the emulator forwards to
//! the parent's real address.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use lienthong::daemon::{DaemonError, DaemonOptions};
use lienthong::local_network::{LocalNetwork, LocalNetworkError};
use lienthong::node::Node;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::transport::endpoint::EndpointError;

use super::view::{self, FullView, QuickView};
use super::{office, wait_for};
use crate::linkemu::{Direction, LinkConfig, LinkEmulator, LinkStats};

/// The link configuration of each direction for a child → parent link.
pub type LinkSpec = (LinkConfig, LinkConfig);

pub struct Cluster {
    pub net: LocalNetwork,
    /// Keeps the data directories until the cluster is dropped.
    _root: tempfile::TempDir,
    pub network: NetworkConfig,
    /// Node offices, parents before children.
    pub members: Vec<OfficeId>,
    /// Each member's parent node, if it has one here.
    pub parents: BTreeMap<OfficeId, OfficeId>,
    /// The emulator on each child's link to its parent, by child office.
    pub links: BTreeMap<OfficeId, LinkEmulator>,
    running: BTreeSet<OfficeId>,
}

/// Quicker redials than a production node's (1 s to 60 s): links in these
/// tests come back within seconds and the tests should not wait a minute.
pub fn test_options() -> DaemonOptions {
    DaemonOptions {
        backoff: (Duration::from_millis(100), Duration::from_secs(1)),
        ..DaemonOptions::default()
    }
}

/// A seed per link, so two links of one cluster do not lose the same
/// datagrams.
fn link_seed(seed: u64, child: &OfficeId) -> u64 {
    child
        .as_str()
        .bytes()
        .fold(seed ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

impl Cluster {
    /// Initialise a node per office, start them parents first, each child
    /// dialling its parent through a new emulator configured by `link`.
    pub async fn start(
        offices: &[&str],
        seed: u64,
        link: impl Fn(&OfficeId) -> LinkSpec,
    ) -> Cluster {
        let root = tempfile::tempdir().expect("a temporary directory");
        let ids: Vec<OfficeId> = offices.iter().map(|o| office(o)).collect();
        let mut net = LocalNetwork::init(
            root.path(),
            builtin::QUANG_NAM_3TIER,
            builtin::CATALOGUE,
            &ids,
        )
        .expect("initialise the nodes");
        net.set_options(test_options());
        let network = builtin::quang_nam_3tier();
        let mut members = ids.clone();
        members.sort_by_key(|o| network.offices.depth(o).unwrap_or(usize::MAX));
        let parents: BTreeMap<OfficeId, OfficeId> = members
            .iter()
            .filter_map(|o| {
                network
                    .offices
                    .ancestors(o)
                    .into_iter()
                    .map(|a| a.id.clone())
                    .find(|a| ids.contains(a))
                    .map(|p| (o.clone(), p))
            })
            .collect();
        let mut cluster = Cluster {
            net,
            _root: root,
            network,
            members: members.clone(),
            parents,
            links: BTreeMap::new(),
            running: BTreeSet::new(),
        };
        for member in &members {
            if let Some(parent) = cluster.parents.get(member).cloned() {
                let upstream = cluster
                    .net
                    .get(&parent)
                    .expect("parent node")
                    .addr
                    .expect("parents start first");
                let (up, down) = link(member);
                let emulator = LinkEmulator::start(
                    "127.0.0.1:0".parse().expect("loopback"),
                    upstream,
                    up,
                    down,
                    link_seed(seed, member),
                )
                .await
                .expect("start a link emulator");
                cluster
                    .net
                    .dial_through(member, &parent, emulator.local_addr());
                cluster.links.insert(member.clone(), emulator);
            }
            cluster.start_node(member).await;
        }
        cluster
    }

    pub fn dir(&self, office: &OfficeId) -> PathBuf {
        self.net.get(office).expect("a member").dir.clone()
    }

    pub fn open(&self, office: &OfficeId) -> Node {
        self.net.open(office).expect("open a node")
    }

    pub fn is_running(&self, office: &OfficeId) -> bool {
        self.running.contains(office)
    }

    /// Start a node's daemon on its address. Right after a stop in this
    /// process, quinn may not have released the port yet (its endpoint
    /// driver closes the socket on its next poll): try again until it has.
    pub async fn start_node(&mut self, office: &OfficeId) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.net.start(office).await {
                Ok(()) => break,
                Err(LocalNetworkError::Daemon(DaemonError::Endpoint(EndpointError::Bind {
                    source,
                    ..
                }))) if source.kind() == std::io::ErrorKind::AddrInUse
                    && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("start {office}: {e}"),
            }
        }
        self.running.insert(office.clone());
    }

    /// Stop a node's daemon (its officers keep working on its store).
    pub async fn stop_node(&mut self, office: &OfficeId) {
        self.net.stop(office).await.expect("stop a daemon");
        self.running.remove(office);
    }

    pub fn link(&self, child: &OfficeId) -> &LinkEmulator {
        self.links
            .get(child)
            .unwrap_or_else(|| panic!("no link from {child} to a parent"))
    }

    pub fn set_cut(&self, child: &OfficeId, cut: bool) {
        self.link(child).set_cut(cut);
    }

    /// Replace both directions' configuration of a link, keeping its cut flag.
    pub fn set_link(&self, child: &OfficeId, (up, down): LinkSpec) {
        let link = self.link(child);
        let cut = link.config(Direction::Up).cut;
        link.set_config(Direction::Up, up.with_cut(cut));
        link.set_config(Direction::Down, down.with_cut(cut));
    }

    pub fn is_cut(&self, child: &OfficeId) -> bool {
        self.link(child).config(Direction::Up).cut
    }

    /// Counters of every link, by child office.
    pub fn link_stats(&self) -> BTreeMap<OfficeId, LinkStats> {
        self.links
            .iter()
            .map(|(o, l)| (o.clone(), l.stats()))
            .collect()
    }

    /// Groups of running members connected by uncut links.
    pub fn components(&self) -> Vec<BTreeSet<OfficeId>> {
        let mut groups: Vec<BTreeSet<OfficeId>> = Vec::new();
        for member in &self.members {
            if !self.running.contains(member) {
                continue;
            }
            let joined_to = self
                .parents
                .get(member)
                .filter(|parent| self.running.contains(*parent) && !self.is_cut(member));
            match joined_to.and_then(|p| groups.iter_mut().find(|g| g.contains(p))) {
                Some(group) => {
                    group.insert(member.clone());
                }
                None => groups.push([member.clone()].into()),
            }
        }
        groups
    }

    pub fn quick_views(
        &self,
        offices: &BTreeSet<OfficeId>,
    ) -> Result<BTreeMap<OfficeId, QuickView>, String> {
        offices
            .iter()
            .map(|o| Ok((o.clone(), view::quick(&self.dir(o))?)))
            .collect()
    }

    pub fn full_views(&self) -> BTreeMap<OfficeId, FullView> {
        self.members
            .iter()
            .map(|o| {
                (
                    o.clone(),
                    view::full(&self.dir(o)).expect("read a node's dossiers"),
                )
            })
            .collect()
    }

    /// Wait until the nodes of every group have converged (see
    /// [`view::divergence`]).
    pub async fn wait_converged(
        &self,
        groups: &[BTreeSet<OfficeId>],
        timeout: Duration,
    ) -> Result<(), String> {
        wait_for("convergence", timeout, Duration::from_millis(100), || {
            for group in groups {
                if group.len() < 2 {
                    continue;
                }
                let views = self.quick_views(group)?;
                if let Some(why) = view::divergence(&views) {
                    return Err(why);
                }
            }
            Ok(())
        })
        .await
    }

    /// Every member converged with every other (all must be running and
    /// linked).
    pub async fn wait_all_converged(&self, timeout: Duration) -> Result<(), String> {
        let all: BTreeSet<OfficeId> = self.members.iter().cloned().collect();
        self.wait_converged(&[all], timeout).await
    }

    /// Wait until `office` holds the dossier `code` and `check` holds for
    /// its index row there.
    pub async fn wait_row(
        &self,
        office: &OfficeId,
        code: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&lienthong::store::index::IndexRow) -> bool,
    ) {
        let dir = self.dir(office);
        wait_for(
            &format!("{what} ({code} at {office})"),
            timeout,
            Duration::from_millis(50),
            || {
                let mut node = Node::open(&dir).map_err(|e| e.to_string())?;
                match lienthong::officer::resolve(&mut node, code) {
                    Ok(row) if check(&row) => Ok(()),
                    Ok(row) => Err(format!(
                        "status {:?}, holder {:?}, transfer to {:?}",
                        row.status, row.holder, row.transfer_to
                    )),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }

    pub async fn shutdown(mut self) {
        self.net.stop_all().await;
        for (_, link) in std::mem::take(&mut self.links) {
            link.shutdown().await;
        }
    }
}
