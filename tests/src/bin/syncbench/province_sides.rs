//! The two kinds of process `syncbench province` runs: the province
//! (`province-serve`: one listener, a session and a store connection per
//! peer, as the daemon has) and the peers (`province-peers`: many communes
//! in one process, one endpoint each, real QUIC over loopback, pinned
//! identities).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lienthong::config::DataDir;
use lienthong::node::Node;
use lienthong::replication::sync_store::NodeSyncStore;
use lienthong::store::Store;
use lienthong_shared::OfficeId;
use lienthong_sync::protocol::AdmitAll;
use lienthong_sync::transport::driver::{DriverConfig, Role, drive};
use lienthong_sync::transport::endpoint::Endpoint;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_sync::transport::tls::{PinnedPeers, default_transport_config, peer_node_id};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::province_nodes::{PROVINCE, province_id, read_peers, unix_ms};

// ── The province process ────────────────────────────────────────────────────

/// `province-serve`: the province node's sessions, one per connecting peer
/// (each with its own store connection, as the daemon's links), on `listen`.
/// Prints `LISTEN <addr> <unix ms>` once listening; serves until stdin closes.
pub(crate) async fn serve_province(
    node_dir: &Path,
    cache: &Path,
    listen: SocketAddr,
) -> Result<()> {
    let node = Node::open(node_dir)?;
    let (network, calendar) = (node.network.clone(), node.calendar.clone());
    drop(node);
    let store_path = DataDir::new(node_dir).store_file();
    let identity = NodeIdentity::load(&cache.join("ids").join("province"))?;
    let mut offices = HashMap::new();
    for peer in read_peers(cache)? {
        let id: NodeId = peer
            .id
            .parse()
            .map_err(|e| anyhow::anyhow!("peers.json: {e:?}"))?;
        offices.insert(id, peer.office.parse::<OfficeId>()?);
    }
    let endpoint = Endpoint::bind(
        listen,
        &identity,
        PinnedPeers::new(offices.keys().copied()),
        Arc::new(default_transport_config()),
    )?;
    println!("LISTEN {} {}", endpoint.local_addr()?, unix_ms());
    std::io::stdout().flush()?;
    let (stop_tx, mut stop) = watch::channel(false);
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        let _ = stop_tx.send(true);
    });
    let offices = Arc::new(offices);
    loop {
        let incoming = tokio::select! {
            incoming = endpoint.accept() => incoming,
            _ = stop.changed() => break,
        };
        let Some(incoming) = incoming else { break };
        let (offices, network, calendar, store_path) = (
            offices.clone(),
            network.clone(),
            calendar.clone(),
            store_path.clone(),
        );
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let Ok(connection) = incoming.await else {
                return;
            };
            let Ok(peer) = peer_node_id(&connection) else {
                return;
            };
            let Some(office) = offices.get(&peer).cloned() else {
                return;
            };
            // As the daemon opens a session's store (`daemon/link.rs`).
            let opened =
                tokio::task::spawn_blocking(move || Store::open_for_session(&store_path)).await;
            let Ok(Ok(store)) = opened else {
                connection.close(1u32.into(), b"store");
                return;
            };
            let peer = *peer.as_bytes();
            let store = NodeSyncStore::new(
                store,
                network,
                calendar,
                [(peer, office)].into_iter().collect(),
            );
            let _ = drive(
                connection.clone(),
                Role::Listener,
                peer,
                store,
                AdmitAll,
                DriverConfig::default(),
                Arc::new(Notify::new()),
                shutdown,
                None,
            )
            .await;
            connection.close(0u32.into(), b"done");
        });
    }
    endpoint.close("stop");
    Ok(())
}

// ── The peers process ───────────────────────────────────────────────────────

/// One peer's session to in sync, as `province-peers` reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PeerRun {
    pub(crate) peer: usize,
    pub(crate) office: String,
    /// Wall clock (unix ms) when it first dialled and when it knew it was in sync.
    pub(crate) dialled_ms: u64,
    pub(crate) synced_ms: u64,
    pub(crate) synced: bool,
    pub(crate) attempts: u64,
    pub(crate) udp_tx: u64,
    pub(crate) udp_rx: u64,
    /// Documents this peer offered / received and stored.
    pub(crate) offered: u64,
    pub(crate) received: u64,
}

/// `province-peers`: binds an endpoint for each of `peers` (indices into
/// peers.json) with its store in `stores/<k>.db` (created empty if absent),
/// prints `READY`, then for each stdin line `GO <addr> [k …]` runs those
/// peers (all, without a list) at once, each until a session ends in sync,
/// and prints one JSON line: the list of [`PeerRun`]s.
pub(crate) async fn serve_peers(
    cache: &Path,
    stores: &Path,
    peers: &[usize],
    deadline: Duration,
) -> Result<()> {
    let entries = read_peers(cache)?;
    let province = province_id(cache)?;
    let node = read_network(cache)?;
    let transport = Arc::new(default_transport_config());
    std::fs::create_dir_all(stores)?;
    let mut sides = HashMap::new();
    for &k in peers {
        let entry = entries
            .get(k)
            .with_context(|| format!("peer {k}: not in peers.json"))?;
        let identity = NodeIdentity::load(&cache.join("ids").join(k.to_string()))?;
        let endpoint = Endpoint::bind(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            &identity,
            PinnedPeers::new([province]),
            transport.clone(),
        )?;
        let store = stores.join(format!("{k}.db"));
        if !store.exists() {
            Store::create(&store)?;
        }
        sides.insert(k, (endpoint, store, entry.office.clone()));
    }
    let sides = Arc::new(sides);
    println!("READY");
    std::io::stdout().flush()?;
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        let mut words = line.split_whitespace();
        if words.next() != Some("GO") {
            bail!("province-peers: expected `GO <addr> [k …]`, got {line:?}");
        }
        let addr: SocketAddr = words.next().context("GO without an address")?.parse()?;
        let chosen: Vec<usize> = words.map(str::parse).collect::<Result<_, _>>()?;
        let chosen = if chosen.is_empty() {
            peers.to_vec()
        } else {
            chosen
        };
        let mut tasks = Vec::new();
        for k in chosen {
            let (sides, network) = (sides.clone(), node.clone());
            tasks.push(tokio::spawn(async move {
                let (endpoint, store, office) = sides
                    .get(&k)
                    .context("GO names a peer this process does not run")?;
                run_peer(
                    k, endpoint, store, office, province, addr, network, deadline,
                )
                .await
            }));
        }
        let mut runs = Vec::new();
        for task in tasks {
            runs.push(task.await??);
        }
        println!("{}", serde_json::to_string(&runs)?);
        std::io::stdout().flush()?;
    }
    Ok(())
}

fn read_network(cache: &Path) -> Result<lienthong_shared::offices::NetworkConfig> {
    let text = std::fs::read_to_string(cache.join("network.toml"))?;
    Ok(lienthong_shared::offices::NetworkConfig::parse(
        Path::new("network.toml"),
        &text,
    )?)
}

#[allow(clippy::too_many_arguments)]
async fn run_peer(
    k: usize,
    endpoint: &Endpoint,
    store: &Path,
    office: &str,
    province: NodeId,
    addr: SocketAddr,
    network: lienthong_shared::offices::NetworkConfig,
    deadline: Duration,
) -> Result<PeerRun> {
    let calendar = lienthong_shared::calendar::WorkingCalendar::builtin();
    let mut run = PeerRun {
        peer: k,
        office: office.to_string(),
        dialled_ms: unix_ms(),
        ..PeerRun::default()
    };
    let started = Instant::now();
    let peer = *province.as_bytes();
    let (_keep, shutdown) = watch::channel(false);
    let config = DriverConfig {
        exit_when_synced: true,
        ..DriverConfig::default()
    };
    while started.elapsed() < deadline {
        run.attempts += 1;
        let connection = match endpoint.connect(addr, &province).await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let path = store.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || Store::open(&path)).await??;
        let sync_store = NodeSyncStore::new(
            opened,
            network.clone(),
            calendar.clone(),
            [(peer, PROVINCE.parse::<OfficeId>()?)]
                .into_iter()
                .collect(),
        );
        let driven = drive(
            connection.clone(),
            Role::Dialer,
            peer,
            sync_store,
            AdmitAll,
            config.clone(),
            Arc::new(Notify::new()),
            shutdown.clone(),
            None,
        )
        .await;
        // When the driver knew it was in sync (the close after it is not waited for).
        let synced_ms = driven.synced_at.map_or_else(unix_ms, |at| {
            unix_ms().saturating_sub(at.elapsed().as_millis() as u64)
        });
        connection.close(0u32.into(), b"done");
        // Count the CONNECTION_CLOSE too (this peer's endpoint is its own).
        let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
        let stats = connection.stats();
        run.udp_tx += stats.udp_tx.bytes;
        run.udp_rx += stats.udp_rx.bytes;
        run.offered += driven.stats.offered;
        run.received += driven.stats.received;
        if driven.synced {
            run.synced = true;
            run.synced_ms = synced_ms;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(run)
}
