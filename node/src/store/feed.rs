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

/// What is new for a node (`?1`) in `(?2, ?3]`, at most `?4` entries: see
/// [`Reader::feed_for_node`].
const FEED_FOR_NODE: &str = "SELECT doc_id, seq FROM (
         SELECT s.doc_id, s.seq FROM doc_scope s
          WHERE s.node = ?1 AND s.seq > ?2 AND s.seq <= ?3
            AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = s.doc_id)
          ORDER BY s.seq LIMIT ?4)
     UNION
     SELECT doc_id, seq FROM (
         SELECT s.doc_id, s.seq FROM doc_scope s
          WHERE s.node = '*' AND s.seq > ?2 AND s.seq <= ?3
            AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = s.doc_id)
          ORDER BY s.seq LIMIT ?4)
     ORDER BY seq LIMIT ?4";

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
        conn.prepare_cached("UPDATE doc_scope SET seq = ?2 WHERE doc_id = ?1")?
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
        let mut insert = conn.prepare_cached(
            "INSERT INTO doc_scope (node, doc_id, seq)
             VALUES (?1, ?2, coalesce((SELECT seq FROM feed WHERE doc_id = ?2), 0))",
        )?;
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
    ///
    /// Read from `node`'s own scope rows and the every-node ones, each in
    /// sequence order (`doc_scope_feed`), at most `limit` of each, merged:
    /// the cost follows what the node is sent, never the store's size (a
    /// new commune at a province of a million dossiers, issue 11).
    pub fn feed_for_node(
        &self,
        node: &str,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<FeedEntry>> {
        let mut statement = self.conn().prepare_cached(FEED_FOR_NODE)?;
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
        let count: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(DISTINCT s.doc_id) FROM doc_scope s
             WHERE s.node IN (?1, '*') AND s.seq > ?2
               AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = s.doc_id)",
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

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use chrono::Utc;

    use super::super::Store;
    use super::super::documents::DocKind;
    use super::*;

    fn nodes(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn save(w: &Writer<'_>, key: &DocKey, value: i64) -> Result<()> {
        let (heads, mut doc) = match w.reader().load_document(key)? {
            Some((_, doc)) => (
                doc.get_heads(),
                automerge::AutoCommit::load(&doc.save()).unwrap(),
            ),
            None => (Vec::new(), automerge::AutoCommit::new()),
        };
        doc.put(automerge::ROOT, "n", value).unwrap();
        w.save_document(key, DocKind::Dossier, doc.document(), &heads)?;
        Ok(())
    }

    fn keys(entries: &[FeedEntry]) -> Vec<(u8, i64)> {
        entries.iter().map(|e| (e.key[0], e.seq)).collect()
    }

    /// A node is offered its own scope and the every-node documents, each
    /// once (a document in both), in feed order, by its latest sequence
    /// (a document changed again moves to the end); quarantined ones never;
    /// `limit` and the range are honoured, and the count agrees.
    #[test]
    fn a_node_is_offered_its_scope_and_every_node_documents_in_feed_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("store.db")).unwrap();
        let scopes: [(u8, &[&str]); 6] = [
            (1, &["A"]),
            (2, &["B"]),
            (3, &[EVERY_NODE]),
            (4, &["A", EVERY_NODE]),
            (5, &["A"]),
            (6, &["A", "B"]),
        ];
        store
            .write(|w| {
                for (k, names) in scopes {
                    let key = [k; 16];
                    save(w, &key, k as i64)?;
                    w.set_scope(&key, &nodes(names))?;
                }
                // Key 1 changes again: seq 7, after everything else.
                save(w, &[1; 16], 100)?;
                w.quarantine(&[5; 16], "test", Utc::now())?;
                Ok::<_, super::super::StoreError>(())
            })
            .unwrap();
        let last = store.read(|r| r.last_seq()).unwrap();
        assert_eq!(last, 7, "precondition: seven saves");
        let mut feed = |node: &str, after, upto, limit| {
            keys(
                &store
                    .read_now(|r| r.feed_for_node(node, after, upto, limit))
                    .unwrap(),
            )
        };
        assert_eq!(feed("A", 0, last, 100), [(3, 3), (4, 4), (6, 6), (1, 7)]);
        assert_eq!(feed("B", 0, last, 100), [(2, 2), (3, 3), (4, 4), (6, 6)]);
        assert_eq!(feed("C", 0, last, 100), [(3, 3), (4, 4)]);
        assert_eq!(feed("A", 0, last, 2), [(3, 3), (4, 4)]);
        assert_eq!(feed("A", 4, last, 2), [(6, 6), (1, 7)]);
        assert_eq!(feed("A", 0, 6, 100), [(3, 3), (4, 4), (6, 6)]);
        let mut count = |node: &str, after| {
            store
                .read_now(|r| r.feed_count_for_node(node, after))
                .unwrap()
        };
        assert_eq!(count("A", 0), 4);
        assert_eq!(count("A", 4), 2);
        assert_eq!(count("C", 0), 2);
    }

    /// A store made before the scope rows carried the feed's sequence
    /// (the schema before the last migration) is migrated: each row gets its document's sequence, and
    /// the node is offered what it was before.
    #[test]
    fn a_store_from_before_the_scope_sequence_is_migrated_with_its_feed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut store = Store::create(&path).unwrap();
        store
            .write(|w| {
                for k in 1..=3u8 {
                    save(w, &[k; 16], k as i64)?;
                    w.set_scope(&[k; 16], &nodes(if k == 2 { &["B"] } else { &["A"] }))?;
                }
                save(w, &[1; 16], 10)
            })
            .unwrap();
        let before = keys(&store.read_now(|r| r.feed_for_node("A", 0, 4, 100)).unwrap());
        assert_eq!(before, [(3, 3), (1, 4)], "precondition");
        // Back to the schema before this migration (the last one).
        let conn = store.connection();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.execute_batch(
            "DROP INDEX doc_scope_feed; ALTER TABLE doc_scope DROP COLUMN seq;
             DROP INDEX dossiers_report; DROP INDEX dossiers_report_holder;
             CREATE INDEX dossiers_origin ON dossiers (origin);",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", version - 1)
            .unwrap();
        drop(store);
        let mut store = Store::open(&path).unwrap();
        let after = keys(&store.read_now(|r| r.feed_for_node("A", 0, 4, 100)).unwrap());
        assert_eq!(after, before);
    }

    /// What is new for a node is read from its scope rows by the
    /// (node, seq) index, never by walking the whole feed: a new commune's
    /// first sync costs its scope, not the province's store (issue 11).
    #[test]
    fn what_is_new_for_a_node_is_read_from_its_own_rows_not_the_whole_feed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("store.db")).unwrap();
        let conn = store.connection();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {FEED_FOR_NODE}"))
            .unwrap()
            .query_map(rusqlite::params!["A", 0, 10, 10], |row| {
                row.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // Every table read: the node's and the every-node rows by the
        // index, each document's quarantine row by its key.
        let reads: Vec<&String> = plan
            .iter()
            .filter(|l| l.starts_with("SEARCH ") || l.starts_with("SCAN "))
            .filter(|l| !l.contains("subquery"))
            .collect();
        let by_index = reads
            .iter()
            .filter(|l| {
                l.starts_with(
                    "SEARCH s USING COVERING INDEX doc_scope_feed (node=? AND seq>? AND seq<?)",
                )
            })
            .count();
        let quarantine = reads.iter().filter(|l| l.starts_with("SEARCH q ")).count();
        assert_eq!((by_index, quarantine, reads.len()), (2, 2, 4), "{plan:#?}");
    }
}
