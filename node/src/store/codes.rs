//! Dossier code counters: one sequence per agency code per local day,
//! committed in the same transaction as the dossier that uses it.
//!
//! Codes must never repeat, even on a node restored from an old backup or
//! reinstalled from nothing for the same office (`docs/operations.md`):
//!
//! - **Counters learn from what comes back.** The next code is one above
//!   the larger of the counter and the highest code of that office and day
//!   in the dossier index, which holds every dossier that came back from a
//!   peer as well as our own.
//! - **A fence until caught up.** A restored or reinstalled node records a
//!   code fence (the local day it was restored, in `meta`). Until a
//!   session with its parent has reached "in sync", receipts dated on or
//!   before that day take codes from the recovery band
//!   [`RECOVERY_FLOOR`]+1 ..= 9999, which normal issuing never reaches, so
//!   they cannot collide with codes the lost copy issued. Receipts dated
//!   after the fence day cannot collide (the lost copy issued nothing then).

use chrono::NaiveDate;
use lienthong_shared::code::{DossierCode, MAX_SEQUENCE};
use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, StoreError, Writer};

/// Normal issuing stays at or below this sequence; codes above it are the
/// recovery band of a fenced node.
pub const RECOVERY_FLOOR: u32 = 9000;

/// Why and since when a node's codes are fenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFence {
    /// Receipts dated on or before this local day use the recovery band.
    pub through: NaiveDate,
    /// What happened: "restored from a backup of …", "reinstalled".
    pub reason: String,
}

const FENCE_KEY: &str = "code_fence";

fn day_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl Reader<'_> {
    /// The sequence number [`Writer::next_dossier_code`] would give now for
    /// `agency_code` on `date` — a guess only: another writer may take it
    /// first. Lets a receipt build its document before taking the lock.
    pub fn peek_dossier_sequence(&self, agency_code: &str, date: NaiveDate) -> Result<i64> {
        if self.fenced_on(date)? {
            return Ok(self
                .highest_indexed(agency_code, date, true)?
                .max(i64::from(RECOVERY_FLOOR))
                + 1);
        }
        let last: Option<i64> = self
            .conn()
            .prepare_cached("SELECT last FROM code_counters WHERE agency_code = ?1 AND day = ?2")?
            .query_row(params![agency_code, day_text(date)], |row| row.get(0))
            .optional()?;
        Ok(last
            .unwrap_or(0)
            .max(self.highest_indexed(agency_code, date, false)?)
            + 1)
    }

    /// The code fence, if this node has one.
    pub fn code_fence(&self) -> Result<Option<CodeFence>> {
        let text: Option<String> = self
            .conn()
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([FENCE_KEY], |row| row.get(0))
            .optional()?;
        let Some(text) = text else {
            return Ok(None);
        };
        let (day, reason) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        let through = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|e| {
            StoreError::Invalid(format!("the stored code fence `{text}` is unreadable: {e}"))
        })?;
        Ok(Some(CodeFence {
            through,
            reason: reason.to_string(),
        }))
    }

    fn fenced_on(&self, date: NaiveDate) -> Result<bool> {
        Ok(self.code_fence()?.is_some_and(|f| date <= f.through))
    }

    /// The highest sequence of `agency_code` on `date` in the dossier index,
    /// in the normal band or the recovery band; 0 if none.
    fn highest_indexed(&self, agency_code: &str, date: NaiveDate, recovery: bool) -> Result<i64> {
        let prefix = format!("{agency_code}-{}-", date.format("%y%m%d"));
        let (low, high) = if recovery {
            (RECOVERY_FLOOR + 1, u32::from(MAX_SEQUENCE))
        } else {
            (1, RECOVERY_FLOOR)
        };
        let code: Option<String> = self
            .conn()
            .prepare_cached("SELECT MAX(code) FROM dossiers WHERE code BETWEEN ?1 AND ?2")?
            .query_row(
                params![format!("{prefix}{low:04}"), format!("{prefix}{high:04}")],
                |row| row.get(0),
            )?;
        Ok(code
            .and_then(|c| c.strip_prefix(&prefix).and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }
}

impl Writer<'_> {
    /// Take the next code for `agency_code` on `date`. Rolled back with the
    /// transaction if the dossier is not written, so no gap and no reuse.
    pub fn next_dossier_code(&self, agency_code: &str, date: NaiveDate) -> Result<DossierCode> {
        let reader = self.reader();
        let (last, ceiling) = if reader.fenced_on(date)? {
            // Codes of the recovery band are never counted: the index,
            // written in this same transaction, is the counter.
            let last = reader
                .highest_indexed(agency_code, date, true)?
                .max(i64::from(RECOVERY_FLOOR))
                + 1;
            (last, i64::from(MAX_SEQUENCE))
        } else {
            let learned = reader.highest_indexed(agency_code, date, false)?;
            let last: i64 = self
                .conn()
                .prepare_cached(
                    "INSERT INTO code_counters (agency_code, day, last) VALUES (?1, ?2, ?3 + 1)
                     ON CONFLICT (agency_code, day) DO UPDATE SET last = MAX(last, ?3) + 1
                     RETURNING last",
                )?
                .query_row(params![agency_code, day_text(date), learned], |row| {
                    row.get(0)
                })?;
            (last, i64::from(RECOVERY_FLOOR))
        };
        super::crash_point("after_code");
        if last > ceiling {
            return Err(StoreError::Invalid(format!(
                "office {agency_code} has used all its dossier codes for {date} (up to {ceiling:04}); receive further dossiers tomorrow or under another office code"
            )));
        }
        DossierCode::new(agency_code, date, last as u32)
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// Fence codes dated on or before `through` until the node has caught
    /// up with its parent ([`Self::lift_code_fence`]). A later fence
    /// replaces an earlier one.
    pub fn set_code_fence(&self, fence: &CodeFence) -> Result<()> {
        let through = match self.reader().code_fence()? {
            Some(old) if old.through > fence.through => old.through,
            _ => fence.through,
        };
        self.conn()
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![
                FENCE_KEY,
                format!("{} {}", day_text(through), fence.reason)
            ])?;
        Ok(())
    }

    /// The node is caught up with its parent: codes come from the counters
    /// again (which learn from the index). Returns whether a fence was lifted.
    pub fn lift_code_fence(&self) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([FENCE_KEY])?
            > 0)
    }
}
