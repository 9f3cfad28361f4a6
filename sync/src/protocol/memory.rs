//! An in-memory [`SyncStore`], for the protocol's own tests and benchmarks.
//! Mirrors the node's SQLite store: a feed with one entry per document,
//! heads per peer, checkpoints, optional scope.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;

use automerge::{Automerge, ChangeHash};

use sha2::{Digest, Sha256};

use super::attest::Attestation;
use super::frame::BLOB_CHUNK_SIZE;
use super::store::{
    Admission, BlobHash, BlobSaved, Checkpoints, ChunkRanges, FeedItem, PeerId, Received,
    SyncStore, WantedBlob, WholeDocument,
};
use crate::document_id::DocumentId;

#[derive(Default, Clone)]
pub struct MemoryStore {
    docs: HashMap<DocumentId, Automerge>,
    feed: BTreeMap<u64, DocumentId>,
    seq_of: HashMap<DocumentId, u64>,
    last_seq: u64,
    peer_heads: HashMap<(PeerId, DocumentId), Vec<ChangeHash>>,
    checkpoints: HashMap<PeerId, Checkpoints>,
    /// Documents each peer may receive; absent peer = everything.
    scope: HashMap<PeerId, HashSet<DocumentId>>,
    /// Number of successful commits of received documents.
    pub commits: usize,
    /// Complete blobs: content and chunk hashes.
    blobs: HashMap<BlobHash, (Vec<u8>, Vec<[u8; 32]>)>,
    /// Blobs wanted here: size and chunk root.
    wanted: BTreeMap<BlobHash, (u64, [u8; 32])>,
    partial: HashMap<BlobHash, BTreeMap<u32, Vec<u8>>>,
    manifests: HashMap<BlobHash, Vec<[u8; 32]>>,
    /// Serve this chunk corrupted, this many times (tests).
    pub corrupt_chunk: Option<(BlobHash, u32, usize)>,
    /// Chunks served, per blob (tests).
    pub chunks_served: HashMap<BlobHash, usize>,
    /// Saved bytes served as a document's whole snapshot, as the node serves
    /// what lies on its disk (tests).
    pub saved: HashMap<DocumentId, Vec<u8>>,
    /// Change attestations per document: put by [`Self::attest`] (an
    /// author's own), kept from received documents, forwarded to peers.
    attestations: HashMap<DocumentId, Vec<Attestation>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Store a local change (or a new document) and bump the feed.
    pub fn put(&mut self, doc: DocumentId, document: Automerge) {
        if self.docs.get(&doc).map(|d| d.get_heads()) == Some(document.get_heads()) {
            return;
        }
        self.docs.insert(doc, document);
        self.bump(doc);
    }

    fn bump(&mut self, doc: DocumentId) {
        if let Some(old) = self.seq_of.remove(&doc) {
            self.feed.remove(&old);
        }
        self.last_seq += 1;
        self.feed.insert(self.last_seq, doc);
        self.seq_of.insert(doc, self.last_seq);
    }

    /// Keep attestations of `doc`'s changes (a change keeps the first).
    pub fn attest(&mut self, doc: DocumentId, list: impl IntoIterator<Item = Attestation>) {
        let held = self.attestations.entry(doc).or_default();
        for a in list {
            if !held.iter().any(|h| h.change == a.change) {
                held.push(a);
            }
        }
    }

    /// The attestations held for `doc`.
    pub fn attestations_of(&self, doc: &DocumentId) -> &[Attestation] {
        self.attestations.get(doc).map_or(&[], Vec::as_slice)
    }

    pub fn get(&self, doc: &DocumentId) -> Option<&Automerge> {
        self.docs.get(doc)
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn documents(&self) -> impl Iterator<Item = (&DocumentId, &Automerge)> {
        self.docs.iter()
    }

    /// Only these documents go to `peer`.
    pub fn restrict(&mut self, peer: PeerId, docs: impl IntoIterator<Item = DocumentId>) {
        self.scope.insert(peer, docs.into_iter().collect());
    }

    pub fn checkpoint(&self, peer: &PeerId) -> Checkpoints {
        self.checkpoints.get(peer).copied().unwrap_or_default()
    }

    /// Hold a complete blob; returns its hash and chunk root.
    pub fn add_blob(&mut self, content: &[u8]) -> (BlobHash, [u8; 32]) {
        let hash: BlobHash = Sha256::digest(content).into();
        let chunks: Vec<[u8; 32]> = if content.is_empty() {
            vec![Sha256::digest([]).into()]
        } else {
            content
                .chunks(BLOB_CHUNK_SIZE)
                .map(|c| Sha256::digest(c).into())
                .collect()
        };
        let mut root = Sha256::new();
        for c in &chunks {
            root.update(c);
        }
        let root: [u8; 32] = root.finalize().into();
        self.blobs.insert(hash, (content.to_vec(), chunks));
        (hash, root)
    }

    /// Want a blob (as if a document referenced it).
    pub fn want_blob(&mut self, hash: BlobHash, size: u64, root: [u8; 32]) {
        if !self.blobs.contains_key(&hash) {
            self.wanted.insert(hash, (size, root));
        }
    }

    pub fn blob(&self, hash: &BlobHash) -> Option<&[u8]> {
        self.blobs.get(hash).map(|(content, _)| content.as_slice())
    }

    /// Chunks held of a blob still incomplete.
    pub fn partial_chunks(&self, hash: &BlobHash) -> usize {
        self.partial.get(hash).map_or(0, BTreeMap::len)
    }

    pub fn total_saved_bytes(&self) -> usize {
        self.docs.values().map(|d| d.save().len()).sum()
    }
}

impl SyncStore for MemoryStore {
    type Error = Infallible;

    fn last_seq(&mut self) -> Result<u64, Infallible> {
        Ok(self.last_seq)
    }

    fn feed_for_peer(
        &mut self,
        peer: &PeerId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<FeedItem>, Infallible> {
        let scope = self.scope.get(peer);
        Ok(self
            .feed
            .range(after + 1..=upto)
            .filter(|(_, doc)| scope.is_none_or(|s| s.contains(doc)))
            .take(limit)
            .map(|(seq, doc)| FeedItem {
                doc: *doc,
                seq: *seq,
            })
            .collect())
    }

    fn heads(&mut self, doc: &DocumentId) -> Result<Option<Vec<ChangeHash>>, Infallible> {
        Ok(self.docs.get(doc).map(|d| d.get_heads()))
    }

    fn load(&mut self, doc: &DocumentId) -> Result<Option<Automerge>, Infallible> {
        Ok(self.docs.get(doc).cloned())
    }

    fn whole_document(&mut self, doc: &DocumentId) -> Result<Option<WholeDocument>, Infallible> {
        Ok(self
            .saved
            .get(doc)
            .zip(self.docs.get(doc))
            .map(|(bytes, document)| WholeDocument {
                bytes: bytes.clone(),
                heads: document.get_heads(),
            }))
    }

    fn peer_heads(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
    ) -> Result<Vec<ChangeHash>, Infallible> {
        Ok(self
            .peer_heads
            .get(&(*peer, *doc))
            .cloned()
            .unwrap_or_default())
    }

    fn checkpoints(&mut self, peer: &PeerId) -> Result<Checkpoints, Infallible> {
        Ok(self.checkpoint(peer))
    }

    fn commit_received(
        &mut self,
        peer: &PeerId,
        received: Vec<Received>,
        incoming: u64,
    ) -> Result<(), Infallible> {
        for r in received {
            self.attest(r.doc, r.attestations);
            self.peer_heads.insert((*peer, r.doc), r.peer_heads);
            let changed =
                self.docs.get(&r.doc).map(|d| d.get_heads()) != Some(r.document.get_heads());
            if changed {
                self.docs.insert(r.doc, r.document);
                self.bump(r.doc);
            }
        }
        self.checkpoints.entry(*peer).or_default().incoming = incoming;
        self.commits += 1;
        Ok(())
    }

    fn attestations(
        &mut self,
        doc: &DocumentId,
        changes: &[ChangeHash],
    ) -> Result<Vec<Attestation>, Infallible> {
        Ok(self
            .attestations_of(doc)
            .iter()
            .filter(|a| changes.is_empty() || changes.iter().any(|c| c.0 == a.change))
            .cloned()
            .collect())
    }

    fn wanted_blobs(
        &mut self,
        _peer: &PeerId,
        limit: usize,
    ) -> Result<Vec<WantedBlob>, Infallible> {
        Ok(self
            .wanted
            .iter()
            .take(limit)
            .map(|(hash, (size, root))| {
                let count = (size.div_ceil(BLOB_CHUNK_SIZE as u64).max(1)) as u32;
                let have = self.partial.get(hash);
                WantedBlob {
                    hash: *hash,
                    size: *size,
                    root: *root,
                    manifest: self.manifests.get(hash).cloned(),
                    missing: ChunkRanges::missing_from(
                        count,
                        have.into_iter().flat_map(|h| h.keys().copied()),
                    ),
                }
            })
            .collect())
    }

    fn blob_for_peer(
        &mut self,
        _peer: &PeerId,
        hash: &BlobHash,
    ) -> Result<Option<Vec<[u8; 32]>>, Infallible> {
        Ok(self.blobs.get(hash).map(|(_, chunks)| chunks.clone()))
    }

    fn read_blob_chunk(
        &mut self,
        hash: &BlobHash,
        index: u32,
    ) -> Result<Option<Vec<u8>>, Infallible> {
        let Some((content, _)) = self.blobs.get(hash) else {
            return Ok(None);
        };
        let start = index as usize * BLOB_CHUNK_SIZE;
        if start > content.len() {
            return Ok(None);
        }
        let mut chunk = content[start..(start + BLOB_CHUNK_SIZE).min(content.len())].to_vec();
        *self.chunks_served.entry(*hash).or_default() += 1;
        if let Some((h, i, times)) = &mut self.corrupt_chunk
            && h == hash
            && *i == index
            && *times > 0
        {
            *times -= 1;
            if let Some(byte) = chunk.first_mut() {
                *byte ^= 0xff;
            }
        }
        Ok(Some(chunk))
    }

    fn save_blob_manifest(
        &mut self,
        hash: &BlobHash,
        chunks: &[[u8; 32]],
    ) -> Result<(), Infallible> {
        self.manifests.insert(*hash, chunks.to_vec());
        Ok(())
    }

    fn save_blob_chunks(
        &mut self,
        hash: &BlobHash,
        chunks: Vec<(u32, Vec<u8>)>,
    ) -> Result<BlobSaved, Infallible> {
        let Some((size, _)) = self.wanted.get(hash).copied() else {
            return Ok(BlobSaved::Partial);
        };
        let partial = self.partial.entry(*hash).or_default();
        for (index, data) in chunks {
            partial.insert(index, data);
        }
        let count = (size.div_ceil(BLOB_CHUNK_SIZE as u64).max(1)) as usize;
        if partial.len() < count {
            return Ok(BlobSaved::Partial);
        }
        let content: Vec<u8> = partial.values().flatten().copied().collect();
        let actual: BlobHash = Sha256::digest(&content).into();
        self.partial.remove(hash);
        if &actual != hash {
            return Ok(BlobSaved::Corrupt);
        }
        self.wanted.remove(hash);
        let chunks = self.manifests.remove(hash).unwrap_or_default();
        self.blobs.insert(*hash, (content, chunks));
        Ok(BlobSaved::Complete)
    }

    fn commit_acknowledged(
        &mut self,
        peer: &PeerId,
        acknowledged: Vec<(DocumentId, Vec<ChangeHash>)>,
        outgoing: u64,
    ) -> Result<(), Infallible> {
        for (doc, heads) in acknowledged {
            self.peer_heads.insert((*peer, doc), heads);
        }
        self.checkpoints.entry(*peer).or_default().outgoing = outgoing;
        Ok(())
    }
}

/// Admission from a fixed refusal list.
#[derive(Default)]
pub struct RefuseList(pub HashSet<DocumentId>);

impl Admission for RefuseList {
    fn admit(
        &mut self,
        _: &PeerId,
        doc: &DocumentId,
        _: &Automerge,
        _: bool,
        _: &[automerge::ChangeHash],
        _: &[super::store::NewChange],
    ) -> Result<Option<super::store::Reading>, String> {
        if self.0.contains(doc) {
            Err("not in this node's scope".into())
        } else {
            Ok(None)
        }
    }
}
