//! The index of derived dossier fields, for lists and reports without
//! loading documents. Rebuilt from a document every time it changes.

use chrono::{DateTime, Utc};
use lienthong_shared::dossier::fold::DossierState;
use lienthong_shared::dossier::{DossierFacts, Status, Timeliness};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::documents::DocKey;
use super::{Reader, Result, Writer};

/// One dossier as the index knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexRow {
    #[serde(serialize_with = "serialize_key")]
    pub key: DocKey,
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub applicant: String,
    pub origin: String,
    pub holder: Option<String>,
    pub transfer_to: Option<String>,
    pub status: Option<Status>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    /// For finished dossiers: early, on time or late (D6).
    pub timeliness: Option<Timeliness>,
    pub conflicts: u32,
    pub supplement_requests: u32,
    pub open_consultations: u32,
    pub rules: String,
}

fn serialize_key<S: serde::Serializer>(key: &DocKey, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&super::documents::hex(key))
}

impl IndexRow {
    pub fn from_fold(key: DocKey, facts: &DossierFacts, state: &DossierState) -> Self {
        IndexRow {
            key,
            code: facts.code.clone(),
            procedure_code: facts.procedure.code.clone(),
            procedure_name: facts.procedure.name.clone(),
            applicant: facts.applicant.name.clone(),
            origin: facts.origin.to_string(),
            holder: state.holder.as_ref().map(|h| h.to_string()),
            transfer_to: state.transfer.as_ref().map(|t| t.to.to_string()),
            status: state.status,
            received_at: state.received_at,
            due_at: state.due_at,
            ended_at: state.ended_at,
            returned_at: state.returned_at,
            // Overdue depends on "now": computed when listing, not stored.
            timeliness: state.timeliness.filter(|t| *t != Timeliness::Overdue),
            conflicts: state.conflicts.len() as u32,
            supplement_requests: state.supplement_requests,
            open_consultations: state.open_consultations().count() as u32,
            rules: facts.rules.clone(),
        }
    }

    /// Overdue at `now`: unfinished, clock running, past due (D6).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none()
            && self.status != Some(Status::AwaitingSupplement)
            && self.due_at.is_some_and(|due| now > due)
    }
}

fn millis(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

pub(super) const COLUMNS: &str = "doc_id, code, procedure_code, procedure_name, applicant, origin, holder, transfer_to, status, received_at, due_at, ended_at, returned_at, timeliness, conflicts, supplement_requests, open_consultations, rules";

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<IndexRow> {
    let key: Vec<u8> = row.get(0)?;
    let key = DocKey::try_from(key.as_slice()).unwrap_or([0; 16]);
    let status: Option<i64> = row.get(8)?;
    let timeliness: Option<String> = row.get(13)?;
    Ok(IndexRow {
        key,
        code: row.get(1)?,
        procedure_code: row.get(2)?,
        procedure_name: row.get(3)?,
        applicant: row.get(4)?,
        origin: row.get(5)?,
        holder: row.get(6)?,
        transfer_to: row.get(7)?,
        status: status.and_then(|code| {
            Status::ALL
                .into_iter()
                .find(|s| i64::from(s.code()) == code)
        }),
        received_at: time(row.get(9)?),
        due_at: time(row.get(10)?),
        ended_at: time(row.get(11)?),
        returned_at: time(row.get(12)?),
        timeliness: timeliness.and_then(|t| match t.as_str() {
            "early" => Some(Timeliness::Early),
            "on_time" => Some(Timeliness::OnTime),
            "late" => Some(Timeliness::Late),
            _ => None,
        }),
        conflicts: row.get(14)?,
        supplement_requests: row.get(15)?,
        open_consultations: row.get(16)?,
        rules: row.get(17)?,
    })
}

/// Filters for `list`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub holder: Option<String>,
    pub origin: Option<String>,
    pub due_before: Option<DateTime<Utc>>,
    /// Only dossiers overdue at this moment.
    pub overdue_at: Option<DateTime<Utc>>,
    pub limit: Option<usize>,
}

impl Writer<'_> {
    pub fn upsert_index(&self, row: &IndexRow, seq: i64) -> Result<()> {
        // Most events change none of the indexed columns (code, status,
        // due_at, holder, origin; transfer_to and ended_at for the desk's
        // indexes). Any UPDATE naming an indexed column in its SET
        // rewrites that index's entry even when the value is the same,
        // dirtying a page of each of the indexes — pages every
        // commit then writes to the WAL and fsyncs. So first try an update
        // of the other columns only, for a row whose indexed columns are
        // unchanged; fall back to the full upsert.
        //
        // Both statements take the same parameters, numbered in `COLUMNS`
        // order with `updated_seq` last.
        let status = row.status.map(|s| i64::from(s.code()));
        let (received_at, due_at) = (millis(row.received_at), millis(row.due_at));
        let (ended_at, returned_at) = (millis(row.ended_at), millis(row.returned_at));
        let timeliness = row.timeliness.map(|t| t.as_str());
        let values = params![
            &row.key[..],
            row.code,
            row.procedure_code,
            row.procedure_name,
            row.applicant,
            row.origin,
            row.holder,
            row.transfer_to,
            status,
            received_at,
            due_at,
            ended_at,
            returned_at,
            timeliness,
            row.conflicts,
            row.supplement_requests,
            row.open_consultations,
            row.rules,
            seq,
        ];
        let updated = self
            .conn()
            .prepare_cached(
                // transfer_to and ended_at are read by the desk's indexes
                // (migration 9: `desk_transfer`, `desk_open`'s WHERE).
                "UPDATE dossiers SET
                    procedure_code = ?3, procedure_name = ?4, applicant = ?5,
                    received_at = ?10, returned_at = ?13, timeliness = ?14,
                    conflicts = ?15, supplement_requests = ?16, open_consultations = ?17,
                    rules = ?18, updated_seq = ?19
                 WHERE doc_id = ?1 AND code IS ?2 AND status IS ?9 AND due_at IS ?11
                    AND holder IS ?7 AND origin IS ?6 AND transfer_to IS ?8 AND ended_at IS ?12",
            )?
            .execute(values)?;
        if updated == 1 {
            return Ok(());
        }
        self.conn()
            .prepare_cached(&format!(
                // An upsert, not INSERT OR REPLACE, which would delete and
                // rewrite the row; the update names every indexed column, so
                // it rewrites their index entries (see above).
                "INSERT INTO dossiers ({COLUMNS}, updated_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
                 ON CONFLICT (doc_id) DO UPDATE SET
                    code = excluded.code, procedure_code = excluded.procedure_code,
                    procedure_name = excluded.procedure_name, applicant = excluded.applicant,
                    origin = excluded.origin, holder = excluded.holder, transfer_to = excluded.transfer_to,
                    status = excluded.status, received_at = excluded.received_at, due_at = excluded.due_at,
                    ended_at = excluded.ended_at, returned_at = excluded.returned_at,
                    timeliness = excluded.timeliness, conflicts = excluded.conflicts,
                    supplement_requests = excluded.supplement_requests,
                    open_consultations = excluded.open_consultations, rules = excluded.rules,
                    updated_seq = excluded.updated_seq"
            ))?
            .execute(values)?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Dossiers whose code is `code` (codes are unique per office; a copy
    /// arriving from a misconfigured node could collide, so all are returned).
    pub fn find_by_code(&self, code: &str) -> Result<Vec<IndexRow>> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM dossiers WHERE code = ?1"))?;
        let rows = statement.query_map([code], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Dossiers whose id starts with the hex `prefix`.
    pub fn find_by_id_prefix(&self, prefix: &str) -> Result<Vec<IndexRow>> {
        let mut statement = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM dossiers WHERE lower(hex(doc_id)) LIKE ?1 || '%' LIMIT 10"
        ))?;
        let rows = statement.query_map([prefix.to_ascii_lowercase()], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn index_row(&self, key: &DocKey) -> Result<Option<IndexRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM dossiers WHERE doc_id = ?1"))?
            .query_row([&key[..]], from_row)
            .optional()?)
    }

    /// The index rows of `keys` (as stored, 16 bytes each), in that order;
    /// a key of another length or without a row is left out.
    pub fn index_rows_of(&self, keys: Vec<Vec<u8>>) -> Result<Vec<IndexRow>> {
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            let Ok(key) = DocKey::try_from(key.as_slice()) else {
                continue;
            };
            if let Some(row) = self.index_row(&key)? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    pub fn list(&self, filter: &ListFilter) -> Result<Vec<IndexRow>> {
        let mut sql = format!("SELECT {COLUMNS} FROM dossiers WHERE 1=1");
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(status) = filter.status {
            values.push(i64::from(status.code()).into());
            sql += &format!(" AND status = ?{}", values.len());
        }
        if let Some(holder) = &filter.holder {
            values.push(holder.clone().into());
            sql += &format!(" AND holder = ?{}", values.len());
        }
        if let Some(origin) = &filter.origin {
            values.push(origin.clone().into());
            sql += &format!(" AND origin = ?{}", values.len());
        }
        if let Some(due) = filter.due_before {
            values.push(due.timestamp_millis().into());
            sql += &format!(" AND due_at < ?{} AND ended_at IS NULL", values.len());
        }
        if let Some(now) = filter.overdue_at {
            values.push(now.timestamp_millis().into());
            sql += &format!(
                " AND ended_at IS NULL AND status IS NOT {} AND due_at < ?{}",
                Status::AwaitingSupplement.code(),
                values.len()
            );
        }
        sql += " ORDER BY due_at IS NULL, due_at, code";
        if let Some(limit) = filter.limit {
            values.push((limit as i64).into());
            sql += &format!(" LIMIT ?{}", values.len());
        }
        let mut statement = self.conn().prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Visit every indexed dossier without holding them all in memory.
    pub fn for_each_indexed(&self, mut visit: impl FnMut(IndexRow)) -> Result<()> {
        let mut statement = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM dossiers ORDER BY rowid"))?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            visit(from_row(row)?);
        }
        Ok(())
    }
}
