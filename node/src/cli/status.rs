//! `lienthong status`: this node and each peer link.

use anyhow::Result;
use chrono::Utc;
use clap::Args;
use serde::Serialize;

use super::args::DataArgs;
use super::render::{self, local_opt};
use crate::daemon::{HEARTBEAT_INTERVAL, daemon_heartbeat};
use crate::node::Node;

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
}

pub fn status(args: &StatusArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let heartbeat = daemon_heartbeat(&node.store);
    let running = heartbeat.is_some_and(|(at, _)| {
        (Utc::now() - at).to_std().unwrap_or_default() < HEARTBEAT_INTERVAL * 3
    });
    let peers_config = node.config.peers.clone();
    let (feed_seq, dossiers, peers, transfers) =
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
                Ok((feed_seq, dossiers, peers, transfers))
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
    };
    if args.json {
        return render::print_json(&status);
    }
    let tz = node.calendar.timezone();
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
            local_opt(p.last_success, tz),
            p.waiting_to_send.to_string(),
            p.waiting_to_receive.to_string(),
            format!(
                "{} / {}",
                human_bytes(p.attachment_bytes_to_send),
                human_bytes(p.attachment_bytes_to_receive)
            ),
            match (&p.last_error, p.last_error_at) {
                (Some(e), Some(at)) => format!("{} {e}", render::local(at, tz)),
                (Some(e), None) => e.clone(),
                _ => String::new(),
            },
        ]);
    }
    println!("{table}");
    for t in &status.transfers {
        println!(
            "Receiving attachment {}…: {} of {} ({}%)",
            &t.attachment[..12],
            human_bytes(t.received_bytes),
            human_bytes(t.size),
            t.percent
        );
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0 => "0".into(),
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}
