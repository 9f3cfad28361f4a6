//! The change feed and document scope.
//!
//! Every change to a document (local or received) gives it the next
//! node-local sequence number. A peer asks for "everything in my scope
//! above sequence S"; the scope table says which nodes a document goes to.

use std::collections::BTreeSet;

use rusqlite::params;

use super::documents::DocKey;
use super::{Reader, Result, Writer};

/// Scope entry meaning "every node" (catalogue, office tree).
pub const EVERY_NODE: &str = "*";

/// One entry of the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEntry {
    pub key: DocKey,
    pub seq: i64,
}

impl Writer<'_> {
    pub(super) fn bump_feed(&self, key: &DocKey) -> Result<i64> {
        let conn = self.conn();
        let seq: i64 = conn
            .prepare_cached(
                "UPDATE meta SET value = value + 1 WHERE key = 'last_seq' RETURNING value",
            )?
            .query_row([], |row| row.get(0))?;
        conn.prepare_cached(
            "INSERT INTO feed (doc_id, seq) VALUES (?1, ?2) ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq",
        )?
        .execute(params![&key[..], seq])?;
        Ok(seq)
    }

    /// Replace the set of nodes a document goes to (node office ids, or [`EVERY_NODE`]).
    /// Scope only grows in practice; rows no longer named are removed so the
    /// table stays the fold's answer.
    pub fn set_scope(&self, key: &DocKey, nodes: &BTreeSet<String>) -> Result<()> {
        let conn = self.conn();
        let current: BTreeSet<String> = conn
            .prepare_cached("SELECT node FROM doc_scope WHERE doc_id = ?1")?
            .query_map([&key[..]], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if &current == nodes {
            return Ok(());
        }
        conn.prepare_cached("DELETE FROM doc_scope WHERE doc_id = ?1")?
            .execute([&key[..]])?;
        let mut insert =
            conn.prepare_cached("INSERT INTO doc_scope (node, doc_id) VALUES (?1, ?2)")?;
        for node in nodes {
            insert.execute(params![node, &key[..]])?;
        }
        Ok(())
    }
}

impl Reader<'_> {
    /// The node's latest feed sequence.
    pub fn last_seq(&self) -> Result<i64> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM meta WHERE key = 'last_seq'")?
            .query_row([], |row| row.get(0))?)
    }

    /// Feed entries with `after < seq ≤ upto` whose scope includes `node`,
    /// oldest first; quarantined documents are never offered.
    pub fn feed_for_node(
        &self,
        node: &str,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<FeedEntry>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT f.doc_id, f.seq FROM feed f
             WHERE f.seq > ?2 AND f.seq <= ?3
               AND EXISTS (SELECT 1 FROM doc_scope s WHERE s.doc_id = f.doc_id AND s.node IN (?1, '*'))
               AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = f.doc_id)
             ORDER BY f.seq LIMIT ?4",
        )?;
        let rows = statement.query_map(params![node, after, upto, limit as i64], |row| {
            let bytes: Vec<u8> = row.get(0)?;
            Ok((bytes, row.get::<_, i64>(1)?))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (bytes, seq) = row?;
            if let Ok(key) = <DocKey>::try_from(bytes.as_slice()) {
                entries.push(FeedEntry { key, seq });
            }
        }
        Ok(entries)
    }

    /// How many feed entries above `after` are in `node`'s scope.
    pub fn feed_count_for_node(&self, node: &str, after: i64) -> Result<u64> {
        let count: i64 = self.conn().prepare_cached(
            "SELECT count(*) FROM feed f
             WHERE f.seq > ?2
               AND EXISTS (SELECT 1 FROM doc_scope s WHERE s.doc_id = f.doc_id AND s.node IN (?1, '*'))
               AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = f.doc_id)",
        )?
        .query_row(params![node, after], |row| row.get(0))?;
        Ok(count as u64)
    }

    /// Is `node` in the document's stored scope?
    pub fn in_scope(&self, key: &DocKey, node: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM doc_scope WHERE doc_id = ?1 AND node IN (?2, '*'))",
            )?
            .query_row(params![&key[..], node], |row| row.get(0))?)
    }
}
