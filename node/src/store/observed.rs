//! Counters kept for the metrics (issue 10) that nothing else in the store
//! holds: officers' operations by action kind, office and face
//! (`officer_operations`, written in the same transaction as the command
//! they count), and each peer's traffic (`peer_traffic`: bytes on the wire
//! both ways, documents it refused of ours), added by the daemon while a
//! link is up. Both only grow; `/metrics` reads them in another process.

use rusqlite::params;

use super::peers::PeerKey;
use super::{Reader, Result, Writer};

/// Operations recorded for one (action, office).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationCount {
    /// The event kind (`received`, `forwarded`, `approved`, … and
    /// `attachment` for a file attached).
    pub action: String,
    /// The office it was recorded as.
    pub office: String,
    /// The face it came through: `cli`, `console`, `api`.
    pub face: String,
    pub count: u64,
}

/// A peer's traffic since the node's store was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerTraffic {
    pub node_id: PeerKey,
    /// UDP payload bytes sent to / received from the peer (QUIC's count:
    /// sync frames after the stream's compression, plus packet overhead).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Our documents the peer refused (its scope, validity, limits).
    pub refused_by_peer: u64,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Writer<'_> {
    /// Count one officer operation.
    pub fn count_operation(&self, action: &str, office: &str, face: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO officer_operations (action, office, face, count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (action, office, face) DO UPDATE SET count = count + 1",
            )?
            .execute(params![action, office, face])?;
        Ok(())
    }

    /// Add to a peer's traffic counters.
    pub fn add_peer_traffic(
        &self,
        peer: &PeerKey,
        sent: u64,
        received: u64,
        refused_by_peer: u64,
    ) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO peer_traffic (node_id, bytes_sent, bytes_received, refused_by_peer)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (node_id) DO UPDATE SET
                   bytes_sent = bytes_sent + excluded.bytes_sent,
                   bytes_received = bytes_received + excluded.bytes_received,
                   refused_by_peer = refused_by_peer + excluded.refused_by_peer",
            )?
            .execute(params![
                &peer[..],
                to_i64(sent),
                to_i64(received),
                to_i64(refused_by_peer)
            ])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Every (action, office) counted, in order.
    pub fn officer_operations(&self) -> Result<Vec<OperationCount>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT action, office, face, count FROM officer_operations ORDER BY action, office, face",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(OperationCount {
                action: row.get(0)?,
                office: row.get(1)?,
                face: row.get(2)?,
                count: row.get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One peer's traffic (zeros if none recorded).
    pub fn peer_traffic(&self, peer: &PeerKey) -> Result<PeerTraffic> {
        let mut statement = self.conn().prepare_cached(
            "SELECT bytes_sent, bytes_received, refused_by_peer FROM peer_traffic WHERE node_id = ?1",
        )?;
        let mut rows = statement.query([&peer[..]])?;
        let mut traffic = PeerTraffic {
            node_id: *peer,
            ..PeerTraffic::default()
        };
        if let Some(row) = rows.next()? {
            traffic.bytes_sent = row.get::<_, i64>(0)?.max(0) as u64;
            traffic.bytes_received = row.get::<_, i64>(1)?.max(0) as u64;
            traffic.refused_by_peer = row.get::<_, i64>(2)?.max(0) as u64;
        }
        Ok(traffic)
    }
}
