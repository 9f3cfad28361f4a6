//! The register (sổ theo dõi hồ sơ) of the printed forms: the dossiers an
//! office received in a period, from the index, in order of receipt.

use chrono::{DateTime, Utc};

use super::index::{COLUMNS, IndexRow, from_row};
use super::{Reader, Result};

impl Reader<'_> {
    /// Dossiers received at one of `origins` from `from` (included) to
    /// `until` (excluded), in order of receipt, at most `limit` of them.
    /// `origins` are the offices one node serves: a handful, at most a few
    /// dozen at a provincial Center.
    pub fn received_between(
        &self,
        origins: &[String],
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<IndexRow>> {
        if origins.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..origins.len()).map(|i| format!("?{}", i + 4)).collect();
        let mut statement = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM dossiers
             WHERE received_at >= ?1 AND received_at < ?2 AND origin IN ({})
             ORDER BY received_at, code LIMIT ?3",
            marks.join(", ")
        ))?;
        let mut values: Vec<rusqlite::types::Value> = vec![
            from.timestamp_millis().into(),
            until.timestamp_millis().into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ];
        values.extend(origins.iter().map(|o| o.clone().into()));
        let rows = statement.query_map(rusqlite::params_from_iter(values), from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
