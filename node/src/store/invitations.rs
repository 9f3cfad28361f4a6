//! `invitations`: one-time enrolment invitations (`lienthong invite`,
//! `enrol/`). Only the SHA-256 of each secret is stored; an invitation is
//! spent by [`Writer::spend_invitation`], once, before it expires.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{Reader, Result, Writer};

/// One invitation as stored (without its secret's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: [u8; 8],
    /// The office the invited node will serve.
    pub office: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The node id that spent it.
    pub used_by: Option<Vec<u8>>,
}

/// Why an invitation could not be spent. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationRefused {
    #[error(
        "the invitation code is not valid here (no such invitation, or its secret does not match): check the code, or ask the parent's operator for a new one"
    )]
    Unknown,
    #[error(
        "the invitation expired at {0} (UTC): ask the parent's operator for a new one (`lienthong invite`)"
    )]
    Expired(DateTime<Utc>),
    #[error(
        "the invitation was already used at {0} (UTC): an invitation works once; ask the parent's operator for a new one"
    )]
    Used(DateTime<Utc>),
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn row_to_invitation(row: &rusqlite::Row<'_>) -> rusqlite::Result<InvitationRow> {
    let id: Vec<u8> = row.get(0)?;
    let mut fixed = [0u8; 8];
    if id.len() == 8 {
        fixed.copy_from_slice(&id);
    }
    Ok(InvitationRow {
        id: fixed,
        office: row.get(1)?,
        created_at: time(row.get(2)?),
        expires_at: time(row.get(3)?),
        used_at: row.get::<_, Option<i64>>(4)?.map(time),
        used_by: row.get(5)?,
    })
}

const COLUMNS: &str = "id, office, created_at, expires_at, used_at, used_by";

impl Reader<'_> {
    /// Every invitation, newest first.
    pub fn invitations(&self) -> Result<Vec<InvitationRow>> {
        let mut statement = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM invitations ORDER BY created_at DESC"
        ))?;
        let rows = statement.query_map([], row_to_invitation)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether some invitation can still be spent at `now` (then the
    /// daemon admits unpinned clients for enrolment).
    pub fn has_open_invitation(&self, now: DateTime<Utc>) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM invitations WHERE used_at IS NULL AND expires_at > ?1)",
            [now.timestamp_millis()],
            |row| row.get(0),
        )?)
    }
}

impl Writer<'_> {
    pub fn insert_invitation(&self, invitation: &InvitationRow, secret_hash: &[u8]) -> Result<()> {
        self.conn().execute(
            "INSERT INTO invitations (id, office, secret_hash, created_at, expires_at, used_at, used_by)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL)",
            rusqlite::params![
                &invitation.id[..],
                invitation.office,
                secret_hash,
                invitation.created_at.timestamp_millis(),
                invitation.expires_at.timestamp_millis(),
            ],
        )?;
        Ok(())
    }

    /// Spend invitation `id` for `node` if `secret_hash` matches, it is
    /// unused and `now` is before its expiry. The caller's transaction
    /// decides whether the spending stays (it rolls back on any later
    /// failure, e.g. node.toml not written).
    pub fn spend_invitation(
        &self,
        id: &[u8; 8],
        secret_hash: &[u8; 32],
        node: &[u8],
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<InvitationRow, InvitationRefused>> {
        let found: Option<(InvitationRow, Vec<u8>)> = self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS}, secret_hash FROM invitations WHERE id = ?1"),
                [&id[..]],
                |row| Ok((row_to_invitation(row)?, row.get(6)?)),
            )
            .optional()?;
        let Some((row, stored)) = found else {
            return Ok(Err(InvitationRefused::Unknown));
        };
        // A timing difference here tells at most how many leading bytes of
        // a SHA-256 matched, which says nothing about a 128-bit secret.
        if stored.as_slice() != secret_hash.as_slice() {
            return Ok(Err(InvitationRefused::Unknown));
        }
        if let Some(used) = row.used_at {
            return Ok(Err(InvitationRefused::Used(used)));
        }
        if now >= row.expires_at {
            return Ok(Err(InvitationRefused::Expired(row.expires_at)));
        }
        self.conn().execute(
            "UPDATE invitations SET used_at = ?2, used_by = ?3 WHERE id = ?1 AND used_at IS NULL",
            rusqlite::params![&id[..], now.timestamp_millis(), node],
        )?;
        Ok(Ok(InvitationRow {
            used_at: Some(now),
            used_by: Some(node.to_vec()),
            ..row
        }))
    }
}
