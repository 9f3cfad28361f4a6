//! The register (sổ theo dõi hồ sơ) of the printed forms: the dossiers an
//! office received in a period, from the index, in order of receipt.

use chrono::{DateTime, Utc};

use super::index::{COLUMNS, IndexRow, from_row};
use super::{Reader, Result};

impl Reader<'_> {
    /// Dossiers received at `origin` from `from` (included) to `until`
    /// (excluded), in order of receipt, at most `limit` of them.
    pub fn received_between(
        &self,
        origin: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<IndexRow>> {
        let mut statement = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM dossiers
             WHERE origin = ?1 AND received_at >= ?2 AND received_at < ?3
             ORDER BY received_at, code LIMIT ?4"
        ))?;
        let rows = statement.query_map(
            rusqlite::params![
                origin,
                from.timestamp_millis(),
                until.timestamp_millis(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
