//! Dossier code counters: one sequence per agency code per local day,
//! committed in the same transaction as the dossier that uses it.

use chrono::NaiveDate;
use lienthong_shared::code::{DossierCode, MAX_SEQUENCE};
use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, StoreError, Writer};

impl Reader<'_> {
    /// The sequence number [`Writer::next_dossier_code`] would give now for
    /// `agency_code` on `date` — a guess only: another writer may take it
    /// first. Lets a receipt build its document before taking the lock.
    pub fn peek_dossier_sequence(&self, agency_code: &str, date: NaiveDate) -> Result<i64> {
        let day = date.format("%Y-%m-%d").to_string();
        let last: Option<i64> = self
            .conn()
            .prepare_cached("SELECT last FROM code_counters WHERE agency_code = ?1 AND day = ?2")?
            .query_row(params![agency_code, day], |row| row.get(0))
            .optional()?;
        Ok(last.unwrap_or(0) + 1)
    }
}

impl Writer<'_> {
    /// Take the next code for `agency_code` on `date`. Rolled back with the
    /// transaction if the dossier is not written, so no gap and no reuse.
    pub fn next_dossier_code(&self, agency_code: &str, date: NaiveDate) -> Result<DossierCode> {
        let day = date.format("%Y-%m-%d").to_string();
        let last: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO code_counters (agency_code, day, last) VALUES (?1, ?2, 1)
                 ON CONFLICT (agency_code, day) DO UPDATE SET last = last + 1
                 RETURNING last",
            )?
            .query_row(params![agency_code, day], |row| row.get(0))?;
        super::crash_point("after_code");
        if last > i64::from(MAX_SEQUENCE) {
            return Err(StoreError::Invalid(format!(
                "office {agency_code} has used all {MAX_SEQUENCE} dossier codes for {date}; receive further dossiers tomorrow or under another office code"
            )));
        }
        DossierCode::new(agency_code, date, last as u32)
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }
}
