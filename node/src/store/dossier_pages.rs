//! Pages of the dossier index in code order, for the JSON API: keyset
//! paging (`after` the last code of the previous page), so a page costs the
//! same at the millionth dossier as at the first and no dossier is skipped
//! or repeated when others arrive between pages.

use lienthong_shared::dossier::Status;

use super::index::{COLUMNS, IndexRow, from_row};
use super::{Reader, Result};

/// Which dossiers a page holds.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub status: Option<Status>,
    pub holder: Option<String>,
    /// Only codes after this one (the previous page's last code).
    pub after: Option<String>,
    pub limit: usize,
}

impl Reader<'_> {
    /// Up to `query.limit` dossiers in code order after `query.after`.
    pub fn dossier_page(&self, query: &PageQuery) -> Result<Vec<IndexRow>> {
        let mut sql = format!("SELECT {COLUMNS} FROM dossiers WHERE 1=1");
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(status) = query.status {
            values.push(i64::from(status.code()).into());
            sql += &format!(" AND status = ?{}", values.len());
        }
        if let Some(holder) = &query.holder {
            values.push(holder.clone().into());
            sql += &format!(" AND holder = ?{}", values.len());
        }
        if let Some(after) = &query.after {
            values.push(after.clone().into());
            sql += &format!(" AND code > ?{}", values.len());
        }
        values.push((query.limit as i64).into());
        sql += &format!(" ORDER BY code LIMIT ?{}", values.len());
        let mut statement = self.conn().prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
