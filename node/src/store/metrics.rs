//! Aggregates for the Prometheus metrics (`service/metrics.rs`): a few
//! grouped counts over the index, the peers, the outbox — read in one
//! transaction, each statement bounded by the number of groups, not rows.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::peers::PeerKey;
use super::{Reader, Result};

/// Dossiers by status code (`None`: unreadable status) and holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierGroup {
    pub status: Option<u8>,
    pub holder: Option<String>,
    pub count: u64,
    /// Of them, unfinished, clock running and past due (D6).
    pub overdue: u64,
}

/// What is known of one peer, by its node id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFigures {
    pub node_id: PeerKey,
    pub connected: bool,
    pub last_success: Option<DateTime<Utc>>,
    /// Their feed entries not yet held here (their head minus our checkpoint).
    pub incoming_lag: u64,
    /// Our feed sequence minus what they confirmed.
    pub outgoing_lag: u64,
    pub refused: u64,
    /// What they sent us today (documents as stored, declared attachments).
    pub bytes_today: u64,
    pub documents_today: u64,
}

impl Reader<'_> {
    /// Every (status, holder) group with its overdue count at `now`.
    pub fn dossier_groups(&self, now: DateTime<Utc>) -> Result<Vec<DossierGroup>> {
        let awaiting_supplement =
            i64::from(lienthong_shared::dossier::Status::AwaitingSupplement.code());
        let mut statement = self.conn().prepare_cached(
            "SELECT status, holder, count(*),
                    sum(ended_at IS NULL AND status IS NOT ?2 AND due_at IS NOT NULL AND due_at < ?1)
             FROM dossiers GROUP BY status, holder ORDER BY status, holder",
        )?;
        let rows = statement.query_map(
            params![now.timestamp_millis(), awaiting_supplement],
            |row| {
                Ok(DossierGroup {
                    status: row
                        .get::<_, Option<i64>>(0)?
                        .and_then(|s| u8::try_from(s).ok()),
                    holder: row.get(1)?,
                    count: row.get::<_, i64>(2)?.max(0) as u64,
                    overdue: row.get::<_, Option<i64>>(3)?.unwrap_or(0).max(0) as u64,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every peer this store has a row for, with today's traffic (`today`
    /// is the local day quotas count in).
    pub fn peer_figures(&self, last_seq: i64, today: NaiveDate) -> Result<Vec<PeerFigures>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT p.node_id, p.connected, p.last_success,
                    max(p.peer_last_seq - p.incoming, 0), max(?1 - p.outgoing, 0), p.refused,
                    coalesce(d.bytes, 0), coalesce(d.documents, 0)
             FROM peers p LEFT JOIN peer_days d ON d.node_id = p.node_id AND d.day = ?2
             ORDER BY p.node_id",
        )?;
        let day = today.format("%Y-%m-%d").to_string();
        let rows = statement.query_map(params![last_seq, day], |row| {
            let id: Vec<u8> = row.get(0)?;
            Ok((
                id,
                PeerFigures {
                    node_id: [0; 32],
                    connected: row.get::<_, i64>(1)? != 0,
                    last_success: row
                        .get::<_, Option<i64>>(2)?
                        .and_then(DateTime::from_timestamp_millis),
                    incoming_lag: row.get::<_, i64>(3)?.max(0) as u64,
                    outgoing_lag: row.get::<_, i64>(4)?.max(0) as u64,
                    refused: row.get::<_, i64>(5)?.max(0) as u64,
                    bytes_today: row.get::<_, i64>(6)?.max(0) as u64,
                    documents_today: row.get::<_, i64>(7)?.max(0) as u64,
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut figures) = row?;
            let Ok(key) = <PeerKey>::try_from(id.as_slice()) else {
                continue;
            };
            figures.node_id = key;
            out.push(figures);
        }
        Ok(out)
    }

    /// Notices queued and not yet sent.
    pub fn outbox_depth(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM outbox WHERE sent_at IS NULL")?
            .query_row([], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Dossiers received at each office since `since` (officers' receipts
    /// at the desks this node serves, and copies from peers alike: the
    /// caller filters by office).
    pub fn receipts_by_origin(&self, since: DateTime<Utc>) -> Result<Vec<(String, u64)>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT origin, count(*) FROM dossiers WHERE received_at >= ?1 GROUP BY origin ORDER BY origin",
        )?;
        let rows = statement.query_map([since.timestamp_millis()], |row| {
            Ok((row.get(0)?, row.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Console sign-in sessions alive at `now`, and accounts locked out.
    pub fn officer_figures(&self, now: DateTime<Utc>) -> Result<(u64, u64)> {
        let ms = now.timestamp_millis();
        let sessions: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM console_sessions WHERE expires_at > ?1")?
            .query_row([ms], |row| row.get(0))?;
        let locked: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM accounts WHERE locked_until > ?1")?
            .query_row([ms], |row| row.get(0))?;
        Ok((sessions.max(0) as u64, locked.max(0) as u64))
    }

    /// Documents set aside as unloadable or unsafe.
    pub fn quarantined_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM quarantine")?
            .query_row([], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// The store's size on disk (pages × page size), WAL excluded.
    pub fn store_bytes(&self) -> Result<u64> {
        let pages: i64 = self
            .conn()
            .query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let size: i64 = self
            .conn()
            .query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((pages.max(0) * size.max(0)) as u64)
    }
}
