//! Blob (attachment) transfer within a session, both ways.
//!
//! Receiving: for each blob this node wants and the peer may hold, ask for
//! its manifest (the chunk hashes, checked against the root carried by the
//! dossier's reference) and then for chunks, a bounded window at a time.
//! Every chunk is checked against the manifest on arrival — a corrupt one
//! is dropped and asked for again — and verified chunks are stored as they
//! come, so a cut transfer resumes with the chunks still missing, not from
//! zero. The store checks the whole content hash when the last chunk lands.
//!
//! Sending: answer each want with the manifest and the chunks asked for,
//! read from the store one chunk at a time (a blob is never whole in memory)
//! and only while the send queue has room: a want is remembered (a hash and
//! chunk numbers), not answered into the queue. A peer may have at most
//! [`MAX_SERVING_CHUNKS`] chunks asked and not yet sent, over at most
//! [`MAX_SERVING_BLOBS`] blobs; more is a protocol error. An honest peer
//! asks for at most `PARALLEL × BLOB_WINDOW_CHUNKS` (16) chunks before it
//! has received some, so only a peer asking without reading gets there —
//! and making it wait instead would mean keeping its requests.
//!
//! A blob the peer asks for and this node does not hold yet (a relay still
//! fetching it, or a copy found damaged on disk) is owed: once the store
//! has it, the peer is told with `BlobHave` and asks again. Without that, a
//! district asked too early for an attachment it was still receiving from a
//! commune would leave the province without it until the next session.
//!
//! A peer that keeps sending a chunk that fails verification (a damaged
//! copy it does not notice) is asked a few times, then given up on for this
//! session, rather than asked forever.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use sha2::{Digest, Sha256};

use super::frame::{BLOB_CHUNK_SIZE, Frame, MAX_WANT_CHUNKS};
use super::session::{Output, SessionError, SessionEvent};
use super::store::{BlobHash, BlobSaved, ChunkRanges, PeerId, SyncStore};

/// Blobs fetched at once from one peer.
pub(crate) const PARALLEL: usize = 2;
/// Chunks requested and not yet received, per blob: 512 KiB, about 11 s of
/// a 384 kbit/s link, and 14 Mbit/s at a 300 ms round trip. Bigger windows
/// fill a slow link's queue without speeding it up, and a connection that
/// dies throws away what is in flight (sent again by the next session).
pub const BLOB_WINDOW_CHUNKS: usize = 8;
/// Verified chunks buffered before a store write.
pub(crate) const STORE_BATCH: usize = 8;
/// Times one chunk may fail verification before the peer's copy is given
/// up on for the session.
const MAX_BAD_CHUNK: u32 = 4;
/// Chunks a peer may have asked for and not yet been sent (4 MiB): four
/// times what this node's own fetching ever has outstanding.
pub const MAX_SERVING_CHUNKS: usize = 64;
/// Blobs with wants not yet answered.
pub const MAX_SERVING_BLOBS: usize = 16;

/// A want of the peer's, not yet answered in full.
struct Serving {
    hash: BlobHash,
    manifest: bool,
    chunks: VecDeque<u32>,
    /// Chunks in the blob, once the store has been asked (it may hold the
    /// blob, and the peer may have it).
    count: Option<usize>,
}

struct Fetch {
    size: u64,
    root: [u8; 32],
    manifest: Option<Vec<[u8; 32]>>,
    missing: ChunkRanges,
    requested: BTreeSet<u32>,
    verified: Vec<(u32, Vec<u8>)>,
    /// Chunks that failed verification, and how often.
    bad: HashMap<u32, u32>,
}

impl Fetch {
    fn expected_len(&self, index: u32) -> usize {
        let start = u64::from(index) * BLOB_CHUNK_SIZE as u64;
        (self.size.saturating_sub(start)).min(BLOB_CHUNK_SIZE as u64) as usize
    }
}

#[derive(Default)]
pub(crate) struct Blobs {
    fetching: HashMap<BlobHash, Fetch>,
    /// Asked of this peer and not available there, this session (until it
    /// says it has them).
    unavailable: HashSet<BlobHash>,
    /// Asked of us by the peer when we did not have them: it hears when we do.
    owed: HashSet<BlobHash>,
    /// The peer's wants, answered as the send queue drains.
    serving: VecDeque<Serving>,
    /// The last look for wanted blobs found nothing to start.
    idle: bool,
    pub(crate) bytes_received: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) chunks_refetched: u64,
    pub(crate) completed: u64,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn root_of(chunks: &[[u8; 32]]) -> [u8; 32] {
    let mut root = Sha256::new();
    for c in chunks {
        root.update(c);
    }
    root.finalize().into()
}

fn chunk_count(size: u64) -> usize {
    (size.div_ceil(BLOB_CHUNK_SIZE as u64).max(1)) as usize
}

impl Blobs {
    /// Nothing being fetched, nothing left to start, no want unanswered.
    pub(crate) fn idle(&self) -> bool {
        self.idle && self.fetching.is_empty() && self.serving.is_empty()
    }

    /// Documents arrived: they may reference new blobs.
    pub(crate) fn documents_changed(&mut self) {
        self.idle = false;
    }

    /// Start fetching wanted blobs, up to the parallel limit.
    pub(crate) fn pump<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        self.pay_owed(peer, store, out)?;
        if self.fetching.len() >= PARALLEL {
            return Ok(());
        }
        let wanted = store
            .wanted_blobs(
                peer,
                PARALLEL + self.unavailable.len() + self.fetching.len(),
            )
            .map_err(SessionError::store)?;
        let mut started = false;
        for blob in wanted {
            if self.fetching.len() >= PARALLEL {
                break;
            }
            if self.fetching.contains_key(&blob.hash) || self.unavailable.contains(&blob.hash) {
                continue;
            }
            let count = chunk_count(blob.size);
            let manifest = blob
                .manifest
                .filter(|m| m.len() == count && root_of(m) == blob.root);
            let mut missing = blob.missing;
            missing.truncate(u32::try_from(count).unwrap_or(u32::MAX));
            let mut fetch = Fetch {
                size: blob.size,
                root: blob.root,
                manifest,
                missing,
                requested: BTreeSet::new(),
                verified: Vec::new(),
                bad: HashMap::new(),
            };
            if fetch.missing.is_empty() && fetch.manifest.is_some() {
                continue;
            }
            let ask_manifest = fetch.manifest.is_none();
            let chunks = Self::next_request(&mut fetch);
            out.send(Frame::BlobWant {
                hash: blob.hash,
                manifest: ask_manifest,
                chunks,
            });
            self.fetching.insert(blob.hash, fetch);
            started = true;
        }
        if !started && self.fetching.is_empty() {
            self.idle = true;
        }
        Ok(())
    }

    fn next_request(fetch: &mut Fetch) -> Vec<u32> {
        let room = BLOB_WINDOW_CHUNKS
            .saturating_sub(fetch.requested.len())
            .min(MAX_WANT_CHUNKS);
        let next: Vec<u32> = fetch
            .missing
            .iter()
            .filter(|i| !fetch.requested.contains(i))
            .take(room)
            .collect();
        fetch.requested.extend(next.iter().copied());
        next
    }

    /// The peer asks for a blob of ours: remembered, answered by `serve`.
    pub(crate) fn want(
        &mut self,
        hash: BlobHash,
        manifest: bool,
        chunks: Vec<u32>,
    ) -> Result<(), SessionError> {
        let asked = self.serving_chunks() + chunks.len();
        if asked > MAX_SERVING_CHUNKS {
            return Err(SessionError::Protocol(format!(
                "{asked} attachment chunks asked for and not yet sent; at most {MAX_SERVING_CHUNKS} may be outstanding"
            )));
        }
        match self.serving.iter_mut().find(|s| s.hash == hash) {
            Some(serving) => {
                serving.manifest |= manifest;
                serving.chunks.extend(chunks);
            }
            None => {
                if self.serving.len() >= MAX_SERVING_BLOBS {
                    return Err(SessionError::Protocol(format!(
                        "wants for more than {MAX_SERVING_BLOBS} attachments outstanding at once"
                    )));
                }
                self.serving.push_back(Serving {
                    hash,
                    manifest,
                    chunks: chunks.into(),
                    count: None,
                });
            }
        }
        Ok(())
    }

    /// Chunks asked for by the peer and not yet sent.
    pub(crate) fn serving_chunks(&self) -> usize {
        self.serving.iter().map(|s| s.chunks.len()).sum()
    }

    /// Answer the peer's wants while the send queue holds fewer than
    /// `room` bytes. True if it stopped for want of room.
    pub(crate) fn serve<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        room: usize,
        out: &mut Output,
    ) -> Result<bool, SessionError> {
        while let Some(serving) = self.serving.front_mut() {
            if out.queued() >= room {
                return Ok(true);
            }
            let hash = serving.hash;
            let count = match serving.count {
                Some(count) => count,
                None => {
                    let Some(hashes) = store
                        .blob_for_peer(peer, &hash)
                        .map_err(SessionError::store)?
                    else {
                        self.serving.pop_front();
                        self.owed.insert(hash);
                        out.send(Frame::BlobMissing { hash });
                        continue;
                    };
                    serving.count = Some(hashes.len());
                    if std::mem::take(&mut serving.manifest) {
                        out.send(Frame::BlobManifest {
                            hash,
                            chunks: hashes,
                        });
                        continue;
                    }
                    serving.count.unwrap_or(0)
                }
            };
            if std::mem::take(&mut serving.manifest) {
                // Asked again after the first answer: read it again.
                serving.count = None;
                continue;
            }
            let Some(index) = serving.chunks.pop_front() else {
                self.serving.pop_front();
                continue;
            };
            if index as usize >= count {
                return Err(SessionError::Protocol(format!(
                    "chunk {index} of a blob of {count} chunks"
                )));
            }
            match store
                .read_blob_chunk(&hash, index)
                .map_err(SessionError::store)?
            {
                Some(data) => {
                    self.bytes_sent += data.len() as u64;
                    out.send(Frame::BlobChunk { hash, index, data });
                }
                None => {
                    // Gone since the manifest was read (the store found the
                    // chunk damaged and dropped it to fetch it again).
                    self.serving.pop_front();
                    self.owed.insert(hash);
                    out.send(Frame::BlobMissing { hash });
                }
            }
        }
        Ok(false)
    }

    pub(crate) fn manifest<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        hash: BlobHash,
        chunks: Vec<[u8; 32]>,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let Some(fetch) = self.fetching.get_mut(&hash) else {
            return Ok(());
        };
        if chunks.len() != chunk_count(fetch.size) || root_of(&chunks) != fetch.root {
            // A manifest that does not match the dossier's reference: not from this peer.
            self.fetching.remove(&hash);
            self.unavailable.insert(hash);
            out.event(SessionEvent::BlobFailed {
                hash,
                reason: "the peer's chunk list does not match the attachment reference".into(),
            });
            return Ok(());
        }
        store
            .save_blob_manifest(&hash, &chunks)
            .map_err(SessionError::store)?;
        // Only a peer holding the whole blob sends its manifest.
        store
            .peer_has_blob(peer, &hash)
            .map_err(SessionError::store)?;
        fetch.manifest = Some(chunks);
        Ok(())
    }

    pub(crate) fn chunk<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        hash: BlobHash,
        index: u32,
        data: Vec<u8>,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let Some(fetch) = self.fetching.get_mut(&hash) else {
            return Ok(());
        };
        if !fetch.requested.remove(&index) {
            return Ok(());
        }
        self.bytes_received += data.len() as u64;
        let good = fetch
            .manifest
            .as_ref()
            .and_then(|m| m.get(index as usize))
            .is_some_and(|expected| {
                data.len() == fetch.expected_len(index) && &sha256(&data) == expected
            });
        if good {
            fetch.missing.remove(index);
            fetch.verified.push((index, data));
        } else {
            // Corrupt (or before its manifest): asked for again below, a
            // few times.
            self.chunks_refetched += 1;
            let failures = fetch.bad.entry(index).or_insert(0);
            *failures += 1;
            if *failures >= MAX_BAD_CHUNK {
                self.set_aside(peer, hash, store, out)?;
                out.event(SessionEvent::BlobFailed {
                    hash,
                    reason: format!(
                        "chunk {index} failed verification {MAX_BAD_CHUNK} times: the peer's copy is damaged"
                    ),
                });
                return self.pump(peer, store, out);
            }
        }
        if fetch.verified.len() >= STORE_BATCH
            || fetch.requested.is_empty()
            || fetch.missing.is_empty()
        {
            self.store_verified(peer, hash, store, out)?;
        }
        if let Some(fetch) = self.fetching.get_mut(&hash)
            && fetch.requested.len() <= BLOB_WINDOW_CHUNKS / 2
        {
            let chunks = Self::next_request(fetch);
            if !chunks.is_empty() {
                out.send(Frame::BlobWant {
                    hash,
                    manifest: fetch.manifest.is_none(),
                    chunks,
                });
            }
        }
        Ok(())
    }

    fn store_verified<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        hash: BlobHash,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let Some(fetch) = self.fetching.get_mut(&hash) else {
            return Ok(());
        };
        if fetch.verified.is_empty() && !fetch.missing.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut fetch.verified);
        match store
            .save_blob_chunks(&hash, chunks)
            .map_err(SessionError::store)?
        {
            BlobSaved::Partial => {}
            BlobSaved::Complete => {
                self.fetching.remove(&hash);
                self.completed += 1;
                // The peer sent it, so it holds it.
                store
                    .peer_has_blob(peer, &hash)
                    .map_err(SessionError::store)?;
                out.send(Frame::BlobHave { hash });
                out.event(SessionEvent::BlobReceived { hash });
                self.pump(peer, store, out)?;
            }
            BlobSaved::Corrupt => {
                self.fetching.remove(&hash);
                self.unavailable.insert(hash);
                out.event(SessionEvent::BlobFailed {
                    hash,
                    reason: "content does not match its hash; chunks discarded".into(),
                });
            }
        }
        Ok(())
    }

    /// Store what is verified (before a pause in the stream).
    pub(crate) fn flush<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let pending: Vec<BlobHash> = self
            .fetching
            .iter()
            .filter(|(_, f)| !f.verified.is_empty())
            .map(|(h, _)| *h)
            .collect();
        for hash in pending {
            self.store_verified(peer, hash, store, out)?;
        }
        Ok(())
    }

    /// The peer does not hold a blob (yet): keep the verified chunks it
    /// sent, and wait for its `BlobHave`.
    pub(crate) fn missing<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        hash: BlobHash,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        if self.fetching.contains_key(&hash) {
            store
                .peer_lacks_blob(peer, &hash)
                .map_err(SessionError::store)?;
            self.set_aside(peer, hash, store, out)?;
        }
        Ok(())
    }

    /// Stop fetching `hash` from this peer until it says it has the blob,
    /// keeping the chunks already verified (a later fetch starts from them).
    fn set_aside<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        hash: BlobHash,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        self.store_verified(peer, hash, store, out)?;
        // Storing the last chunks may have completed it.
        if self.fetching.remove(&hash).is_some() {
            self.unavailable.insert(hash);
        }
        Ok(())
    }

    /// The peer holds a blob (it fetched it, or told us it now has one we
    /// asked for): ask again if we still want it.
    pub(crate) fn peer_has<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        hash: BlobHash,
        store: &mut S,
    ) -> Result<(), SessionError> {
        if self.unavailable.remove(&hash) {
            self.idle = false;
        }
        store
            .peer_has_blob(peer, &hash)
            .map_err(SessionError::store)
    }

    /// Tell the peer about owed blobs the store now holds.
    fn pay_owed<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        if self.owed.is_empty() {
            return Ok(());
        }
        let mut paid = Vec::new();
        for hash in &self.owed {
            if store
                .blob_for_peer(peer, hash)
                .map_err(SessionError::store)?
                .is_some()
            {
                paid.push(*hash);
            }
        }
        for hash in paid {
            self.owed.remove(&hash);
            out.send(Frame::BlobHave { hash });
        }
        Ok(())
    }

    /// Bytes and blobs in progress (for status).
    pub(crate) fn in_progress(&self) -> usize {
        self.fetching.len()
    }
}
