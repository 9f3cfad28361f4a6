//! Prometheus metrics of a node (text exposition format 0.0.4), computed
//! from its store at each scrape; served at `/metrics` on the console's
//! port, to loopback clients only (`console/metrics.rs`,
//! `docs/operations.md`).

use std::fmt::Write as _;

use chrono::{DateTime, TimeZone, Utc};
use lienthong_shared::dossier::Status;
use lienthong_sync::transport::identity::NodeId;

use crate::daemon::HEARTBEAT_INTERVAL;
use crate::node::Node;
use crate::store::StoreError;

/// The metrics of `node` at `now`, as Prometheus text.
pub fn render(node: &mut Node, now: DateTime<Utc>) -> Result<String, StoreError> {
    let tz = node.calendar.timezone();
    let today = node.calendar.local_date(now);
    let midnight = tz
        .from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let served: Vec<String> = node.served_ids().iter().map(|o| o.to_string()).collect();
    let peers = node.config.peers.clone();
    let max_attachment = node.config.limits.max_attachment_bytes;
    let heartbeat = node.store.daemon_heartbeat();
    let snapshot = node.store.read(|r| {
        let last_seq = r.last_seq()?;
        let mut waiting = Vec::new();
        let mut traffic = Vec::new();
        for peer in &peers {
            traffic.push(r.peer_traffic(peer.node_id.as_bytes())?);
            waiting.push(r.blob_bytes_waiting(
                peer.node_id.as_bytes(),
                peer.office.as_str(),
                max_attachment,
            )?);
        }
        Ok::<_, StoreError>(Snapshot {
            groups: r.dossier_groups(now)?,
            peers: r.peer_figures(last_seq, today)?,
            waiting,
            traffic,
            operations: r.officer_operations()?,
            outbox: r.outbox_depth()?,
            receipts: r.receipts_by_origin(midnight)?,
            officers: r.officer_figures(now)?,
            quarantined: r.quarantined_count()?,
            store_bytes: r.store_bytes()?,
            last_seq,
        })
    })?;

    let mut out = Text::default();
    out.family(
        "lienthong_dossiers",
        "gauge",
        "Dossiers held by this node, by status (portal code 1-10) and holder office.",
    );
    for g in &snapshot.groups {
        out.sample(
            "lienthong_dossiers",
            &[
                ("status", status_code(g.status)),
                ("status_name", status_name(g.status)),
                ("holder", g.holder.clone().unwrap_or_default()),
            ],
            g.count,
        );
    }
    out.family(
        "lienthong_dossiers_overdue",
        "gauge",
        "Unfinished dossiers past their due time with the clock running (D6), by holder office.",
    );
    let mut overdue = std::collections::BTreeMap::<String, u64>::new();
    for g in &snapshot.groups {
        *overdue
            .entry(g.holder.clone().unwrap_or_default())
            .or_default() += g.overdue;
    }
    for (holder, n) in overdue {
        out.sample("lienthong_dossiers_overdue", &[("holder", holder)], n);
    }
    out.family(
        "lienthong_receipts_today",
        "gauge",
        "Dossiers received today (local day) at each desk this node serves: the desks' receipts.",
    );
    for (origin, n) in snapshot.receipts.iter().filter(|(o, _)| served.contains(o)) {
        out.sample(
            "lienthong_receipts_today",
            &[("office", origin.clone())],
            *n,
        );
    }

    let label = |key: &[u8; 32]| -> (String, String) {
        let id = NodeId::from_bytes(*key);
        let office = peers
            .iter()
            .find(|p| p.node_id == id)
            .map(|p| p.office.to_string())
            .unwrap_or_else(|| "unpinned".into());
        (office, id.short().to_string())
    };
    let families: [PeerFamily; 7] = [
        (
            "lienthong_peer_connected",
            "gauge",
            "1 while a session with the peer is up (a cut is noticed within the idle timeout, 10 s).",
            |p| u64::from(p.connected),
        ),
        (
            "lienthong_peer_last_success_timestamp_seconds",
            "gauge",
            "When the link with the peer last reached in sync (Unix time; 0: never).",
            |p| p.last_success.map_or(0, |t| t.timestamp().max(0) as u64),
        ),
        (
            "lienthong_peer_incoming_lag_entries",
            "gauge",
            "The peer's feed entries not yet held here, as last heard.",
            |p| p.incoming_lag,
        ),
        (
            "lienthong_peer_outgoing_lag_entries",
            "gauge",
            "Entries of our feed the peer has not confirmed (includes entries outside its scope).",
            |p| p.outgoing_lag,
        ),
        (
            "lienthong_peer_refused_total",
            "counter",
            "Documents from the peer refused here (scope, validity, limits).",
            |p| p.refused,
        ),
        (
            "lienthong_peer_received_bytes_today",
            "gauge",
            "Bytes accepted from the peer today (documents as stored, declared attachments).",
            |p| p.bytes_today,
        ),
        (
            "lienthong_peer_received_documents_today",
            "gauge",
            "New documents accepted from the peer today.",
            |p| p.documents_today,
        ),
    ];
    for (name, kind, help, value) in families {
        out.family(name, kind, help);
        for p in &snapshot.peers {
            let (office, node) = label(&p.node_id);
            out.sample(name, &[("peer", office), ("node", node)], value(p));
        }
    }
    out.family("lienthong_peer_attachment_bytes_waiting", "gauge", "Attachment bytes waiting with a pinned peer: to send to it, or to receive from it (it holds them, or may and has not said it lacks them).");
    for (peer, waiting) in peers.iter().zip(&snapshot.waiting) {
        let (office, node) = (peer.office.to_string(), peer.node_id.short().to_string());
        out.sample(
            "lienthong_peer_attachment_bytes_waiting",
            &[
                ("peer", office.clone()),
                ("node", node.clone()),
                ("direction", "send".into()),
            ],
            waiting.to_send,
        );
        out.sample(
            "lienthong_peer_attachment_bytes_waiting",
            &[
                ("peer", office),
                ("node", node),
                ("direction", "receive".into()),
            ],
            waiting.to_receive(),
        );
    }

    let traffic_families: [TrafficFamily; 3] = [
        (
            "lienthong_peer_sent_bytes_total",
            "Bytes sent to the peer on the wire (QUIC UDP payload: compressed sync frames and packet overhead), counted while links are up.",
            |t| t.bytes_sent,
        ),
        (
            "lienthong_peer_received_bytes_total",
            "Bytes received from the peer on the wire (QUIC UDP payload), counted while links are up.",
            |t| t.bytes_received,
        ),
        (
            "lienthong_peer_refused_by_peer_total",
            "Documents of ours the peer refused (its scope, validity, limits).",
            |t| t.refused_by_peer,
        ),
    ];
    for (name, help, value) in traffic_families {
        out.family(name, "counter", help);
        for (peer, traffic) in peers.iter().zip(&snapshot.traffic) {
            out.sample(
                name,
                &[
                    ("peer", peer.office.to_string()),
                    ("node", peer.node_id.short().to_string()),
                ],
                value(traffic),
            );
        }
    }

    out.family(
        "lienthong_officer_operations_total",
        "counter",
        "Officers' operations recorded at this node, by action (the event kind; attachment for a file attached), the office recorded as and the face (cli, console, api).",
    );
    for op in &snapshot.operations {
        out.sample(
            "lienthong_officer_operations_total",
            &[
                ("action", op.action.clone()),
                ("office", op.office.clone()),
                ("face", op.face.clone()),
            ],
            op.count,
        );
    }

    out.family(
        "lienthong_outbox_depth",
        "gauge",
        "Notices queued for citizens and offices, not yet sent.",
    );
    out.sample("lienthong_outbox_depth", &[], snapshot.outbox);
    out.family(
        "lienthong_console_sessions",
        "gauge",
        "Officers signed in to the console.",
    );
    out.sample("lienthong_console_sessions", &[], snapshot.officers.0);
    out.family(
        "lienthong_accounts_locked",
        "gauge",
        "Officers' accounts locked out after failed sign-ins.",
    );
    out.sample("lienthong_accounts_locked", &[], snapshot.officers.1);
    out.family(
        "lienthong_quarantined_documents",
        "gauge",
        "Documents set aside as unloadable or unsafe (lienthong status lists them).",
    );
    out.sample("lienthong_quarantined_documents", &[], snapshot.quarantined);
    out.family(
        "lienthong_feed_sequence",
        "counter",
        "This node's feed sequence: grows with every document change.",
    );
    out.sample(
        "lienthong_feed_sequence",
        &[],
        snapshot.last_seq.max(0) as u64,
    );
    out.family(
        "lienthong_store_bytes",
        "gauge",
        "The store's size on disk (WAL excluded).",
    );
    out.sample("lienthong_store_bytes", &[], snapshot.store_bytes);
    let up = heartbeat.is_some_and(|(beat, _)| {
        now - beat < chrono::Duration::from_std(HEARTBEAT_INTERVAL * 3).unwrap_or_default()
    });
    out.family(
        "lienthong_daemon_up",
        "gauge",
        "1 while the sync daemon's heartbeat is fresh (it beats every 5 s).",
    );
    out.sample("lienthong_daemon_up", &[], u64::from(up));
    Ok(out.0)
}

/// A per-peer traffic counter: name, help, and how to read it.
type TrafficFamily = (
    &'static str,
    &'static str,
    fn(&crate::store::observed::PeerTraffic) -> u64,
);

/// A per-peer metric: name, type, help, and how to read it.
type PeerFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::store::metrics::PeerFigures) -> u64,
);

struct Snapshot {
    groups: Vec<crate::store::metrics::DossierGroup>,
    peers: Vec<crate::store::metrics::PeerFigures>,
    waiting: Vec<crate::store::blobs::BlobBytesWaiting>,
    traffic: Vec<crate::store::observed::PeerTraffic>,
    operations: Vec<crate::store::observed::OperationCount>,
    outbox: u64,
    receipts: Vec<(String, u64)>,
    officers: (u64, u64),
    quarantined: u64,
    store_bytes: u64,
    last_seq: i64,
}

fn status_code(code: Option<u8>) -> String {
    code.map(|c| c.to_string()).unwrap_or_default()
}

fn status_name(code: Option<u8>) -> String {
    Status::ALL
        .iter()
        .find(|s| Some(s.code()) == code)
        .map(|s| format!("{s:?}").to_lowercase())
        .unwrap_or_else(|| "unknown".into())
}

/// Prometheus text, built line by line.
#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: u64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut text = Text::default();
        text.sample("m", &[("a", "x\"y\\z\nw".into())], 3);
        assert_eq!(text.0, "m{a=\"x\\\"y\\\\z\\nw\"} 3\n");
    }
}
