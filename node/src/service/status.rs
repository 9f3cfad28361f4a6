//! This node and each peer link, as `lienthong status` prints it and the
//! console's sync page shows it: link state, last sync, changes and
//! attachment bytes waiting each way, refusals with their reasons, limits,
//! transfers in progress, quarantined documents. One computation, two faces.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::daemon::{HEARTBEAT_INTERVAL, daemon_heartbeat};
use crate::node::Node;
use crate::replication::admission::{free_disk_bytes, local_day};
use crate::store::StoreError;
use crate::store::limits::{PeerDay, PeerLimit};
use crate::store::quarantine::Quarantined;

#[derive(Serialize)]
pub struct PeerStatus {
    pub role: String,
    pub office: String,
    pub node_id: String,
    pub address: Option<String>,
    pub connected: bool,
    pub last_contact: Option<chrono::DateTime<Utc>>,
    pub last_success: Option<chrono::DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<Utc>>,
    /// Changed documents in the peer's scope it has not confirmed.
    pub waiting_to_send: u64,
    /// Changes the peer announced beyond what is held here (an upper bound:
    /// some may be outside this node's scope).
    pub waiting_to_receive: u64,
    pub incoming_checkpoint: i64,
    pub outgoing_checkpoint: i64,
    /// Attachment bytes held here, in the peer's scope, not known to be there.
    pub attachment_bytes_to_send: u64,
    /// Attachment bytes wanted here that this peer can supply: it is known
    /// to hold them, or may be asked and has not said it lacks them. Bytes
    /// a peer said it does not hold are not counted under it (they show
    /// under the peers that have them).
    pub attachment_bytes_to_receive: u64,
    /// Of those, the bytes of attachments the peer is known to hold.
    pub attachment_bytes_held_there: u64,
    /// Documents from the peer refused here (scope, validity, limits), and the last reason.
    pub refused: u64,
    pub last_refusal: Option<String>,
    pub last_refusal_at: Option<chrono::DateTime<Utc>>,
    /// What the peer sent today (local day), counted against its quotas.
    pub today: PeerDay,
    /// The limit the peer last ran into (`lifted_at` empty: still in force).
    pub limit: Option<PeerLimit>,
}

#[derive(Serialize)]
pub struct Disk {
    pub free_bytes: Option<u64>,
    pub floor_bytes: u64,
    /// Under the floor: nothing is accepted from peers.
    pub under_floor: bool,
}

#[derive(Serialize)]
pub struct Transfer {
    pub attachment: String,
    pub received_bytes: u64,
    pub size: u64,
    pub percent: f64,
}

#[derive(Serialize)]
pub struct NodeStatus {
    pub node_id: String,
    pub office: String,
    pub office_name: String,
    pub listen: String,
    pub daemon_running: bool,
    pub daemon_pid: Option<i64>,
    pub feed_seq: i64,
    pub dossiers: u64,
    pub peers: Vec<PeerStatus>,
    /// Attachments partly received.
    pub transfers: Vec<Transfer>,
    pub disk: Disk,
    /// Documents set aside: kept, never sent on.
    pub quarantined: Vec<Quarantined>,
}

/// The node's status at `now` (the daemon counts as running if its
/// heartbeat is younger than three intervals).
pub fn node_status(node: &mut Node, now: DateTime<Utc>) -> Result<NodeStatus, StoreError> {
    let heartbeat = daemon_heartbeat(&node.store);
    let running = heartbeat
        .is_some_and(|(at, _)| (now - at).to_std().unwrap_or_default() < HEARTBEAT_INTERVAL * 3);
    let peers_config = node.config.peers.clone();
    let max_attachment = node.config.limits.max_attachment_bytes;
    let (today, _) = local_day(&node.calendar, now);
    let (feed_seq, dossiers, peers, transfers, quarantined) =
        node.store.read(|r| -> Result<_, StoreError> {
            let feed_seq = r.last_seq()?;
            let dossiers = r.document_count(crate::store::documents::DocKind::Dossier)?;
            let mut peers = Vec::new();
            for p in &peers_config {
                let row = r.peer(p.node_id.as_bytes())?;
                let waiting_to_send = r.feed_count_for_node(p.office.as_str(), row.outgoing)?;
                let blobs =
                    r.blob_bytes_waiting(p.node_id.as_bytes(), p.office.as_str(), max_attachment)?;
                let day = r.peer_day(p.node_id.as_bytes(), today)?;
                let limit = r.peer_limit(p.node_id.as_bytes())?;
                peers.push(PeerStatus {
                    role: p.role.to_string(),
                    office: p.office.to_string(),
                    node_id: p.node_id.to_string(),
                    address: p.address.clone(),
                    connected: running && row.connected,
                    last_contact: row.last_contact,
                    last_success: row.last_success,
                    last_error: row.last_error.clone(),
                    last_error_at: row.last_error_at,
                    waiting_to_send,
                    waiting_to_receive: (row.peer_last_seq - row.incoming).max(0) as u64,
                    incoming_checkpoint: row.incoming,
                    outgoing_checkpoint: row.outgoing,
                    attachment_bytes_to_send: blobs.to_send,
                    attachment_bytes_to_receive: blobs.to_receive(),
                    attachment_bytes_held_there: blobs.to_receive_held,
                    refused: row.refused,
                    last_refusal: row.last_refusal.clone(),
                    last_refusal_at: row.last_refusal_at,
                    today: day,
                    limit,
                });
            }
            let transfers = r
                .blobs_in_progress()?
                .into_iter()
                .map(|(hash, stored, size)| Transfer {
                    attachment: lienthong_shared::dossier::attachment::hex(&hash),
                    received_bytes: stored,
                    size,
                    percent: if size == 0 {
                        100.0
                    } else {
                        (stored as f64 * 1000.0 / size as f64).round() / 10.0
                    },
                })
                .collect();
            let quarantined = r.quarantine_list()?;
            Ok((feed_seq, dossiers, peers, transfers, quarantined))
        })?;
    let status = NodeStatus {
        node_id: node.node_id().to_string(),
        office: node.office().to_string(),
        office_name: node
            .network
            .offices
            .get(node.office())
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        listen: node.config.listen.to_string(),
        daemon_running: running,
        daemon_pid: heartbeat.filter(|_| running).map(|(_, pid)| pid),
        feed_seq,
        dossiers,
        peers,
        transfers,
        disk: {
            let free_bytes = free_disk_bytes(node.dir.root());
            let floor_bytes = node.config.limits.min_free_disk_bytes;
            Disk {
                free_bytes,
                floor_bytes,
                under_floor: free_bytes.is_some_and(|f| f < floor_bytes),
            }
        },
        quarantined,
    };
    Ok(status)
}

/// Bytes for people: `0`, `512 B`, `1.5 KiB`, `3.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0 => "0".into(),
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}
