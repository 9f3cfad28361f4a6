//! The national portal export's query: the dossiers with a dated status
//! change (received, ended, returned) in a period.

use chrono::{DateTime, Utc};

use super::index::IndexRow;
use super::{Reader, Result};

impl Reader<'_> {
    /// Index rows of dossiers received, ended or returned in `[from, to)`,
    /// in code order.
    pub fn portal_rows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<IndexRow>> {
        let mut statement = self.conn().prepare(
            "SELECT doc_id FROM dossiers
             WHERE (received_at >= ?1 AND received_at < ?2)
                OR (ended_at >= ?1 AND ended_at < ?2)
                OR (returned_at >= ?1 AND returned_at < ?2)
             ORDER BY code",
        )?;
        let keys = statement
            .query_map(
                rusqlite::params![from.timestamp_millis(), to.timestamp_millis()],
                |row| row.get::<_, Vec<u8>>(0),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        self.index_rows_of(keys)
    }
}
