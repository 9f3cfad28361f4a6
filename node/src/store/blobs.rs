//! Attachments: blobs stored in 64 KiB chunks, referenced from dossiers.
//!
//! A blob is written chunk by chunk as it streams in (from a file at the
//! desk, or from a peer) and never held whole in memory; it is usable only
//! once complete and verified against its hash.

use std::io::Read;

use lienthong_shared::dossier::AttachmentRef;
use lienthong_shared::dossier::attachment::{AttachmentHasher, CHUNK_SIZE, Hashed, chunk_count};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::documents::DocKey;
use super::peers::PeerKey;
use super::{Reader, Result, StoreError, Writer};

pub use lienthong_sync::protocol::BlobHash;

/// A stored blob's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub hash: BlobHash,
    pub size: u64,
    pub media_type: String,
    pub root: [u8; 32],
    pub manifest: Option<Vec<[u8; 32]>>,
    pub complete: bool,
    pub stored_bytes: u64,
}

pub use lienthong_sync::protocol::{BlobSaved, ChunkRanges, WantedBlob};

/// Attachment bytes waiting between this node and one peer
/// (`Reader::blob_bytes_waiting`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobBytesWaiting {
    /// Complete here, in the peer's scope, not known to be held there.
    pub to_send: u64,
    /// Wanted here, and the peer is known to hold them.
    pub to_receive_held: u64,
    /// Wanted here, the peer may be asked, and has not said it lacks them.
    pub to_receive_unknown: u64,
}

impl BlobBytesWaiting {
    /// Bytes this peer can supply: held there, or perhaps held there.
    pub fn to_receive(&self) -> u64 {
        self.to_receive_held + self.to_receive_unknown
    }
}

/// A row of `wanted_blobs`' query: hash, size, root, manifest.
type WantedRow = (Vec<u8>, i64, Vec<u8>, Option<Vec<u8>>);

fn hash32(bytes: &[u8]) -> Option<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).ok()
}

fn split_manifest(bytes: &[u8]) -> Option<Vec<[u8; 32]>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes.chunks_exact(32).map(hash32).collect()
}

fn join_manifest(chunks: &[[u8; 32]]) -> Vec<u8> {
    chunks.iter().flatten().copied().collect()
}

fn hex_hash(text: &str) -> Option<[u8; 32]> {
    lienthong_shared::dossier::attachment::parse_hash(text)
}

impl Reader<'_> {
    pub fn blob(&self, hash: &BlobHash) -> Result<Option<BlobRow>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT size, media_type, root, manifest, complete, stored_bytes FROM blobs WHERE hash = ?1")?
            .query_row([&hash[..]], |row| {
                let root: Vec<u8> = row.get(2)?;
                let manifest: Option<Vec<u8>> = row.get(3)?;
                Ok(BlobRow {
                    hash: *hash,
                    size: row.get::<_, i64>(0)?.max(0) as u64,
                    media_type: row.get(1)?,
                    root: hash32(&root).unwrap_or([0; 32]),
                    manifest: manifest.and_then(|m| split_manifest(&m)),
                    complete: row.get::<_, i64>(4)? != 0,
                    stored_bytes: row.get::<_, i64>(5)?.max(0) as u64,
                })
            })
            .optional()?)
    }

    pub fn blob_chunk(&self, hash: &BlobHash, index: u32) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT data FROM blob_chunks WHERE hash = ?1 AND idx = ?2")?
            .query_row(params![&hash[..], index], |row| row.get(0))
            .optional()?)
    }

    /// Write a complete blob to `out`, chunk by chunk, checking its hash;
    /// returns the bytes written.
    pub fn copy_blob(&self, hash: &BlobHash, out: &mut impl std::io::Write) -> Result<u64> {
        let blob = self
            .blob(hash)?
            .filter(|b| b.complete)
            .ok_or_else(|| StoreError::Invalid("attachment not complete on this node".into()))?;
        let mut content = Sha256::new();
        let mut written = 0u64;
        for index in 0..chunk_count(blob.size) {
            let chunk =
                self.blob_chunk(hash, index)?
                    .ok_or_else(|| StoreError::CorruptDocument {
                        doc: lienthong_shared::dossier::attachment::hex(hash),
                        problem: format!("chunk {index} missing from a complete attachment"),
                    })?;
            content.update(&chunk);
            out.write_all(&chunk)
                .map_err(|e| StoreError::Invalid(format!("writing the attachment: {e}")))?;
            written += chunk.len() as u64;
        }
        let actual: [u8; 32] = content.finalize().into();
        if &actual != hash || written != blob.size {
            return Err(StoreError::CorruptDocument {
                doc: lienthong_shared::dossier::attachment::hex(hash),
                problem: "stored attachment does not match its hash (disk corruption?)".into(),
            });
        }
        Ok(written)
    }

    /// Blobs referenced by documents in `node`'s scope and not complete
    /// here, at most `max_size` bytes each (larger references are refused
    /// at admission and quarantined at start; never fetched). Quarantined
    /// documents' references are left out. The chunks missing are computed
    /// from those stored, as ranges: nothing is allocated per chunk a
    /// reference merely claims.
    pub fn wanted_blobs(&self, node: &str, limit: usize, max_size: u64) -> Result<Vec<WantedBlob>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT r.hash, max(r.size), max(r.root), b.manifest
             FROM blob_refs r
             JOIN doc_scope s ON s.doc_id = r.doc_id AND s.node IN (?1, '*')
             LEFT JOIN blobs b ON b.hash = r.hash
             WHERE coalesce(b.complete, 0) = 0
               AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = r.doc_id)
             GROUP BY r.hash HAVING max(r.size) BETWEEN 0 AND ?3
             ORDER BY r.hash LIMIT ?2",
        )?;
        let max_size = i64::try_from(max_size).unwrap_or(i64::MAX);
        let rows: Vec<WantedRow> = statement
            .query_map(params![node, limit as i64, max_size], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut wanted = Vec::new();
        for (hash, size, root, manifest) in rows {
            let (Some(hash), Some(root)) = (hash32(&hash), hash32(&root)) else {
                continue;
            };
            let size = size.max(0) as u64;
            let count = chunk_count(size);
            let held: Vec<u32> = self
                .conn()
                .prepare_cached(
                    "SELECT idx FROM blob_chunks WHERE hash = ?1 AND idx < ?2 ORDER BY idx",
                )?
                .query_map(params![&hash[..], count], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            wanted.push(WantedBlob {
                hash,
                size,
                root,
                manifest: manifest.and_then(|m| split_manifest(&m)),
                missing: ChunkRanges::missing_from(count, held),
            });
        }
        Ok(wanted)
    }

    /// The manifest of a complete blob, if `node` may fetch it (a document
    /// in its scope references it).
    pub fn blob_for_node(&self, node: &str, hash: &BlobHash) -> Result<Option<Vec<[u8; 32]>>> {
        let referenced: bool = self
            .conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM blob_refs r JOIN doc_scope s ON s.doc_id = r.doc_id
                 WHERE r.hash = ?1 AND s.node IN (?2, '*')
                   AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = r.doc_id))",
            )?
            .query_row(params![&hash[..], node], |row| row.get(0))?;
        if !referenced {
            return Ok(None);
        }
        Ok(self
            .blob(hash)?
            .filter(|b| b.complete)
            .and_then(|b| b.manifest))
    }

    /// Attachment bytes waiting between this node and one peer (`peer` its
    /// node id, `node` the office it serves as).
    ///
    /// To send: complete here, referenced in its scope, not known to be
    /// held there. To receive: wanted here (referenced by a document in its
    /// scope that is not quarantined, at most `max_size` bytes, not yet
    /// complete; the bytes still missing) **and suppliable by that peer** —
    /// it is known to hold the blob (it sent the manifest, or said it has
    /// it), or it may be asked and has not answered "missing". A peer that
    /// said it lacks a blob is not counted until it says it has it, so the
    /// bytes show under the peers that can actually supply them.
    pub fn blob_bytes_waiting(
        &self,
        peer: &PeerKey,
        node: &str,
        max_size: u64,
    ) -> Result<BlobBytesWaiting> {
        let to_send: i64 = self.conn().prepare_cached(
            "SELECT coalesce(sum(b.size), 0) FROM blobs b
             WHERE b.complete = 1
               AND EXISTS (SELECT 1 FROM blob_refs r JOIN doc_scope s ON s.doc_id = r.doc_id
                           WHERE r.hash = b.hash AND s.node IN (?2, '*'))
               AND NOT EXISTS (SELECT 1 FROM peer_blobs p WHERE p.node_id = ?1 AND p.hash = b.hash)",
        )?
        .query_row(params![&peer[..], node], |row| row.get(0))?;
        let (held, unknown): (i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT
                   coalesce(sum(CASE WHEN h.hash IS NOT NULL THEN w.size - coalesce(b.stored_bytes, 0) END), 0),
                   coalesce(sum(CASE WHEN h.hash IS NULL AND m.hash IS NULL
                                     THEN w.size - coalesce(b.stored_bytes, 0) END), 0)
                 FROM (SELECT r.hash, max(r.size) AS size FROM blob_refs r
                       JOIN doc_scope s ON s.doc_id = r.doc_id AND s.node IN (?2, '*')
                       WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.doc_id = r.doc_id)
                       GROUP BY r.hash HAVING max(r.size) BETWEEN 0 AND ?3) w
                 LEFT JOIN blobs b ON b.hash = w.hash
                 LEFT JOIN peer_blobs h ON h.node_id = ?1 AND h.hash = w.hash
                 LEFT JOIN peer_blob_misses m ON m.node_id = ?1 AND m.hash = w.hash
                 WHERE coalesce(b.complete, 0) = 0",
            )?
            .query_row(
                params![&peer[..], node, i64::try_from(max_size).unwrap_or(i64::MAX)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
        Ok(BlobBytesWaiting {
            to_send: to_send.max(0) as u64,
            to_receive_held: held.max(0) as u64,
            to_receive_unknown: unknown.max(0) as u64,
        })
    }

    /// Incomplete blobs with progress: (hash, stored, size).
    pub fn blobs_in_progress(&self) -> Result<Vec<(BlobHash, u64, u64)>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT hash, stored_bytes, size FROM blobs WHERE complete = 0 AND stored_bytes > 0",
        )?;
        let rows: Vec<(Vec<u8>, i64, i64)> = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(h, stored, size)| {
                Some((hash32(&h)?, stored.max(0) as u64, size.max(0) as u64))
            })
            .collect())
    }
}

impl Writer<'_> {
    /// Stream `source` into the store as a complete blob; returns its hashes.
    pub fn put_blob(&self, mut source: impl Read, media_type: &str) -> Result<Hashed> {
        let mut hasher = AttachmentHasher::new();
        let mut buffer = vec![0u8; CHUNK_SIZE];
        let mut pending: Vec<Vec<u8>> = Vec::new();
        // Chunks go to a staging key until the hash is known.
        let staging: [u8; 32] = [0xff; 32];
        self.conn()
            .prepare_cached("DELETE FROM blob_chunks WHERE hash = ?1")?
            .execute([&staging[..]])?;
        let mut index: u32 = 0;
        loop {
            let read = source
                .read(&mut buffer)
                .map_err(|e| StoreError::Invalid(format!("reading the file: {e}")))?;
            if read == 0 {
                break;
            }
            pending.extend(hasher.update(&buffer[..read]));
            for chunk in pending.drain(..) {
                self.insert_chunk(&staging, index, &chunk)?;
                index += 1;
            }
        }
        let (last, hashed) = hasher.finish();
        if let Some(chunk) = last {
            self.insert_chunk(&staging, index, &chunk)?;
        }
        let exists = self
            .reader()
            .blob(&hashed.content)?
            .is_some_and(|b| b.complete);
        if exists {
            self.conn()
                .prepare_cached("DELETE FROM blob_chunks WHERE hash = ?1")?
                .execute([&staging[..]])?;
        } else {
            self.conn()
                .prepare_cached("DELETE FROM blob_chunks WHERE hash = ?1")?
                .execute([&hashed.content[..]])?;
            self.conn()
                .prepare_cached("UPDATE blob_chunks SET hash = ?2 WHERE hash = ?1")?
                .execute(params![&staging[..], &hashed.content[..]])?;
            self.conn()
                .prepare_cached(
                    "INSERT OR REPLACE INTO blobs (hash, size, media_type, root, manifest, complete, stored_bytes)
                     VALUES (?1, ?2, ?3, ?4, ?5, 1, ?2)",
                )?
                .execute(params![
                    &hashed.content[..],
                    hashed.size as i64,
                    media_type,
                    &hashed.root[..],
                    join_manifest(&hashed.chunk_hashes)
                ])?;
        }
        Ok(hashed)
    }

    fn insert_chunk(&self, hash: &[u8; 32], index: u32, data: &[u8]) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO blob_chunks (hash, idx, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![&hash[..], index, data])?;
        Ok(())
    }

    /// Record which blobs a document references.
    pub fn set_blob_refs(&self, doc: &DocKey, refs: &[AttachmentRef]) -> Result<()> {
        let current: std::collections::BTreeSet<Vec<u8>> = self
            .conn()
            .prepare_cached("SELECT hash FROM blob_refs WHERE doc_id = ?1")?
            .query_map([&doc[..]], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let wanted: std::collections::BTreeSet<Vec<u8>> = refs
            .iter()
            .filter_map(|r| hex_hash(&r.hash))
            .map(|h| h.to_vec())
            .collect();
        if current == wanted {
            return Ok(());
        }
        self.conn()
            .prepare_cached("DELETE FROM blob_refs WHERE doc_id = ?1")?
            .execute([&doc[..]])?;
        let mut insert = self.conn().prepare_cached(
            "INSERT OR REPLACE INTO blob_refs (hash, doc_id, size, root, media_type) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in refs {
            let (Some(hash), Some(root)) = (hex_hash(&r.hash), hex_hash(&r.chunks_root)) else {
                continue;
            };
            insert.execute(params![
                &hash[..],
                &doc[..],
                r.size as i64,
                &root[..],
                r.media_type
            ])?;
        }
        Ok(())
    }

    /// Keep a verified manifest for a blob being fetched.
    pub fn save_blob_manifest(&self, hash: &BlobHash, manifest: &[[u8; 32]]) -> Result<()> {
        self.ensure_blob_row(hash)?;
        self.conn()
            .prepare_cached("UPDATE blobs SET manifest = ?2 WHERE hash = ?1")?
            .execute(params![&hash[..], join_manifest(manifest)])?;
        Ok(())
    }

    fn ensure_blob_row(&self, hash: &BlobHash) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO blobs (hash, size, media_type, root)
                 SELECT hash, size, media_type, root FROM blob_refs WHERE hash = ?1 LIMIT 1",
            )?
            .execute([&hash[..]])?;
        Ok(())
    }

    /// Store verified chunks; when all are there, check the content hash
    /// (streaming) and mark the blob complete — or discard it.
    pub fn save_blob_chunks(
        &self,
        hash: &BlobHash,
        chunks: Vec<(u32, Vec<u8>)>,
    ) -> Result<BlobSaved> {
        self.ensure_blob_row(hash)?;
        let Some(blob) = self.reader().blob(hash)? else {
            return Ok(BlobSaved::Partial);
        };
        if blob.complete {
            return Ok(BlobSaved::Complete);
        }
        for (index, data) in &chunks {
            self.insert_chunk(hash, *index, data)?;
        }
        let (count, bytes): (i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT count(*), coalesce(sum(length(data)), 0) FROM blob_chunks WHERE hash = ?1",
            )?
            .query_row([&hash[..]], |row| Ok((row.get(0)?, row.get(1)?)))?;
        self.conn()
            .prepare_cached("UPDATE blobs SET stored_bytes = ?2 WHERE hash = ?1")?
            .execute(params![&hash[..], bytes])?;
        if (count as u64) < u64::from(chunk_count(blob.size)) {
            return Ok(BlobSaved::Partial);
        }
        let mut content = Sha256::new();
        {
            let mut statement = self
                .conn()
                .prepare_cached("SELECT data FROM blob_chunks WHERE hash = ?1 ORDER BY idx")?;
            let mut rows = statement.query([&hash[..]])?;
            while let Some(row) = rows.next()? {
                let data: Vec<u8> = row.get(0)?;
                content.update(&data);
            }
        }
        let actual: [u8; 32] = content.finalize().into();
        if &actual == hash && bytes as u64 == blob.size {
            self.conn()
                .prepare_cached("UPDATE blobs SET complete = 1 WHERE hash = ?1")?
                .execute([&hash[..]])?;
            Ok(BlobSaved::Complete)
        } else {
            self.conn()
                .prepare_cached("DELETE FROM blob_chunks WHERE hash = ?1")?
                .execute([&hash[..]])?;
            self.conn()
                .prepare_cached(
                    "UPDATE blobs SET stored_bytes = 0, manifest = NULL WHERE hash = ?1",
                )?
                .execute([&hash[..]])?;
            Ok(BlobSaved::Corrupt)
        }
    }

    /// Drop a stored chunk found damaged (it no longer matches its hash in
    /// the manifest): the blob is incomplete again, so the sessions fetch
    /// that chunk anew from a peer that holds the blob.
    pub fn discard_blob_chunk(&self, hash: &BlobHash, index: u32) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM blob_chunks WHERE hash = ?1 AND idx = ?2")?
            .execute(params![&hash[..], index])?;
        self.conn()
            .prepare_cached(
                "UPDATE blobs SET complete = 0, stored_bytes =
                    (SELECT coalesce(sum(length(data)), 0) FROM blob_chunks WHERE hash = ?1)
                 WHERE hash = ?1",
            )?
            .execute([&hash[..]])?;
        Ok(())
    }

    /// The peer holds the blob (it sent its manifest, fetched it from us,
    /// or told us it now has it).
    pub fn peer_has_blob(&self, peer: &PeerKey, hash: &BlobHash) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT OR IGNORE INTO peer_blobs (node_id, hash) VALUES (?1, ?2)")?
            .execute(params![&peer[..], &hash[..]])?;
        self.conn()
            .prepare_cached("DELETE FROM peer_blob_misses WHERE node_id = ?1 AND hash = ?2")?
            .execute(params![&peer[..], &hash[..]])?;
        Ok(())
    }

    /// The peer answered a want for the blob with "missing": it is not
    /// counted as a supplier until it says it has the blob.
    pub fn peer_lacks_blob(&self, peer: &PeerKey, hash: &BlobHash) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO peer_blob_misses (node_id, hash) VALUES (?1, ?2)",
            )?
            .execute(params![&peer[..], &hash[..]])?;
        Ok(())
    }
}
