//! Replication state per peer: checkpoints, what each peer holds, and what
//! the daemon last saw (for `lienthong status`, which runs in another process).

use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::documents::{DocKey, decode_heads, encode_heads};
use super::{Reader, Result, Writer};

/// A peer node's id (SHA-256 of its public key).
pub type PeerKey = [u8; 32];

/// What the store knows about a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerRow {
    pub incoming: i64,
    pub outgoing: i64,
    pub peer_last_seq: i64,
    pub connected: bool,
    pub last_contact: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Documents from this peer refused here (scope, validity, limits).
    pub refused: u64,
    pub last_refusal: Option<String>,
    pub last_refusal_at: Option<DateTime<Utc>>,
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

impl Reader<'_> {
    pub fn peer(&self, peer: &PeerKey) -> Result<PeerRow> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT incoming, outgoing, peer_last_seq, connected, last_contact, last_success, last_error, last_error_at,
                        refused, last_refusal, last_refusal_at
                 FROM peers WHERE node_id = ?1",
            )?
            .query_row([&peer[..]], |row| {
                Ok(PeerRow {
                    incoming: row.get(0)?,
                    outgoing: row.get(1)?,
                    peer_last_seq: row.get(2)?,
                    connected: row.get::<_, i64>(3)? != 0,
                    last_contact: time(row.get(4)?),
                    last_success: time(row.get(5)?),
                    last_error: row.get(6)?,
                    last_error_at: time(row.get(7)?),
                    refused: row.get::<_, i64>(8)?.max(0) as u64,
                    last_refusal: row.get(9)?,
                    last_refusal_at: time(row.get(10)?),
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Heads `peer` is known to hold for a document (empty if unknown).
    pub fn peer_heads(&self, peer: &PeerKey, key: &DocKey) -> Result<Vec<ChangeHash>> {
        let bytes: Option<Vec<u8>> = self
            .conn()
            .prepare_cached("SELECT heads FROM peer_docs WHERE node_id = ?1 AND doc_id = ?2")?
            .query_row(params![&peer[..], &key[..]], |row| row.get(0))
            .optional()?;
        Ok(bytes.and_then(|b| decode_heads(&b)).unwrap_or_default())
    }
}

impl Writer<'_> {
    fn ensure_peer(&self, peer: &PeerKey) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT OR IGNORE INTO peers (node_id) VALUES (?1)")?
            .execute([&peer[..]])?;
        Ok(())
    }

    pub fn set_peer_heads(&self, peer: &PeerKey, key: &DocKey, heads: &[ChangeHash]) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO peer_docs (node_id, doc_id, heads) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![&peer[..], &key[..], encode_heads(heads)])?;
        Ok(())
    }

    pub fn set_incoming_checkpoint(&self, peer: &PeerKey, seq: i64) -> Result<()> {
        self.ensure_peer(peer)?;
        self.conn()
            .prepare_cached("UPDATE peers SET incoming = ?2 WHERE node_id = ?1")?
            .execute(params![&peer[..], seq])?;
        Ok(())
    }

    pub fn set_outgoing_checkpoint(&self, peer: &PeerKey, seq: i64) -> Result<()> {
        self.ensure_peer(peer)?;
        self.conn()
            .prepare_cached("UPDATE peers SET outgoing = ?2 WHERE node_id = ?1")?
            .execute(params![&peer[..], seq])?;
        Ok(())
    }

    pub fn set_peer_last_seq(&self, peer: &PeerKey, seq: i64) -> Result<()> {
        self.ensure_peer(peer)?;
        self.conn()
            .prepare_cached("UPDATE peers SET peer_last_seq = ?2 WHERE node_id = ?1")?
            .execute(params![&peer[..], seq])?;
        Ok(())
    }

    /// The daemon's view of a link, for `status`.
    pub fn set_peer_link(
        &self,
        peer: &PeerKey,
        connected: bool,
        now: DateTime<Utc>,
        success: bool,
        error: Option<&str>,
    ) -> Result<()> {
        self.ensure_peer(peer)?;
        let ms = now.timestamp_millis();
        self.conn()
            .prepare_cached(
                "UPDATE peers SET connected = ?2, last_contact = ?3,
                    last_success = CASE WHEN ?4 THEN ?3 ELSE last_success END,
                    last_error = CASE WHEN ?5 IS NOT NULL THEN ?5 ELSE last_error END,
                    last_error_at = CASE WHEN ?5 IS NOT NULL THEN ?3 ELSE last_error_at END
                 WHERE node_id = ?1",
            )?
            .execute(params![&peer[..], connected as i64, ms, success, error])?;
        Ok(())
    }

    /// At daemon start: nobody is connected yet.
    pub fn mark_all_disconnected(&self) -> Result<()> {
        self.conn().execute("UPDATE peers SET connected = 0", [])?;
        Ok(())
    }
}
