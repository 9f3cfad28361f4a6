//! Automerge documents: a compacted snapshot plus incremental chunks.

use automerge::{Automerge, ChangeHash};
use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, StoreError, Writer};

/// A document's key in the store (a dossier id, or a well-known id for the
/// catalogue and the office tree).
pub type DocKey = [u8; 16];

/// What a document holds; decides how it is indexed and scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Dossier,
    /// Configuration that flows down from the province to every node.
    Config,
    /// A document of a schema this version does not interpret, stored as
    /// received because admission let it in (benchmarks replicate the
    /// workload's own documents this way). Goes to every peer.
    Opaque,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Dossier => "dossier",
            DocKind::Config => "config",
            DocKind::Opaque => "opaque",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dossier" => Some(DocKind::Dossier),
            "config" => Some(DocKind::Config),
            "opaque" => Some(DocKind::Opaque),
            _ => None,
        }
    }
}

pub fn hex(key: &DocKey) -> String {
    lienthong_shared::dossier::attachment::hex(key)
}

/// Heads as stored: the 32-byte hashes, sorted, concatenated.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    sorted.iter().flat_map(|h| h.0).collect()
}

pub fn decode_heads(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes
        .chunks_exact(32)
        .map(|chunk| <[u8; 32]>::try_from(chunk).ok().map(ChangeHash))
        .collect()
}

impl Reader<'_> {
    /// Load a document (snapshot, then its chunks in order).
    pub fn load_document(&self, key: &DocKey) -> Result<Option<(DocKind, Automerge)>> {
        load(self.conn(), key)
    }

    /// The heads the store holds for a document, without loading it.
    pub fn document_heads(&self, key: &DocKey) -> Result<Option<Vec<ChangeHash>>> {
        let bytes: Option<Vec<u8>> = self
            .conn()
            .prepare_cached("SELECT heads FROM documents WHERE doc_id = ?1")?
            .query_row([&key[..]], |row| row.get(0))
            .optional()?;
        bytes.map(|bytes| stored_heads(key, &bytes)).transpose()
    }

    /// Of `keys`, those this store holds, each with its stored heads and
    /// bytes (snapshot and chunks): what a commit of received documents
    /// needs to know of each before it writes, read in one statement per
    /// [`STORED_LOOKUP_KEYS`] keys instead of two lookups a document.
    /// Heads are decoded when asked for ([`Stored::heads`]), so one
    /// damaged row is that document's error only.
    pub fn stored_of(&self, keys: &[DocKey]) -> Result<HashMap<DocKey, Stored>> {
        let mut stored = HashMap::with_capacity(keys.len());
        for group in keys.chunks(STORED_LOOKUP_KEYS) {
            let marks = vec!["?"; group.len()].join(", ");
            let mut statement = self.conn().prepare_cached(&format!(
                "SELECT doc_id, heads, snapshot_bytes + chunk_bytes FROM documents WHERE doc_id IN ({marks})"
            ))?;
            let rows = statement.query_map(
                rusqlite::params_from_iter(group.iter().map(|k| &k[..])),
                |row| <(Vec<u8>, Vec<u8>, i64)>::try_from(row),
            )?;
            for row in rows {
                let (key, heads, bytes) = row?;
                let Ok(key) = DocKey::try_from(key.as_slice()) else {
                    continue;
                };
                stored.insert(
                    key,
                    Stored {
                        key,
                        heads,
                        bytes: bytes.max(0) as u64,
                    },
                );
            }
        }
        Ok(stored)
    }

    /// A document's snapshot and heads, when it has no chunks after it.
    pub fn whole_document(&self, key: &DocKey) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .conn()
            .prepare_cached(
                "SELECT snapshot, heads FROM documents WHERE doc_id = ?1 AND chunk_count = 0",
            )?
            .query_row([&key[..]], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let Some((snapshot, heads)) = row else {
            return Ok(None);
        };
        let corrupt = |problem: String| StoreError::CorruptDocument {
            doc: hex(key),
            problem,
        };
        let heads =
            decode_heads(&heads).ok_or_else(|| corrupt("stored heads are malformed".into()))?;
        Ok(Some((
            super::snapshot::unwrap(&snapshot)
                .map_err(corrupt)?
                .into_owned(),
            heads,
        )))
    }

    /// Bytes stored for one document (snapshot + chunks), if it is stored.
    pub fn document_bytes_of(&self, key: &DocKey) -> Result<Option<u64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT snapshot_bytes + chunk_bytes FROM documents WHERE doc_id = ?1")?
            .query_row([&key[..]], |row| row.get::<_, i64>(0))
            .optional()?
            .map(|b| b.max(0) as u64))
    }

    pub fn document_count(&self, kind: DocKind) -> Result<u64> {
        let count: i64 = self.conn().query_row(
            "SELECT count(*) FROM documents WHERE kind = ?1",
            [kind.as_str()],
            |row| row.get(0),
        )?;
        Ok(count as u64)
    }

    /// Bytes stored for documents of a kind (snapshots + chunks).
    pub fn document_bytes(&self, kind: DocKind) -> Result<u64> {
        let bytes: i64 = self.conn().query_row(
            "SELECT coalesce(sum(snapshot_bytes + chunk_bytes), 0) FROM documents WHERE kind = ?1",
            [kind.as_str()],
            |row| row.get(0),
        )?;
        Ok(bytes as u64)
    }
}

fn load(conn: &rusqlite::Connection, key: &DocKey) -> Result<Option<(DocKind, Automerge)>> {
    let row: Option<(String, Vec<u8>, i64)> = conn
        .prepare_cached("SELECT kind, snapshot, chunk_count FROM documents WHERE doc_id = ?1")?
        .query_row([&key[..]], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((kind, snapshot, chunk_count)) = row else {
        return Ok(None);
    };
    let corrupt = |problem: String| StoreError::CorruptDocument {
        doc: hex(key),
        problem,
    };
    let kind = DocKind::parse(&kind).ok_or_else(|| corrupt(format!("unknown kind {kind:?}")))?;
    let bytes = super::snapshot::unwrap(&snapshot).map_err(corrupt)?;
    let mut doc = Automerge::load(&bytes).map_err(|e| corrupt(format!("snapshot: {e}")))?;
    if chunk_count > 0 {
        // All chunks in one call: far cheaper than one call per chunk.
        let mut joined = Vec::new();
        let mut statement =
            conn.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY n")?;
        let mut rows = statement.query([&key[..]])?;
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(0)?;
            joined.extend_from_slice(&data);
        }
        doc.load_incremental(&joined)
            .map_err(|e| corrupt(format!("change chunks: {e}")))?;
    }
    Ok(Some((kind, doc)))
}

/// Chunks kept after a snapshot before it is rewritten. Loading a snapshot
/// with chunks costs about twice loading it compacted; rewriting costs one
/// save. Measured with dossiers of 5–15 events (`cargo bench --bench store`).
const COMPACT_AFTER_CHUNKS: i64 = 4;

/// Commit a local write's transaction dated now, by this machine's clock.
///
/// Automerge's plain `commit` dates a change 0. The date is part of the
/// change and of its hash, so the author's attestation covers it: a peer
/// judges a change by the directory entry of its author that was in force
/// at this moment (issue 8, `authorship/directory.rs`). It is when the node
/// wrote the change, not the event's own time (`--at` records paper work
/// after the fact: the key that writes it is the one in force now). Every
/// local write commits through here.
pub fn commit_now(tx: automerge::transaction::Transaction<'_>) {
    let now = chrono::Utc::now().timestamp_millis();
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now));
}

impl Writer<'_> {
    /// Persist what `doc` holds beyond `before` (the heads the store had, or
    /// `[]` for a new document) and bump the feed. Returns the document's new
    /// feed sequence, or `None` when there was nothing new.
    pub fn save_document(
        &self,
        key: &DocKey,
        kind: DocKind,
        doc: &Automerge,
        before: &[ChangeHash],
    ) -> Result<Option<i64>> {
        self.save_document_with(key, kind, doc, before, None)
    }

    /// [`Self::save_document`], keeping `snapshot` (bytes that load to
    /// exactly `doc`) as a new document's snapshot instead of saving it again.
    pub fn save_document_with(
        &self,
        key: &DocKey,
        kind: DocKind,
        doc: &Automerge,
        before: &[ChangeHash],
        snapshot: Option<&[u8]>,
    ) -> Result<Option<i64>> {
        let heads = doc.get_heads();
        let mut sorted_before = before.to_vec();
        sorted_before.sort();
        let mut sorted_heads = heads.clone();
        sorted_heads.sort();
        if sorted_before == sorted_heads {
            return Ok(None);
        }
        let conn = self.conn();
        let existing: Option<(i64, i64, i64)> = conn
            .prepare_cached(
                "SELECT snapshot_bytes, chunk_bytes, chunk_count FROM documents WHERE doc_id = ?1",
            )?
            .query_row([&key[..]], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        let encoded_heads = encode_heads(&heads);
        match existing {
            None => {
                let snapshot = match snapshot {
                    Some(bytes) => super::snapshot::wrap(bytes),
                    None => super::snapshot::encode(doc),
                };
                conn.prepare_cached(
                    "INSERT INTO documents (doc_id, kind, snapshot, snapshot_bytes, heads) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![&key[..], kind.as_str(), snapshot, snapshot.len() as i64, encoded_heads])?;
                super::crash_point("after_chunk");
            }
            Some((snapshot_bytes, chunk_bytes, chunk_count)) => {
                let chunk = doc.save_after(before);
                if chunk_count + 1 >= COMPACT_AFTER_CHUNKS
                    || chunk_bytes + chunk.len() as i64 > snapshot_bytes
                {
                    // Compact: every load replays the chunks, so a few are
                    // cheaper than one re-save; and never let them outgrow
                    // the snapshot.
                    let snapshot = super::snapshot::encode(doc);
                    conn.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
                        .execute([&key[..]])?;
                    super::crash_point("after_chunk");
                    conn.prepare_cached(
                        "UPDATE documents SET snapshot = ?2, snapshot_bytes = ?3, chunk_bytes = 0, chunk_count = 0, heads = ?4 WHERE doc_id = ?1",
                    )?
                    .execute(params![&key[..], snapshot, snapshot.len() as i64, encoded_heads])?;
                } else {
                    conn.prepare_cached(
                        "INSERT INTO doc_chunks (doc_id, n, data) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![&key[..], chunk_count, chunk])?;
                    super::crash_point("after_chunk");
                    conn.prepare_cached(
                        "UPDATE documents SET chunk_bytes = chunk_bytes + ?2, chunk_count = chunk_count + 1, heads = ?3 WHERE doc_id = ?1",
                    )?
                    .execute(params![&key[..], chunk.len() as i64, encoded_heads])?;
                }
            }
        }
        if self.signs() {
            // This node's own changes are signed where they are stored:
            // every local write reaches the store here.
            let changes = doc
                .get_changes_meta(before)
                .into_iter()
                .map(|m| (m.hash, m.actor.into_owned()));
            self.sign_own(key, changes)?;
        }
        let seq = self.bump_feed(key)?;
        Ok(Some(seq))
    }
}

/// Keys per statement of [`Reader::stored_of`] (SQLite allows 32,766
/// parameters; a statement per distinct count is cached, so the count is
/// fixed but for the last group).
pub const STORED_LOOKUP_KEYS: usize = 64;

/// A stored document as [`Reader::stored_of`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    key: DocKey,
    heads: Vec<u8>,
    /// Snapshot and chunks, in bytes.
    pub bytes: u64,
}

impl Stored {
    /// The stored heads, as [`Reader::document_heads`] gives them.
    pub fn heads(&self) -> Result<Vec<ChangeHash>> {
        stored_heads(&self.key, &self.heads)
    }
}

/// The `heads` column of document `key`, decoded; damaged, an error naming
/// the document.
fn stored_heads(key: &DocKey, bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    decode_heads(bytes).ok_or_else(|| StoreError::CorruptDocument {
        doc: hex(key),
        problem: "stored heads are not a list of 32-byte hashes".into(),
    })
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::store::Store;

    fn key(i: u8) -> DocKey {
        [i; 16]
    }

    /// Present and missing documents over more than one statement's worth
    /// of keys: exactly the present ones, each with what the one-document
    /// lookups say; a row with damaged heads is that document's error only.
    #[test]
    fn stored_of_finds_the_present_documents_of_a_batch_as_single_lookups_do() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("store.db")).unwrap();
        let present: Vec<u8> = (0..150).filter(|i| i % 3 != 0).collect();
        store
            .write(|w| -> Result<()> {
                for &i in &present {
                    let mut doc = Automerge::new();
                    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                        tx.put(automerge::ROOT, "n", i64::from(i))?;
                        Ok(())
                    })
                    .unwrap();
                    w.save_document(&key(i), DocKind::Opaque, &doc, &[])?;
                }
                Ok(())
            })
            .unwrap();
        store
            .connection()
            .execute(
                "UPDATE documents SET heads = x'0102' WHERE doc_id = ?1",
                [&key(7)[..]],
            )
            .unwrap();
        let keys: Vec<DocKey> = (0..150).map(key).collect();
        assert!(
            keys.len() > 2 * STORED_LOOKUP_KEYS,
            "precondition: three statements"
        );
        let stored = store.read(|r| r.stored_of(&keys)).unwrap();
        assert_eq!(stored.len(), present.len());
        for i in 0..150u8 {
            let single_bytes = store.read(|r| r.document_bytes_of(&key(i))).unwrap();
            let found = stored.get(&key(i));
            assert_eq!(found.map(|s| s.bytes), single_bytes, "document {i}");
            if i == 7 {
                assert!(found.unwrap().heads().is_err(), "damaged heads: an error");
                assert!(store.read(|r| r.document_heads(&key(i))).is_err());
                continue;
            }
            let single_heads = store.read(|r| r.document_heads(&key(i))).unwrap();
            assert_eq!(
                found.map(|s| s.heads().unwrap()),
                single_heads,
                "document {i}"
            );
        }
        assert!(store.read(|r| r.stored_of(&[])).unwrap().is_empty());
    }
}
