//! `console_sessions`: who is signed in to the console. A session is found
//! by the SHA-256 of its cookie's token; the token itself is never stored.
//!
//! The table comes with schema migration 7 (`migrations.rs`).

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{Reader, Result, Writer};

/// One signed-in session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub account: String,
    /// The token every form of this session must carry back.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Reader<'_> {
    /// The session whose token hashes to `token_hash`, if it has not expired by `now`.
    pub fn console_session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>> {
        let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT account, csrf, created_at, expires_at FROM console_sessions
                 WHERE token_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(
                rusqlite::params![token_hash, now.timestamp_millis()],
                |row| {
                    Ok(SessionRow {
                        account: row.get(0)?,
                        csrf: row.get(1)?,
                        created_at: time(row.get(2)?),
                        expires_at: time(row.get(3)?),
                    })
                },
            )
            .optional()?)
    }
}

impl Writer<'_> {
    /// Open a session; sessions that expired before `session.created_at` go.
    pub fn insert_console_session(&self, token_hash: &[u8], session: &SessionRow) -> Result<()> {
        self.conn().execute(
            "DELETE FROM console_sessions WHERE expires_at <= ?1",
            [session.created_at.timestamp_millis()],
        )?;
        self.conn().execute(
            "INSERT INTO console_sessions (token_hash, account, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                token_hash,
                session.account,
                session.csrf,
                session.created_at.timestamp_millis(),
                session.expires_at.timestamp_millis(),
            ],
        )?;
        Ok(())
    }

    /// Close a session (signing out); false if there was none.
    pub fn delete_console_session(&self, token_hash: &[u8]) -> Result<bool> {
        Ok(self.conn().execute(
            "DELETE FROM console_sessions WHERE token_hash = ?1",
            [token_hash],
        )? > 0)
    }
}
