//! `api_tokens`: the bearer tokens of the JSON API. A token is found by
//! the SHA-256 of what the client sends; the token itself is never stored.
//! Revoked tokens stay listed (who had access, and until when).
//!
//! The table comes with schema migration 8 (`migrations.rs`).

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{Reader, Result, Writer};

/// One token as stored (without its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// The integrator's name, recorded as the officer on the events it makes.
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn row_to_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiTokenRow> {
    let time = |ms: Option<i64>| ms.and_then(DateTime::from_timestamp_millis);
    Ok(ApiTokenRow {
        name: row.get(0)?,
        role: row.get(1)?,
        created_at: time(row.get(2)?).unwrap_or_default(),
        revoked_at: time(row.get(3)?),
    })
}

impl Reader<'_> {
    /// The token whose hash is `token_hash`, revoked or not.
    pub fn api_token(&self, token_hash: &[u8]) -> Result<Option<ApiTokenRow>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT name, role, created_at, revoked_at FROM api_tokens WHERE token_hash = ?1",
            )?
            .query_row([token_hash], row_to_token)
            .optional()?)
    }

    /// Every token, by name.
    pub fn api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        let mut statement = self
            .conn()
            .prepare("SELECT name, role, created_at, revoked_at FROM api_tokens ORDER BY name")?;
        let rows = statement.query_map([], row_to_token)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Writer<'_> {
    /// Add a token; false (and nothing written) if the name is taken.
    pub fn insert_api_token(&self, token: &ApiTokenRow, token_hash: &[u8]) -> Result<bool> {
        let added = self.conn().execute(
            "INSERT OR IGNORE INTO api_tokens (name, role, token_hash, created_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, NULL)",
            rusqlite::params![
                token.name,
                token.role,
                token_hash,
                token.created_at.timestamp_millis()
            ],
        )?;
        Ok(added > 0)
    }

    /// Revoke a token at `at`; false if there is no such token or it was
    /// already revoked.
    pub fn revoke_api_token(&self, name: &str, at: DateTime<Utc>) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            rusqlite::params![name, at.timestamp_millis()],
        )? > 0)
    }
}
