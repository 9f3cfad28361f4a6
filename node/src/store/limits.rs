//! What each peer sent per local day, and the limit it last ran into
//! (`peer_days`, `peer_limits`). The rules themselves are in
//! `replication/admission.rs`; this is their bookkeeping, shared with
//! `status` (another process).

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

use super::peers::PeerKey;
use super::{Reader, Result, Writer};

/// Which limit a peer ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// New documents per peer per day.
    DocumentsPerDay,
    /// Bytes per peer per day.
    BytesPerDay,
    /// The data directory's free-space floor.
    DiskFloor,
    /// A change by a node the directory does not (yet) name for the time
    /// it was written (issue 8): held until the directory changes.
    Directory,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::DocumentsPerDay => "documents_per_day",
            LimitKind::BytesPerDay => "bytes_per_day",
            LimitKind::DiskFloor => "disk_floor",
            LimitKind::Directory => "directory",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "documents_per_day" => Some(LimitKind::DocumentsPerDay),
            "bytes_per_day" => Some(LimitKind::BytesPerDay),
            "disk_floor" => Some(LimitKind::DiskFloor),
            "directory" => Some(LimitKind::Directory),
            _ => None,
        }
    }
}

/// What one peer sent on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PeerDay {
    pub documents: u64,
    pub bytes: u64,
}

/// The limit a peer last ran into.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeerLimit {
    pub kind: LimitKind,
    pub reason: String,
    pub since: DateTime<Utc>,
    /// When it lifts (quotas); `None`: once disk space is freed.
    pub until: Option<DateTime<Utc>>,
    /// The incoming checkpoint held while it is in force.
    #[serde(skip)]
    pub hold: i64,
    /// When it was found lifted (and the hold released); `None`: in force.
    pub lifted_at: Option<DateTime<Utc>>,
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

impl Reader<'_> {
    pub fn peer_day(&self, peer: &PeerKey, day: NaiveDate) -> Result<PeerDay> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT documents, bytes FROM peer_days WHERE node_id = ?1 AND day = ?2",
            )?
            .query_row(params![&peer[..], day_text(day)], |row| {
                Ok(PeerDay {
                    documents: row.get::<_, i64>(0)?.max(0) as u64,
                    bytes: row.get::<_, i64>(1)?.max(0) as u64,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    pub fn peer_limit(&self, peer: &PeerKey) -> Result<Option<PeerLimit>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT kind, reason, since, until, hold, lifted_at FROM peer_limits WHERE node_id = ?1",
            )?
            .query_row([&peer[..]], |row| {
                let kind: String = row.get(0)?;
                Ok(PeerLimit {
                    kind: LimitKind::parse(&kind).unwrap_or(LimitKind::DiskFloor),
                    reason: row.get(1)?,
                    since: time(row.get(2)?).unwrap_or_default(),
                    until: time(row.get(3)?),
                    hold: row.get(4)?,
                    lifted_at: time(row.get(5)?),
                })
            })
            .optional()?)
    }

    /// Does any stored attachment reference name this blob?
    pub fn blob_referenced(&self, hash: &[u8; 32]) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM blob_refs WHERE hash = ?1)")?
            .query_row([&hash[..]], |row| row.get(0))?)
    }
}

impl Writer<'_> {
    /// Count what a peer sent today.
    pub fn add_peer_day(&self, peer: &PeerKey, day: NaiveDate, add: PeerDay) -> Result<()> {
        if add == PeerDay::default() {
            return Ok(());
        }
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.conn()
            .prepare_cached(
                "INSERT INTO peer_days (node_id, day, documents, bytes) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (node_id, day) DO UPDATE SET
                    documents = documents + excluded.documents, bytes = bytes + excluded.bytes",
            )?
            .execute(params![
                &peer[..],
                day_text(day),
                clamp(add.documents),
                clamp(add.bytes)
            ])?;
        Ok(())
    }

    /// A peer ran into a limit: record it and hold its incoming checkpoint
    /// where it is now (an active hold keeps its older, lower point).
    pub fn hold_peer(
        &self,
        peer: &PeerKey,
        kind: LimitKind,
        reason: &str,
        now: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let incoming = self.reader().peer(peer)?.incoming;
        let in_force = self
            .reader()
            .peer_limit(peer)?
            .filter(|l| l.lifted_at.is_none());
        let held = in_force.as_ref().map(|l| l.hold);
        let since = match &in_force {
            Some(l) if l.kind == kind => l.since,
            _ => now,
        };
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO peer_limits (node_id, kind, reason, since, until, hold, lifted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            )?
            .execute(params![
                &peer[..],
                kind.as_str(),
                reason,
                since.timestamp_millis(),
                until.map(|u| u.timestamp_millis()),
                held.map_or(incoming, |h| h.min(incoming)),
            ])?;
        Ok(())
    }

    /// The limit no longer applies: release the hold (the caller has made
    /// sure the peer will be asked from the held checkpoint again).
    pub fn lift_peer_limit(&self, peer: &PeerKey, now: DateTime<Utc>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE peer_limits SET lifted_at = ?2 WHERE node_id = ?1 AND lifted_at IS NULL",
            )?
            .execute(params![&peer[..], now.timestamp_millis()])?;
        Ok(())
    }

    /// The node directory changed (issue 8): every peer held for a change
    /// by a node the directory did not name is asked again from its hold
    /// (its incoming checkpoint goes back there) and the hold is released.
    /// Returns how many peers.
    pub fn release_directory_holds(&self, now: DateTime<Utc>) -> Result<usize> {
        self.conn()
            .prepare_cached(
                "UPDATE peers SET incoming = MIN(incoming, (SELECT l.hold FROM peer_limits l WHERE l.node_id = peers.node_id))
                 WHERE node_id IN (SELECT node_id FROM peer_limits WHERE kind = 'directory' AND lifted_at IS NULL)",
            )?
            .execute([])?;
        let released = self
            .conn()
            .prepare_cached(
                "UPDATE peer_limits SET lifted_at = ?1 WHERE kind = 'directory' AND lifted_at IS NULL",
            )?
            .execute([now.timestamp_millis()])?;
        Ok(released)
    }

    /// Add refusals of a peer's documents (for `status`).
    pub fn add_refusals(
        &self,
        peer: &PeerKey,
        count: u64,
        last: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT OR IGNORE INTO peers (node_id) VALUES (?1)")?
            .execute([&peer[..]])?;
        self.conn()
            .prepare_cached(
                "UPDATE peers SET refused = refused + ?2, last_refusal = ?3, last_refusal_at = ?4
                 WHERE node_id = ?1",
            )?
            .execute(params![
                &peer[..],
                i64::try_from(count).unwrap_or(i64::MAX),
                last,
                now.timestamp_millis()
            ])?;
        Ok(())
    }
}
