//! `accounts`: the officers who may sign in to this node's console, with
//! their role, password hash (argon2id, PHC string) and failed sign-ins.
//!
//! The table comes with schema migration 6 (`migrations.rs`).

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{Reader, Result, Writer};

/// One account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The sign-in name (lowercase letters, digits, `.`, `-`, `_`).
    pub name: String,
    /// The officer's full name, recorded on every event they make.
    pub display_name: String,
    pub role: String,
    /// Argon2id PHC string (algorithm, parameters, salt, hash).
    pub password_hash: String,
    /// Failed sign-ins since the last successful one.
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn row_to_account(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
    let time = |ms: Option<i64>| ms.and_then(DateTime::from_timestamp_millis);
    Ok(AccountRow {
        name: row.get(0)?,
        display_name: row.get(1)?,
        role: row.get(2)?,
        password_hash: row.get(3)?,
        failed_attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        locked_until: time(row.get(5)?),
        created_at: time(row.get(6)?).unwrap_or_default(),
    })
}

const COLUMNS: &str =
    "name, display_name, role, password_hash, failed_attempts, locked_until, created_at";

impl Reader<'_> {
    /// The account signing in as `name`, if any.
    pub fn account(&self, name: &str) -> Result<Option<AccountRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE name = ?1"))?
            .query_row([name], row_to_account)
            .optional()?)
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        let mut statement = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM accounts ORDER BY name"))?;
        let rows = statement.query_map([], row_to_account)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Writer<'_> {
    /// Add an account; false (and nothing written) if the name is taken.
    pub fn insert_account(&self, account: &AccountRow) -> Result<bool> {
        let added = self.conn().execute(
            &format!(
                "INSERT OR IGNORE INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            rusqlite::params![
                account.name,
                account.display_name,
                account.role,
                account.password_hash,
                i64::from(account.failed_attempts),
                account.locked_until.map(|t| t.timestamp_millis()),
                account.created_at.timestamp_millis(),
            ],
        )?;
        Ok(added > 0)
    }

    /// Record the outcome of a sign-in: the failures counted so far and
    /// any lock (both cleared by a success).
    pub fn set_sign_in_state(
        &self,
        name: &str,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE accounts SET failed_attempts = ?2, locked_until = ?3 WHERE name = ?1",
            rusqlite::params![
                name,
                i64::from(failed_attempts),
                locked_until.map(|t| t.timestamp_millis())
            ],
        )?;
        Ok(())
    }
}
