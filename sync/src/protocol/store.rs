//! What the session needs from the node: its documents, its change feed,
//! what it knows each peer holds, and a way to commit atomically. And the
//! admission rule (scope) for what a peer sends.
//!
//! The session calls these synchronously; the node implements them on
//! SQLite, the tests on [`super::memory::MemoryStore`].

use automerge::{ActorId, Automerge, ChangeHash};

use super::attest::Attestation;

use crate::document_id::DocumentId;

/// A peer's identity (the SHA-256 of its public key).
pub type PeerId = [u8; 32];

/// A document changed at feed sequence `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedItem {
    pub doc: DocumentId,
    pub seq: u64,
}

/// Where replication with a peer stands, in both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// The peer's feed sequence up to which everything in our scope is durable here.
    pub incoming: u64,
    /// Our feed sequence up to which the peer has confirmed everything in its scope.
    pub outgoing: u64,
}

/// A document changed by a peer, to be stored.
#[derive(Debug)]
pub struct Received {
    pub doc: DocumentId,
    pub document: Automerge,
    /// The heads the store had before (empty for a new document).
    pub before: Vec<ChangeHash>,
    /// Heads the peer is now known to hold.
    pub peer_heads: Vec<ChangeHash>,
    /// For a document that arrived whole in one message: the bytes it came
    /// in, already checked to load completely, which the store may keep as
    /// its snapshot instead of saving the document again.
    pub snapshot: Option<Vec<u8>>,
    /// The verified attestations of the changes new to this node, stored
    /// in the same transaction: one per actor and document in the usual
    /// case, the earlier changes proven through the chain
    /// (`protocol::chain`).
    pub attestations: Vec<Attestation>,
    /// What admission read of this document when it admitted it
    /// (returned by [`Admission::admit`]; the node: the dossier), so the store
    /// need not read it again. The store checks that it was read from the
    /// document it commits (the node: the same heads) and reads it itself
    /// otherwise.
    pub reading: Option<Reading>,
}

/// What an [`Admission`] read of a document it admitted, handed to the
/// [`SyncStore`] with the document ([`Received::reading`]). Opaque to the
/// protocol: the node's admission and store agree on what it holds.
pub type Reading = Box<dyn std::any::Any + Send>;

/// A change the peer's message adds to a document (not held here before),
/// with the verified attestation that proves who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub hash: ChangeHash,
    /// The actor that wrote it, as the change itself says.
    pub actor: ActorId,
    /// The counters of its operations: `start_op..=max_op` (an object or
    /// value's id names its actor and counter, so the change that wrote it).
    pub start_op: u64,
    pub max_op: u64,
    /// Its own attestation, or (hash chaining, `protocol::chain`) that of
    /// a later change by the same actor whose history contains it — then
    /// `attestation.change` names that later change. Its signature is
    /// verified before anything is stored — the latest changes' in one
    /// batch with the other documents of the commit, after admission: a
    /// document whose proof then fails is refused whatever admission said.
    /// `None`: nothing the peer sent proves it.
    pub attestation: Option<Attestation>,
}

/// A document stored as one saved snapshot, with its heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeDocument {
    pub bytes: Vec<u8>,
    pub heads: Vec<ChangeHash>,
}

/// A blob's SHA-256 (of its whole content).
pub type BlobHash = [u8; 32];

/// A blob this node wants: referenced by a document it holds, not complete here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedBlob {
    pub hash: BlobHash,
    pub size: u64,
    /// SHA-256 of the concatenated chunk hashes (from the reference).
    pub root: [u8; 32],
    /// The chunk hashes, once fetched and verified against `root`.
    pub manifest: Option<Vec<[u8; 32]>>,
    /// Chunks not yet stored (all of them at first), as ranges: a
    /// reference's size is the peer's word, so nothing here is allocated
    /// per chunk it claims.
    pub missing: ChunkRanges,
}

/// A set of chunk indices kept as sorted, disjoint, non-empty half-open
/// ranges: `0..n` costs one range whatever `n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkRanges(Vec<std::ops::Range<u32>>);

impl ChunkRanges {
    /// Every chunk of a blob of `count` chunks.
    pub fn all(count: u32) -> Self {
        Self::missing_from(count, [])
    }

    /// The chunks below `count` not in `present` (indices in ascending
    /// order; those at or above `count` are ignored). Costs one range per
    /// gap, never one entry per missing chunk.
    pub fn missing_from(count: u32, present: impl IntoIterator<Item = u32>) -> Self {
        let mut ranges = Vec::new();
        let mut next = 0u32;
        for index in present {
            if index >= count {
                break;
            }
            if index > next {
                ranges.push(next..index);
            }
            next = next.max(index.saturating_add(1));
        }
        if next < count {
            ranges.push(next..count);
        }
        ChunkRanges(ranges)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many chunks.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|r| u64::from(r.end - r.start)).sum()
    }

    pub fn contains(&self, index: u32) -> bool {
        self.position(index).is_some()
    }

    fn position(&self, index: u32) -> Option<usize> {
        let at = self.0.partition_point(|r| r.end <= index);
        (at < self.0.len() && self.0[at].start <= index).then_some(at)
    }

    /// Remove one index; true if it was there.
    pub fn remove(&mut self, index: u32) -> bool {
        let Some(at) = self.position(index) else {
            return false;
        };
        let range = self.0[at].clone();
        match (range.start == index, range.end == index + 1) {
            (true, true) => {
                self.0.remove(at);
            }
            (true, false) => self.0[at].start = index + 1,
            (false, true) => self.0[at].end = index,
            (false, false) => {
                self.0[at].end = index;
                self.0.insert(at + 1, index + 1..range.end);
            }
        }
        true
    }

    /// Keep only indices below `count`.
    pub fn truncate(&mut self, count: u32) {
        self.0.retain(|r| r.start < count);
        if let Some(last) = self.0.last_mut() {
            last.end = last.end.min(count);
        }
    }

    /// The indices in ascending order, lazily.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|r| r.clone())
    }

    pub fn ranges(&self) -> &[std::ops::Range<u32>] {
        &self.0
    }
}

/// What storing a batch of verified chunks achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobSaved {
    /// More chunks to come.
    Partial,
    /// Every chunk stored and the whole content matched its hash.
    Complete,
    /// Every chunk stored but the content did not match its hash: the
    /// chunks were discarded (the reference itself is inconsistent).
    Corrupt,
}

/// Storage for the session.
pub trait SyncStore {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The latest feed sequence.
    fn last_seq(&mut self) -> Result<u64, Self::Error>;

    /// Feed entries with `after < seq ≤ upto` in the peer's scope, oldest
    /// first, at most `limit`.
    fn feed_for_peer(
        &mut self,
        peer: &PeerId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<FeedItem>, Self::Error>;

    /// The heads of a stored document, without loading it.
    fn heads(&mut self, doc: &DocumentId) -> Result<Option<Vec<ChangeHash>>, Self::Error>;

    fn load(&mut self, doc: &DocumentId) -> Result<Option<Automerge>, Self::Error>;

    /// The document's saved bytes and heads, when the store holds it as a
    /// single snapshot (no later chunks): sent as is to a peer that has none
    /// of it, without loading it. `None` makes the session load it instead.
    fn whole_document(&mut self, _doc: &DocumentId) -> Result<Option<WholeDocument>, Self::Error> {
        Ok(None)
    }

    /// Heads the peer is known to hold for a document (empty if unknown).
    fn peer_heads(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
    ) -> Result<Vec<ChangeHash>, Self::Error>;

    fn checkpoints(&mut self, peer: &PeerId) -> Result<Checkpoints, Self::Error>;

    /// Store received documents, what the peer holds, and the incoming
    /// checkpoint — all in one transaction, or nothing.
    fn commit_received(
        &mut self,
        peer: &PeerId,
        received: Vec<Received>,
        incoming: u64,
    ) -> Result<(), Self::Error>;

    /// Record what the peer confirmed holding, and the outgoing checkpoint.
    fn commit_acknowledged(
        &mut self,
        peer: &PeerId,
        acknowledged: Vec<(DocumentId, Vec<ChangeHash>)>,
        outgoing: u64,
    ) -> Result<(), Self::Error>;

    /// The stored attestations of `doc`'s changes in `changes` (all of the
    /// document's when `changes` is empty). A store without them keeps the
    /// default: none.
    fn attestations(
        &mut self,
        _doc: &DocumentId,
        _changes: &[ChangeHash],
    ) -> Result<Vec<Attestation>, Self::Error> {
        Ok(Vec::new())
    }

    /// The peer's own feed head as last heard (for progress reports).
    fn note_peer_head(&mut self, _peer: &PeerId, _last_seq: u64) -> Result<(), Self::Error> {
        Ok(())
    }

    // Blobs (attachments). A store without them keeps the defaults.

    /// Blobs this node wants that `peer` may hold (referenced by documents
    /// in the peer's scope), at most `limit`.
    fn wanted_blobs(
        &mut self,
        _peer: &PeerId,
        _limit: usize,
    ) -> Result<Vec<WantedBlob>, Self::Error> {
        Ok(Vec::new())
    }

    /// The chunk hashes of a complete blob `peer` may fetch from us.
    fn blob_for_peer(
        &mut self,
        _peer: &PeerId,
        _hash: &BlobHash,
    ) -> Result<Option<Vec<[u8; 32]>>, Self::Error> {
        Ok(None)
    }

    fn read_blob_chunk(
        &mut self,
        _hash: &BlobHash,
        _index: u32,
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(None)
    }

    /// Keep a manifest already verified against the blob's root.
    fn save_blob_manifest(
        &mut self,
        _hash: &BlobHash,
        _chunks: &[[u8; 32]],
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Store verified chunks durably; check the whole content once complete.
    fn save_blob_chunks(
        &mut self,
        _hash: &BlobHash,
        _chunks: Vec<(u32, Vec<u8>)>,
    ) -> Result<BlobSaved, Self::Error> {
        Ok(BlobSaved::Partial)
    }

    /// The peer confirmed it holds a blob.
    fn peer_has_blob(&mut self, _peer: &PeerId, _hash: &BlobHash) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The peer answered a want with `BlobMissing`: it does not hold the
    /// blob (yet). Forgotten when it says it has it (`peer_has_blob`).
    fn peer_lacks_blob(&mut self, _peer: &PeerId, _hash: &BlobHash) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Scope and validity: may a document, as it would be with the peer's
/// changes, be stored here? `Err` carries the reason sent back to the peer.
pub trait Admission {
    /// `before`: the heads the store held before the peer's changes (empty
    /// for a new document), so the document as it was can be compared with
    /// what the changes make of it (`Automerge::fork_at`). `changes`: the
    /// changes new to this node, each with its verified attestation if the
    /// peer sent one (issue 8). `Ok` may carry what admission read of the
    /// document, for the store to reuse at the commit
    /// ([`Received::reading`]; the node's dossier, read once instead of
    /// twice).
    fn admit(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
        document: &Automerge,
        existed: bool,
        before: &[ChangeHash],
        changes: &[NewChange],
    ) -> Result<Option<Reading>, String>;
}

/// Admit everything (tests, benchmarks).
pub struct AdmitAll;

impl Admission for AdmitAll {
    fn admit(
        &mut self,
        _: &PeerId,
        _: &DocumentId,
        _: &Automerge,
        _: bool,
        _: &[ChangeHash],
        _: &[NewChange],
    ) -> Result<Option<Reading>, String> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::ChunkRanges;

    #[test]
    fn chunk_ranges_cost_nothing_per_claimed_chunk() {
        let mut all = ChunkRanges::all(u32::MAX);
        assert_eq!(all.ranges().len(), 1);
        assert_eq!(all.count(), u64::from(u32::MAX));
        assert!(all.remove(7));
        assert!(!all.remove(7));
        assert!(!all.contains(7) && all.contains(6) && all.contains(8));
        assert_eq!(all.ranges(), &[0..7, 8..u32::MAX]);
        assert_eq!(
            all.iter().take(9).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5, 6, 8, 9]
        );
        let missing = ChunkRanges::missing_from(10, [0, 1, 4, 5, 9, 12]);
        assert_eq!(missing.ranges(), &[2..4, 6..9]);
        let mut short = ChunkRanges::missing_from(10, []);
        short.truncate(3);
        assert_eq!(short.ranges().len(), 1);
        assert_eq!(short.iter().collect::<Vec<_>>(), [0, 1, 2]);
        let mut one = ChunkRanges::all(1);
        assert!(one.remove(0));
        assert!(one.is_empty());
        assert!(ChunkRanges::all(0).is_empty());
    }
}
