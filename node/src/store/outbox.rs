//! The `outbox`: notices queued for a gateway to send (SMS, e-mail, the
//! office's screen), one per dossier, kind and key; and the index query
//! that finds the dossiers that may need one.

use chrono::{DateTime, Utc};
use lienthong_shared::dossier::Status;
use rusqlite::{OptionalExtension, params_from_iter};

use super::documents::DocKey;
use super::index::IndexRow;
use super::{Reader, Result, Writer};

/// One outbox row as stored (kinds and audiences as their names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub doc_id: DocKey,
    pub code: String,
    pub kind: String,
    /// What it is about, unique per dossier and kind.
    pub key: String,
    pub office: String,
    pub audience: String,
    pub applicant: String,
    pub phone: String,
    pub email: String,
    pub message: String,
}

/// An outbox row with its place in the queue and its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRow {
    pub id: i64,
    pub row: OutboxRow,
    pub created_at: Option<DateTime<Utc>>,
    /// When the gateway delivered it (delivered_at).
    pub sent_at: Option<DateTime<Utc>>,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// When the next try may be made after a failure.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last try failed; kept after a later success.
    pub last_error: Option<String>,
}

const QUEUED_COLUMNS: &str =
    "id, doc_id, code, kind, key, office, audience, applicant, phone, email,
       message, created_at, sent_at, attempts, next_attempt_at, last_error";

fn queued_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<QueuedRow> {
    let doc: Vec<u8> = row.get(1)?;
    let time = |ms: Option<i64>| ms.and_then(DateTime::from_timestamp_millis);
    Ok(QueuedRow {
        id: row.get(0)?,
        row: OutboxRow {
            doc_id: DocKey::try_from(doc.as_slice()).unwrap_or([0; 16]),
            code: row.get(2)?,
            kind: row.get(3)?,
            key: row.get(4)?,
            office: row.get(5)?,
            audience: row.get(6)?,
            applicant: row.get(7)?,
            phone: row.get(8)?,
            email: row.get(9)?,
            message: row.get(10)?,
        },
        created_at: time(row.get(11)?),
        sent_at: time(row.get(12)?),
        attempts: u32::try_from(row.get::<_, i64>(13)?).unwrap_or(u32::MAX),
        next_attempt_at: time(row.get(14)?),
        last_error: row.get(15)?,
    })
}

impl Reader<'_> {
    /// Index rows of dossiers held by `holders` that may need a notice at
    /// `until`: unfinished and due by then (clock running), with an open
    /// consultation, resolved (the result waits at the desk), awaiting a
    /// supplement, or refused or stopped since `ended_since`.
    pub fn notice_candidates(
        &self,
        holders: &[String],
        until: DateTime<Utc>,
        ended_since: DateTime<Utc>,
    ) -> Result<Vec<IndexRow>> {
        if holders.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (0..holders.len())
            .map(|i| format!("?{}", i + 3))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT doc_id FROM dossiers
             WHERE holder IN ({placeholders})
               AND ((ended_at IS NULL AND status IS NOT {supplement} AND due_at <= ?1)
                    OR (ended_at IS NULL AND open_consultations > 0)
                    OR status IN ({resolved}, {supplement})
                    OR (status IN ({refused}, {stopped}) AND ended_at >= ?2))",
            supplement = Status::AwaitingSupplement.code(),
            resolved = Status::Resolved.code(),
            refused = Status::Refused.code(),
            stopped = Status::Stopped.code(),
        );
        let mut values: Vec<rusqlite::types::Value> = vec![
            until.timestamp_millis().into(),
            ended_since.timestamp_millis().into(),
        ];
        values.extend(holders.iter().map(|s| s.clone().into()));
        let mut statement = self.conn().prepare(&sql)?;
        let keys = statement
            .query_map(params_from_iter(values), |row| row.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        self.index_rows_of(keys)
    }

    /// Whether a notice of `kind` about `what` is queued for the dossier.
    pub fn is_queued(&self, key: &DocKey, kind: &str, what: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT 1 FROM outbox WHERE doc_id = ?1 AND kind = ?2 AND key = ?3")?
            .query_row(rusqlite::params![&key[..], kind, what], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The outbox in queue order; with `limit`, the latest `limit` entries.
    pub fn outbox(&self, limit: Option<usize>) -> Result<Vec<QueuedRow>> {
        let mut statement = self.conn().prepare(&format!(
            "SELECT * FROM (
                SELECT {QUEUED_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1
             ) ORDER BY id"
        ))?;
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = statement.query_map([limit], queued_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Undelivered notices whose next try is due at `now`, oldest first,
    /// at most `limit` of them.
    pub fn deliverable_notices(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<QueuedRow>> {
        let mut statement = self.conn().prepare_cached(&format!(
            "SELECT {QUEUED_COLUMNS} FROM outbox
             WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
             ORDER BY id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            statement.query_map(rusqlite::params![now.timestamp_millis(), limit], queued_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest time an undelivered notice may be tried again.
    pub fn next_notice_attempt(&self) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self.conn().query_row(
            "SELECT min(coalesce(next_attempt_at, 0)) FROM outbox WHERE sent_at IS NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    }
}

impl Writer<'_> {
    /// Put a notice in the outbox unless it is there already; true if added.
    pub fn enqueue_notice(&self, notice: &OutboxRow, now: DateTime<Utc>) -> Result<bool> {
        let added = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO outbox
                    (doc_id, code, kind, key, office, audience, applicant, phone, email, message, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(rusqlite::params![
                &notice.doc_id[..],
                notice.code,
                notice.kind,
                notice.key,
                notice.office,
                notice.audience,
                notice.applicant,
                notice.phone,
                notice.email,
                notice.message,
                now.timestamp_millis(),
            ])?;
        Ok(added > 0)
    }

    /// A notice reached the gateway's receiver at `now`.
    pub fn mark_notice_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE outbox SET sent_at = ?2, next_attempt_at = NULL WHERE id = ?1")?
            .execute(rusqlite::params![id, now.timestamp_millis()])?;
        Ok(())
    }

    /// A try failed: count it, keep why, and wait until `next` to retry.
    pub fn mark_notice_failed(&self, id: i64, error: &str, next: DateTime<Utc>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                 WHERE id = ?1 AND sent_at IS NULL",
            )?
            .execute(rusqlite::params![id, error, next.timestamp_millis()])?;
        Ok(())
    }
}
