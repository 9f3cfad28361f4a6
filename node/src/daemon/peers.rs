//! Peers change live: `lienthong peer add/remove` rewrite node.toml, and
//! the daemon reads it again within [`DaemonOptions::config_poll`]. The
//! file's text is compared each time (not its mtime, whose granularity can
//! hide two writes in one second); an unreadable or invalid file is logged
//! and the peers in force are kept.
//!
//! On a change: the TLS pins are replaced (new handshakes follow at once),
//! a dial loop starts for each newly dialled peer, and an unpinned peer's
//! open connection is closed — its dial loop sees it is no longer wanted
//! and ends.
//!
//! [`DaemonOptions::config_poll`]: super::DaemonOptions::config_poll

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use lienthong_sync::protocol::PeerId;
use lienthong_sync::transport::identity::NodeId;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::{PeerSet, Shared, peer_loop, resolve};
use crate::config::{NodeConfig, PeerConfig};

/// The dial loops wanted, by peer: the configuration each dials, and its
/// generation (`Shared::dialling`).
#[derive(Default)]
struct Dialers {
    loops: HashMap<PeerId, PeerConfig>,
    next_generation: u64,
}

fn config_path(shared: &Shared) -> PathBuf {
    shared
        .config_path
        .clone()
        .unwrap_or_else(|| shared.dir.config_file())
}

/// Start a dial loop for every peer of `config` with an address, then
/// watch node.toml and apply changes until shutdown.
pub(crate) async fn peers_loop(shared: Arc<Shared>, config: NodeConfig) {
    let mut dialers = Dialers::default();
    let mut loops = JoinSet::new();
    start_dialers(&shared, &config, &mut dialers, &mut loops);
    let path = config_path(&shared);
    let mut last_text = std::fs::read_to_string(&path).ok();
    let mut directory = DirectoryWatch::new(&shared);
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(shared.options.config_poll) => {}
            _ = shutdown.changed() => break,
            Some(_) = loops.join_next(), if !loops.is_empty() => continue,
        }
        directory.look(&shared).await;
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(text) => text,
            Err(e) => {
                if last_text.is_some() {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read the node configuration; keeping the peers in force");
                }
                last_text = None;
                continue;
            }
        };
        if last_text.as_deref() == Some(text.as_str()) {
            continue;
        }
        last_text = Some(text.clone());
        let config = match NodeConfig::parse(&path, &text) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(error = %e, "the node configuration changed but is invalid; keeping the peers in force until it is fixed");
                continue;
            }
        };
        apply(&shared, &config, &mut dialers, &mut loops);
    }
    while loops.join_next().await.is_some() {}
}

fn start_dialers(
    shared: &Arc<Shared>,
    config: &NodeConfig,
    dialers: &mut Dialers,
    loops: &mut JoinSet<()>,
) {
    for peer in &config.peers {
        let key = *peer.node_id.as_bytes();
        if dialers.loops.contains_key(&key) {
            continue;
        }
        let Some(address) = &peer.address else {
            continue;
        };
        match resolve(address) {
            Ok(addr) => {
                dialers.next_generation += 1;
                let generation = dialers.next_generation;
                dialers.loops.insert(key, peer.clone());
                if let Ok(mut dialling) = shared.dialling.lock() {
                    dialling.insert(key, generation);
                }
                let span = tracing::info_span!("dial", to = %peer.office, %addr);
                loops.spawn(
                    peer_loop::dial_loop(shared.clone(), peer.clone(), addr, generation)
                        .instrument(span),
                );
            }
            Err(e) => {
                tracing::warn!(peer = %peer.office, %address, error = %e, "cannot resolve the peer's address; not dialling it (fix node.toml)");
            }
        }
    }
}

/// Make the running daemon match `config`'s peers.
fn apply(
    shared: &Arc<Shared>,
    config: &NodeConfig,
    dialers: &mut Dialers,
    loops: &mut JoinSet<()>,
) {
    let new = PeerSet::of(config);
    let old = match shared.peers.write() {
        Ok(mut peers) => std::mem::replace(&mut *peers, new.clone()),
        Err(_) => return,
    };
    if old == new
        && dialers
            .loops
            .values()
            .all(|p| config.peer(&p.node_id) == Some(p))
    {
        return;
    }
    shared
        .pinned
        .replace(config.peers.iter().map(|p| p.node_id));
    // A peer gone, or pinned again under another office: its session ends.
    for (key, office) in &old.offices {
        if new.offices.get(key) != Some(office) {
            tracing::info!(peer = %NodeId::from_bytes(*key).short(), %office, "unpinned: closing its connection");
            close(shared, key);
        }
    }
    for (key, office) in &new.offices {
        if !old.offices.contains_key(key) {
            tracing::info!(peer = %NodeId::from_bytes(*key).short(), %office, "pinned");
        }
    }
    // Dial loops whose peer is gone or changed: they end once they look
    // (`peer_loop::still_wanted`); they are woken to look now.
    dialers
        .loops
        .retain(|key, peer| config.peer(&NodeId::from_bytes(*key)) == Some(peer));
    if let Ok(mut dialling) = shared.dialling.lock() {
        dialling.retain(|key, _| dialers.loops.contains_key(key));
    }
    shared.peers_changed.notify_waiters();
    start_dialers(shared, config, dialers, loops);
}

/// The node directory in the network file (issue 8): when its entries
/// change (`lienthong directory` at the province, or the network document
/// received from it), every session ends and starts again, judging authors
/// and peers by the new entries. The file's text is compared first.
struct DirectoryWatch {
    text: Option<String>,
    entries: Option<Vec<lienthong_shared::directory::DirectoryEntry>>,
}

impl DirectoryWatch {
    fn new(shared: &Shared) -> Self {
        let text = std::fs::read_to_string(&shared.network_path).ok();
        let entries = text.as_deref().and_then(|t| entries_of(shared, t));
        DirectoryWatch { text, entries }
    }

    async fn look(&mut self, shared: &Shared) {
        let Ok(text) = tokio::fs::read_to_string(&shared.network_path).await else {
            return;
        };
        if self.text.as_deref() == Some(text.as_str()) {
            return;
        }
        let entries = entries_of(shared, &text);
        self.text = Some(text);
        if entries.is_none() || entries == self.entries {
            return;
        }
        self.entries = entries;
        // What was refused for want of an entry is offered again.
        let path = shared.dir.store_file();
        let now = shared.options.clock.now();
        let released = tokio::task::spawn_blocking(move || {
            crate::store::Store::open(&path)?.write(|w| w.release_directory_holds(now))
        })
        .await;
        match released {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(
                    peers = n,
                    "peers held for directory refusals are asked again"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not release the directory holds"),
            Err(e) => tracing::warn!(error = %e, "could not release the directory holds"),
        }
        let connections: Vec<quinn::Connection> = shared
            .connections
            .lock()
            .map(|mut c| c.drain().map(|(_, c)| c).collect())
            .unwrap_or_default();
        tracing::info!(
            sessions = connections.len(),
            "the node directory changed: every session starts again under it"
        );
        for connection in connections {
            connection.close(7u32.into(), b"the node directory changed; reconnecting");
        }
    }
}

fn entries_of(
    shared: &Shared,
    text: &str,
) -> Option<Vec<lienthong_shared::directory::DirectoryEntry>> {
    lienthong_shared::offices::NetworkConfig::parse(&shared.network_path, text)
        .map(|n| n.directory_entries())
        .ok()
}

fn close(shared: &Shared, peer: &PeerId) {
    let connection = shared
        .connections
        .lock()
        .ok()
        .and_then(|mut c| c.remove(peer));
    if let Some(connection) = connection {
        connection.close(4u32.into(), b"unpinned by the operator");
    }
}
