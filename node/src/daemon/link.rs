//! One sync session over one connection, with its bookkeeping: the store
//! and admission it runs on, link state for `status`, waking the other
//! sessions when documents arrive (relay), and applying configuration that
//! came down from the province.

use std::sync::Arc;

use chrono::Utc;
use lienthong_sync::protocol::{PeerId, SessionEvent};
use lienthong_sync::transport::driver::{Progress, Role, drive};
use lienthong_sync::transport::identity::NodeId;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::Shared;
use crate::replication::admission::{NodeAdmission, limit_has_lifted};
use crate::replication::authorship::attested::Directory;
use crate::replication::config_docs::{self, ConfigFile};
use crate::replication::sync_store::NodeSyncStore;
use crate::store::Store;

/// The close code of a session refused because the peer's directory
/// entry ended.
pub(crate) const ENDED_CODE: u32 = 6;

/// The directory a session judges authors by (issue 8): from the network
/// file as it is now (the province edits it with `lienthong directory`;
/// other nodes receive it as the network document), else the one the
/// daemon started with.
fn session_directory(
    path: &std::path::Path,
    started: &lienthong_shared::offices::NetworkConfig,
    own: (PeerId, lienthong_shared::OfficeId),
    peers: &std::collections::HashMap<PeerId, lienthong_shared::OfficeId>,
) -> Directory {
    match lienthong_shared::offices::NetworkConfig::load(path) {
        Ok(network) => Directory::new(&network, own, peers),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the network file for the node directory; using the one read at start");
            Directory::new(started, own, peers)
        }
    }
}

/// Why a session with a node whose every directory entry ended is refused,
/// and what the operators do.
pub(crate) fn ended_reason(
    peer: &PeerId,
    office: &lienthong_shared::OfficeId,
    until: chrono::DateTime<Utc>,
) -> String {
    format!(
        "node {} ({office}) is refused: its directory entry ended at {}; this node does not sync with it (the changes it wrote before stay valid). If its key was replaced, pin the new id (`lienthong peer remove --node-id OLD`, then `lienthong peer add … --node-id NEW`)",
        short(peer),
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// A QUIC close reason fits one packet: the reason cut to 900 bytes on a
/// character boundary.
fn close_reason(reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(900);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.as_bytes()[..end].to_vec()
}

/// How a session ended: it reached "in sync" at least once, or not.
pub(crate) struct LinkOutcome {
    pub synced: bool,
}

fn short(peer: &PeerId) -> String {
    NodeId::from_bytes(*peer).short().to_string()
}

async fn record_link(
    shared: &Shared,
    peer: PeerId,
    connected: bool,
    success: bool,
    error: Option<String>,
) {
    shared
        .record("the link state", move |w| {
            w.set_peer_link(&peer, connected, Utc::now(), success, error.as_deref())
        })
        .await;
}

/// Run one session; everything it logs carries the peer's office, node id
/// and role in a `link` span.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    connection: quinn::Connection,
    role: Role,
    peer: PeerId,
) -> LinkOutcome {
    let office = shared.peer_office(&peer);
    let Some(office) = office else {
        connection.close(1u32.into(), b"not a configured peer");
        return LinkOutcome { synced: false };
    };
    let span = tracing::info_span!("link", peer = %office, node = %short(&peer), role = ?role);
    serve_in_span(shared, connection, role, peer)
        .instrument(span)
        .await
}

async fn serve_in_span(
    shared: Arc<Shared>,
    connection: quinn::Connection,
    role: Role,
    peer: PeerId,
) -> LinkOutcome {
    let path = shared.dir.store_file();
    let network = shared.network.clone();
    let calendar = shared.calendar.clone();
    let peers = shared.peer_offices();
    let my_office = shared.office.clone();
    let limits = shared.limits;
    let clock = shared.options.clock.clone();
    let root = shared.dir.root().to_path_buf();
    let network_path = shared.network_path.clone();
    let opened = tokio::task::spawn_blocking(
        move || -> Result<(NodeSyncStore, NodeAdmission, Directory), crate::store::StoreError> {
            let store = Store::open_for_session(&path)?;
            let policy_store = Store::open_for_session(&path)?;
            // This node's id, for the directory of change authors (issue 8).
            let own = lienthong_sync::transport::identity::NodeIdentity::load(
                &crate::config::DataDir::new(&root).identity_dir(),
            )
            .map_err(|e| crate::store::StoreError::Invalid(format!("node identity: {e}")))?
            .node_id();
            let directory = session_directory(
                &network_path,
                &network,
                (*own.as_bytes(), my_office.clone()),
                &peers,
            );
            Ok((
                NodeSyncStore::new(store, network.clone(), calendar.clone(), peers.clone())
                    .with_policy(limits, clock.clone(), root.clone()),
                NodeAdmission::new(network, calendar, my_office, *own.as_bytes(), peers)
                    .with_directory(directory.clone())
                    .with_policy(limits, clock, policy_store, root),
                directory,
            ))
        },
    )
    .await;
    let (store, admission, directory) = match opened {
        Ok(Ok(parts)) => parts,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot open the store for a session");
            return LinkOutcome { synced: false };
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the store for a session");
            return LinkOutcome { synced: false };
        }
    };
    let now = shared.options.clock.now();
    if let Some((office, until)) = directory.ended(&peer, now) {
        let reason = ended_reason(&peer, office, until);
        tracing::warn!(%reason, "refused a session with a node whose directory entry ended");
        let mut refusals = Refusals {
            count: 1,
            last: reason.clone(),
            by_peer: 0,
        };
        refusals.record(&shared, peer).await;
        record_link(&shared, peer, false, false, Some(reason.clone())).await;
        connection.close(ENDED_CODE.into(), &close_reason(&reason));
        return LinkOutcome { synced: false };
    }
    tracing::info!(remote = %connection.remote_address(), "link up");
    shared.register(peer, &connection);
    record_link(&shared, peer, true, false, None).await;

    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
    let watcher = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut synced_once = false;
            let mut in_sync = false;
            let mut config_changed = false;
            let mut refusals = Refusals::default();
            while let Some(progress) = progress_rx.recv().await {
                match progress {
                    Progress::Event(SessionEvent::Received { doc }) => {
                        if ConfigFile::from_key(&doc.0).is_some() {
                            config_changed = true;
                        }
                    }
                    Progress::Event(SessionEvent::Committed {
                        documents,
                        checkpoint,
                    }) => {
                        if documents > 0 {
                            tracing::info!(documents, checkpoint, "stored changes from peer");
                            shared.wake.notify_waiters();
                        }
                    }
                    Progress::Event(SessionEvent::Refused {
                        doc,
                        reason,
                        by_peer,
                    }) => {
                        if by_peer {
                            tracing::warn!(%doc, %reason, "peer refused a document");
                            refusals.by_peer += 1;
                        } else {
                            tracing::warn!(%doc, %reason, "refused a document from peer");
                            refusals.count += 1;
                            refusals.last = reason;
                        }
                    }
                    Progress::Event(SessionEvent::BlobReceived { hash }) => {
                        tracing::info!(blob = %lienthong_shared::dossier::attachment::hex(&hash[..8]), "attachment received and verified");
                    }
                    Progress::Event(SessionEvent::BlobFailed { hash, reason }) => {
                        tracing::warn!(blob = %lienthong_shared::dossier::attachment::hex(&hash[..8]), %reason, "attachment transfer failed");
                    }
                    Progress::Event(SessionEvent::FeedReset { ours }) => {
                        tracing::warn!(ours, "a feed restarted (store replaced?); resyncing from the start");
                    }
                    Progress::Stats { synced, .. } => {
                        refusals.record(&shared, peer).await;
                        if synced && !in_sync {
                            if synced_once {
                                tracing::debug!("in sync");
                            } else {
                                tracing::info!("in sync");
                            }
                            synced_once = true;
                            record_link(&shared, peer, true, true, None).await;
                            if shared.catches_up_from(&peer) {
                                lift_code_fence(&shared).await;
                            }
                        }
                        in_sync = synced;
                    }
                }
                if config_changed && in_sync {
                    config_changed = false;
                    apply_config(&shared).await;
                }
            }
            if config_changed {
                apply_config(&shared).await;
            }
            refusals.record(&shared, peer).await;
            synced_once
        }.instrument(tracing::Span::current()))
    };
    let (traffic_stop, stopped) = tokio::sync::oneshot::channel();
    // Aborted with the session too: it holds the connection (and so the
    // endpoint's port) as long as it runs.
    let mut traffic = AbortOnDrop(tokio::spawn(
        count_traffic(shared.clone(), peer, connection.clone(), stopped)
            .instrument(tracing::Span::current()),
    ));
    // Ends with the session, also when a stopping daemon abandons the
    // session's task: left running, it would hold the connection and the
    // endpoint (its port) for good.
    let lift_watch = AbortOnDrop(tokio::spawn(
        close_when_limit_lifts(shared.clone(), peer, connection.clone())
            .instrument(tracing::Span::current()),
    ));
    let driven = drive(
        connection.clone(),
        role,
        peer,
        store,
        admission,
        shared.options.driver.clone(),
        shared.wake.clone(),
        shared.shutdown.clone(),
        Some(progress_tx),
    )
    .await;
    drop(lift_watch);
    let _ = traffic_stop.send(());
    let _ = (&mut traffic.0).await;
    shared.unregister(&peer, &connection);
    let synced = watcher.await.unwrap_or(false) || driven.synced;
    let error = driven.result.err().map(|e| e.to_string());
    connection.close(0u32.into(), b"session over");
    match &error {
        Some(e) => tracing::info!(error = %e, "link down"),
        None => tracing::info!("link closed"),
    }
    record_link(&shared, peer, false, false, error).await;
    LinkOutcome { synced }
}

/// A task aborted when this handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// In sync with the parent: the node has caught up after a restore or a
/// reinstall, so its dossier codes come from the counters again.
async fn lift_code_fence(shared: &Shared) {
    let path = shared.dir.store_file();
    let lifted =
        tokio::task::spawn_blocking(move || Store::open(&path)?.write(|w| w.lift_code_fence()))
            .await;
    match lifted {
        Ok(Ok(true)) => {
            tracing::info!("caught up with the parent: dossier codes come from the counters again")
        }
        Ok(Ok(false)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not lift the code fence"),
        Err(e) => tracing::warn!(error = %e, "could not lift the code fence"),
    }
}

/// While the peer is held at a limit (its refused documents wait behind a
/// held checkpoint), look now and then whether the limit has lifted — a new
/// day, disk space freed — and if so end the session: the next one starts
/// from the held checkpoint, so the peer offers those documents again. A
/// link may stay up for days; without this they would wait for it to drop.
async fn close_when_limit_lifts(shared: Arc<Shared>, peer: PeerId, connection: quinn::Connection) {
    loop {
        tokio::time::sleep(shared.options.limit_check).await;
        let path = shared.dir.store_file();
        let root = shared.dir.root().to_path_buf();
        let limits = shared.limits;
        let now = shared.options.clock.now();
        let lifted = tokio::task::spawn_blocking(move || -> Option<bool> {
            let mut store = Store::open(&path).ok()?;
            let limit = store.read_now(|r| r.peer_limit(&peer)).ok()??;
            if limit.lifted_at.is_some() {
                return Some(false);
            }
            Some(limit_has_lifted(&limit, now, &limits, Some(&root)))
        })
        .await;
        if let Ok(Some(true)) = lifted {
            tracing::info!(
                "a limit on this peer lifted; reconnecting so it offers again what was refused"
            );
            connection.close(0u32.into(), b"limit lifted: reconnect to resume");
            return;
        }
    }
}

/// How often a link's traffic is added to the store's counters.
const TRAFFIC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Add the connection's bytes on the wire to the peer's counters
/// (`peer_traffic`, read by `/metrics` in another process) every
/// [`TRAFFIC_INTERVAL`] and once more when told the session is over.
async fn count_traffic(
    shared: Arc<Shared>,
    peer: PeerId,
    connection: quinn::Connection,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let (mut sent, mut received) = (0u64, 0u64);
    loop {
        let last = tokio::select! {
            _ = tokio::time::sleep(TRAFFIC_INTERVAL) => false,
            _ = &mut stopped => true,
        };
        let stats = connection.stats();
        let (tx, rx) = (stats.udp_tx.bytes, stats.udp_rx.bytes);
        let (more_sent, more_received) = (tx.saturating_sub(sent), rx.saturating_sub(received));
        (sent, received) = (tx.max(sent), rx.max(received));
        if more_sent + more_received > 0 {
            shared
                .record("the link's traffic", move |w| {
                    w.add_peer_traffic(&peer, more_sent, more_received, 0)
                })
                .await;
        }
        if last {
            return;
        }
    }
}

/// Refusals of the peer's documents not yet written for `status`, and of
/// ours by the peer not yet counted for the metrics.
#[derive(Default)]
struct Refusals {
    count: u64,
    last: String,
    by_peer: u64,
}

impl Refusals {
    async fn record(&mut self, shared: &Shared, peer: PeerId) {
        let by_peer = std::mem::take(&mut self.by_peer);
        if by_peer > 0 {
            shared
                .record("refusals by the peer", move |w| {
                    w.add_peer_traffic(&peer, 0, 0, by_peer)
                })
                .await;
        }
        if self.count == 0 {
            return;
        }
        let (count, last) = (
            std::mem::take(&mut self.count),
            std::mem::take(&mut self.last),
        );
        let now = shared.options.clock.now();
        shared
            .record("refusals", move |w| {
                w.add_refusals(&peer, count, &last, now)
            })
            .await;
    }
}

async fn apply_config(shared: &Arc<Shared>) {
    let shared = shared.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<ConfigFile>, String> {
        let mut node = shared.open_node().map_err(|e| e.to_string())?;
        config_docs::apply_received(&mut node).map_err(|e| e.to_string())
    })
    .await;
    match result {
        Ok(Ok(files)) if !files.is_empty() => {
            tracing::info!(
                ?files,
                "configuration updated from the province (restart the daemon to use the new office tree)"
            );
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "could not apply configuration from the province"),
        _ => {}
    }
}
