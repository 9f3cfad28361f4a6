//! The province's portal export queue: one row per dossier and status it
//! reached, delivered to `[portal] endpoint` with the gateway's mechanics.

use chrono::{DateTime, Utc};

use super::documents::DocKey;
use super::index::IndexRow;
use super::{Reader, Result, Writer};

/// A queued portal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalQueued {
    pub id: i64,
    pub doc_id: DocKey,
    pub status: u8,
    /// The request as JSON (`portal::Envelope`: the record as it was when
    /// the status was first seen).
    pub record: String,
    pub attempts: u32,
}

impl Reader<'_> {
    /// Index rows whose current status has no queued record yet, at most `limit`.
    pub fn portal_unqueued(&self, limit: usize) -> Result<Vec<IndexRow>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT d.doc_id FROM dossiers d
             WHERE d.status IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM portal_queue p
                               WHERE p.doc_id = d.doc_id AND p.status = d.status)
             LIMIT ?1",
        )?;
        let keys = statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                row.get::<_, Vec<u8>>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        self.index_rows_of(keys)
    }

    /// Whether a record of this dossier (any status) was queued before.
    pub fn portal_has_dossier(&self, doc_id: &DocKey) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM portal_queue WHERE doc_id = ?1)")?
            .query_row([&doc_id[..]], |row| row.get(0))?)
    }

    /// Undelivered records due at `now`, oldest first.
    pub fn portal_deliverable(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PortalQueued>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT id, doc_id, status, record, attempts FROM portal_queue
             WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
             ORDER BY id LIMIT ?2",
        )?;
        let rows = statement.query_map(
            rusqlite::params![
                now.timestamp_millis(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |row| {
                let doc: Vec<u8> = row.get(1)?;
                Ok(PortalQueued {
                    id: row.get(0)?,
                    doc_id: DocKey::try_from(doc.as_slice()).unwrap_or([0; 16]),
                    status: row.get(2)?,
                    record: row.get(3)?,
                    attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Writer<'_> {
    /// Queue a record for a dossier's status unless one is queued; true if added.
    pub fn queue_portal_record(
        &self,
        doc_id: &DocKey,
        status: u8,
        record: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO portal_queue (doc_id, status, record, queued_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(rusqlite::params![
                &doc_id[..],
                status,
                record,
                now.timestamp_millis()
            ])?
            > 0)
    }

    pub fn mark_portal_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE portal_queue SET sent_at = ?2, next_attempt_at = NULL WHERE id = ?1",
            )?
            .execute(rusqlite::params![id, now.timestamp_millis()])?;
        Ok(())
    }

    pub fn mark_portal_failed(&self, id: i64, error: &str, next: DateTime<Utc>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE portal_queue SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                 WHERE id = ?1 AND sent_at IS NULL",
            )?
            .execute(rusqlite::params![id, error, next.timestamp_millis()])?;
        Ok(())
    }
}
