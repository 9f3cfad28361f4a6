//! `lienthong status`: this node and each peer link.

use anyhow::Result;
use chrono::Utc;
use clap::Args;
use serde::Serialize;

use super::args::DataArgs;
use super::render;
use crate::daemon::{HEARTBEAT_INTERVAL, daemon_heartbeat};
use crate::i18n::{Lang, Locale};
use crate::node::Node;
use crate::replication::admission::{free_disk_bytes, local_day};
use crate::store::limits::{PeerDay, PeerLimit};
use crate::store::quarantine::Quarantined;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct PeerStatus {
    role: String,
    office: String,
    node_id: String,
    address: Option<String>,
    connected: bool,
    last_contact: Option<chrono::DateTime<Utc>>,
    last_success: Option<chrono::DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<chrono::DateTime<Utc>>,
    /// Changed documents in the peer's scope it has not confirmed.
    waiting_to_send: u64,
    /// Changes the peer announced beyond what is held here (an upper bound:
    /// some may be outside this node's scope).
    waiting_to_receive: u64,
    incoming_checkpoint: i64,
    outgoing_checkpoint: i64,
    /// Attachment bytes held here, in the peer's scope, not known to be there.
    attachment_bytes_to_send: u64,
    /// Attachment bytes in this node's dossiers shared with the peer, not yet here.
    attachment_bytes_to_receive: u64,
    /// Documents from the peer refused here (scope, validity, limits), and the last reason.
    refused: u64,
    last_refusal: Option<String>,
    last_refusal_at: Option<chrono::DateTime<Utc>>,
    /// What the peer sent today (local day), counted against its quotas.
    today: PeerDay,
    /// The limit the peer last ran into (`lifted_at` empty: still in force).
    limit: Option<PeerLimit>,
}

#[derive(Serialize)]
struct Disk {
    free_bytes: Option<u64>,
    floor_bytes: u64,
    /// Under the floor: nothing is accepted from peers.
    under_floor: bool,
}

#[derive(Serialize)]
struct Transfer {
    attachment: String,
    received_bytes: u64,
    size: u64,
    percent: f64,
}

#[derive(Serialize)]
struct Status {
    node_id: String,
    office: String,
    office_name: String,
    listen: String,
    daemon_running: bool,
    daemon_pid: Option<i64>,
    feed_seq: i64,
    dossiers: u64,
    peers: Vec<PeerStatus>,
    /// Attachments partly received.
    transfers: Vec<Transfer>,
    disk: Disk,
    /// Documents set aside: kept, never sent on.
    quarantined: Vec<Quarantined>,
}

pub fn status(args: &StatusArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let heartbeat = daemon_heartbeat(&node.store);
    let running = heartbeat.is_some_and(|(at, _)| {
        (Utc::now() - at).to_std().unwrap_or_default() < HEARTBEAT_INTERVAL * 3
    });
    let peers_config = node.config.peers.clone();
    let (today, _) = local_day(&node.calendar, Utc::now());
    let (feed_seq, dossiers, peers, transfers, quarantined) =
        node.store
            .read(|r| -> Result<_, crate::store::StoreError> {
                let feed_seq = r.last_seq()?;
                let dossiers = r.document_count(crate::store::documents::DocKind::Dossier)?;
                let mut peers = Vec::new();
                for p in &peers_config {
                    let row = r.peer(p.node_id.as_bytes())?;
                    let waiting_to_send = r.feed_count_for_node(p.office.as_str(), row.outgoing)?;
                    let (attachment_bytes_to_send, attachment_bytes_to_receive) =
                        r.blob_bytes_waiting(p.node_id.as_bytes(), p.office.as_str())?;
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
                        attachment_bytes_to_send,
                        attachment_bytes_to_receive,
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
    let status = Status {
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
    if args.json {
        return render::print_json(&status);
    }
    let l = node.locale(Lang::from_env());
    println!("Node    {}", status.node_id);
    println!("Office  {} ({})", status.office, status.office_name);
    println!(
        "Daemon  {}",
        if status.daemon_running {
            format!(
                "running (pid {}), listening on {}",
                status.daemon_pid.unwrap_or(0),
                status.listen
            )
        } else {
            "not running (start it with `lienthong run --data DIR`)".into()
        }
    );
    println!(
        "Store   {} dossiers, feed at {}",
        status.dossiers, status.feed_seq
    );
    println!(
        "Disk    {} free, floor {}{}",
        status.disk.free_bytes.map_or("?".into(), human_bytes),
        human_bytes(status.disk.floor_bytes),
        if status.disk.under_floor {
            " — UNDER THE FLOOR: nothing is accepted from peers until space is freed"
        } else {
            ""
        }
    );
    print_quarantine(&status.quarantined, &l);
    if status.peers.is_empty() {
        println!("Peers   none pinned (`lienthong peer add` pins one)");
        return Ok(());
    }
    let mut table = render::table(&[
        "peer",
        "role",
        "link",
        "last sync",
        "to send",
        "to receive",
        "attachments out/in",
        "last error",
    ]);
    for p in &status.peers {
        table.add_row(vec![
            format!("{}\n{}", p.office, &p.node_id[..p.node_id.len().min(13)]),
            p.role.clone(),
            if p.connected {
                "connected".into()
            } else {
                "down".into()
            },
            l.datetime_opt(p.last_success),
            p.waiting_to_send.to_string(),
            p.waiting_to_receive.to_string(),
            format!(
                "{} / {}",
                human_bytes(p.attachment_bytes_to_send),
                human_bytes(p.attachment_bytes_to_receive)
            ),
            match (&p.last_error, p.last_error_at) {
                (Some(e), Some(at)) => format!("{} {e}", l.datetime(at)),
                (Some(e), None) => e.clone(),
                _ => String::new(),
            },
        ]);
    }
    println!("{table}");
    for p in &status.peers {
        print_peer_limits(p, &l);
    }
    for t in &status.transfers {
        println!(
            "Receiving attachment {}…: {} of {} ({}%)",
            t.attachment.chars().take(12).collect::<String>(),
            human_bytes(t.received_bytes),
            human_bytes(t.size),
            t.percent
        );
    }
    Ok(())
}

fn print_quarantine(list: &[Quarantined], l: &Locale) {
    if list.is_empty() {
        return;
    }
    println!(
        "Quarantined {} document(s): kept as they are, not sent to peers (`lienthong show` explains)",
        list.len()
    );
    for q in list {
        println!(
            "  {} {} since {}: {}",
            q.code.as_deref().unwrap_or("(no code)"),
            q.id,
            l.datetime(q.since),
            q.problem
        );
    }
}

/// Refusals and limits of one peer, when there is anything to say.
fn print_peer_limits(p: &PeerStatus, l: &Locale) {
    if p.refused > 0 {
        println!(
            "{}: {} document(s) refused{}",
            p.office,
            p.refused,
            match (&p.last_refusal, p.last_refusal_at) {
                (Some(reason), Some(at)) => format!(", last {}: {reason}", l.datetime(at)),
                (Some(reason), None) => format!(", last: {reason}"),
                _ => String::new(),
            }
        );
    }
    if let Some(limit) = &p.limit {
        let state = match (limit.lifted_at, limit.until) {
            (Some(lifted), _) => format!("lifted {}", l.datetime(lifted)),
            (None, Some(until)) => format!("in force until {}", l.datetime(until)),
            (None, None) => "in force until disk space is freed".into(),
        };
        println!(
            "{}: limit {} hit since {} ({state}); today {} new documents, {}",
            p.office,
            limit.kind.as_str(),
            l.datetime(limit.since),
            p.today.documents,
            human_bytes(p.today.bytes)
        );
    }
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0 => "0".into(),
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}
