//! The node's SQLite store as the sync session's [`SyncStore`].

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use automerge::{Automerge, ChangeHash};
use lienthong_shared::OfficeId;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::{self, FoldContext};
use lienthong_shared::dossier::{Dossier, schema};
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{
    BlobHash, BlobSaved, Checkpoints, FeedItem, PeerId, Reading, Received, SyncStore, WantedBlob,
    WholeDocument,
};
use sha2::{Digest, Sha256};

use super::admission::{
    AdmittedDossier, limit_has_lifted, local_day, new_attachment_bytes, under_disk_floor,
};
use super::config_docs;
use super::{Clock, DocumentSchema, schema_of};
use crate::config::Limits;
use crate::officer::index_dossier;
use crate::store::documents::{DocKey, DocKind, Stored};
use crate::store::feed::EVERY_NODE;
use crate::store::limits::PeerDay;
use crate::store::{Store, StoreError, Writer};

pub struct NodeSyncStore {
    store: Store,
    network: NetworkConfig,
    calendar: WorkingCalendar,
    peers: HashMap<PeerId, OfficeId>,
    /// Documents committed from peers since the last call to [`Self::take_received`].
    received: usize,
    limits: Limits,
    clock: Clock,
    /// The data directory, for its free-space floor (none: not checked).
    data_dir: Option<PathBuf>,
}

impl NodeSyncStore {
    pub fn new(
        store: Store,
        network: NetworkConfig,
        calendar: WorkingCalendar,
        peers: HashMap<PeerId, OfficeId>,
    ) -> Self {
        NodeSyncStore {
            store,
            network,
            calendar,
            peers,
            received: 0,
            limits: Limits::default(),
            clock: Clock::system(),
            data_dir: None,
        }
    }

    /// Apply the node's limits: attachment sizes, the free-space floor of
    /// `data_dir` (no attachment fetched under it), quota days by `clock`.
    pub fn with_policy(mut self, limits: Limits, clock: Clock, data_dir: PathBuf) -> Self {
        self.limits = limits;
        self.clock = clock;
        self.data_dir = Some(data_dir);
        self
    }

    /// A stored document failed to load: quarantine it, carry on without it.
    fn set_aside<T>(
        &mut self,
        doc: &DocumentId,
        error: StoreError,
    ) -> Result<Option<T>, StoreError> {
        self.store.quarantine_on_corruption(&doc.0, error)?;
        Ok(None)
    }

    fn office_of(&self, peer: &PeerId) -> Result<&OfficeId, StoreError> {
        self.peers
            .get(peer)
            .ok_or_else(|| StoreError::Invalid("peer is not in this node's configuration".into()))
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// How many documents were stored from peers since last asked.
    pub fn take_received(&mut self) -> usize {
        std::mem::take(&mut self.received)
    }
}

fn seq(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A received document as it is to be stored: the document, the heads the
/// store held before it, and the bytes to keep as its snapshot (if new).
type ToStore = (Automerge, Vec<ChangeHash>, Option<Vec<u8>>);

/// The document to store for `received`, and the heads the store holds
/// before it. A session loads a document when the peer first offers it and
/// commits it later; meanwhile another session (a second path, a relay) or
/// an officer's command may have stored changes to it. Saving the session's
/// copy against the heads it loaded would then record stale heads and, when
/// the store compacts the document, rewrite it without those changes —
/// losing changes already acknowledged. So when the stored heads moved, the
/// received changes are merged into the stored document instead.
fn merge_with_stored(
    w: &Writer<'_>,
    doc: &DocumentId,
    document: Automerge,
    before: Vec<ChangeHash>,
    snapshot: Option<Vec<u8>>,
    stored: Option<&Stored>,
) -> Result<ToStore, StoreError> {
    let Some(stored) = stored else {
        return Ok((document, before, snapshot));
    };
    let mut stored = stored.heads()?;
    let mut loaded = before.clone();
    loaded.sort();
    stored.sort();
    if stored == loaded {
        return Ok((document, before, snapshot));
    }
    let Some((_, mut current)) = w.reader().load_document(&doc.0)? else {
        return Ok((document, before, snapshot));
    };
    let mut document = document;
    current
        .merge(&mut document)
        .map_err(|e| StoreError::CorruptDocument {
            doc: doc.to_string(),
            problem: format!("merging received changes: {e}"),
        })?;
    Ok((current, stored, None))
}

/// The dossier admission read (`AdmittedDossier`), if it was read from
/// this very document (same heads: not merged since with a stored copy
/// that moved).
fn admitted_dossier(reading: Option<Reading>, document: &Automerge) -> Option<Dossier> {
    let admitted = reading?.downcast::<AdmittedDossier>().ok()?;
    (admitted.heads == document.get_heads()).then_some(admitted.dossier)
}

impl SyncStore for NodeSyncStore {
    type Error = StoreError;

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        Ok(self.store.read_now(|r| r.last_seq())?.max(0) as u64)
    }

    fn feed_for_peer(
        &mut self,
        peer: &PeerId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let office = self.office_of(peer)?.to_string();
        let entries = self
            .store
            .read_now(|r| r.feed_for_node(&office, seq(after), seq(upto), limit))?;
        Ok(entries
            .into_iter()
            .map(|e| FeedItem {
                doc: DocumentId(e.key),
                seq: e.seq.max(0) as u64,
            })
            .collect())
    }

    fn heads(&mut self, doc: &DocumentId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        match self.store.read_now(|r| r.document_heads(&doc.0)) {
            Ok(heads) => Ok(heads),
            Err(e) => self.set_aside(doc, e),
        }
    }

    fn load(&mut self, doc: &DocumentId) -> Result<Option<Automerge>, StoreError> {
        match self.store.read(|r| r.load_document(&doc.0)) {
            Ok(loaded) => Ok(loaded.map(|(_, d)| d)),
            Err(e) => self.set_aside(doc, e),
        }
    }

    fn whole_document(&mut self, doc: &DocumentId) -> Result<Option<WholeDocument>, StoreError> {
        match self.store.read_now(|r| r.whole_document(&doc.0)) {
            Ok(whole) => Ok(whole.map(|(bytes, heads)| WholeDocument { bytes, heads })),
            Err(e) => self.set_aside(doc, e),
        }
    }

    fn peer_heads(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
    ) -> Result<Vec<ChangeHash>, StoreError> {
        self.store.read_now(|r| r.peer_heads(peer, &doc.0))
    }

    /// Read at the start of a session. A limit the peer ran into that has
    /// lifted since (a new day, disk space freed) is released here: the
    /// held checkpoint goes out in our Hello, so the peer offers again what
    /// was refused.
    fn checkpoints(&mut self, peer: &PeerId) -> Result<Checkpoints, StoreError> {
        let row = self.store.read_now(|r| r.peer(peer))?;
        let mut incoming = row.incoming;
        if let Some(limit) = self.store.read_now(|r| r.peer_limit(peer))?
            && limit.lifted_at.is_none()
        {
            let now = self.clock.now();
            if limit_has_lifted(&limit, now, &self.limits, self.data_dir.as_deref()) {
                self.store.write(|w| w.lift_peer_limit(peer, now))?;
            }
            incoming = incoming.min(limit.hold);
        }
        Ok(Checkpoints {
            incoming: incoming.max(0) as u64,
            outgoing: row.outgoing.max(0) as u64,
        })
    }

    fn commit_received(
        &mut self,
        peer: &PeerId,
        received: Vec<Received>,
        incoming: u64,
    ) -> Result<(), StoreError> {
        let mut count = 0;
        let NodeSyncStore {
            store,
            network,
            calendar,
            clock,
            ..
        } = self;
        let now = clock.now();
        let (day, _) = local_day(calendar, now);
        let ctx = FoldContext {
            calendar,
            rule_sets: &network.rule_sets,
            now,
        };
        store.write(|w| {
            let mut sent = PeerDay::default();
            // What the store holds of the batch's documents, in one
            // lookup; a document named twice in a batch is looked up
            // again the second time (its first write changed it).
            let keys: Vec<DocKey> = received.iter().map(|r| r.doc.0).collect();
            let mut held = w.reader().stored_of(&keys)?;
            let mut seen = HashSet::with_capacity(keys.len());
            for r in received {
                let Received {
                    doc,
                    document,
                    before,
                    peer_heads,
                    snapshot,
                    attestations,
                    reading,
                } = r;
                let stored = if seen.insert(doc.0) {
                    held.remove(&doc.0)
                } else {
                    w.reader().stored_of(&[doc.0])?.remove(&doc.0)
                };
                let (document, before, snapshot) =
                    match merge_with_stored(w, &doc, document, before, snapshot, stored.as_ref()) {
                        Ok(merged) => merged,
                        Err(StoreError::CorruptDocument { problem, .. }) => {
                            // Our copy is damaged: keep it as it is, aside.
                            w.quarantine(&doc.0, &problem, now)?;
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                let stored_before = stored.map(|s| s.bytes);
                // The authors' attestations, verified by admission, in the
                // same transaction as the changes they attest.
                w.put_attestations(&doc.0, &attestations)?;
                let mut attachment_bytes = 0;
                match schema_of(&document) {
                    DocumentSchema::Dossier => {
                        let dossier = match admitted_dossier(reading, &document) {
                            Some(dossier) => Ok(dossier),
                            None => schema::read(&document),
                        };
                        let dossier = match dossier {
                            Ok(dossier) => dossier,
                            Err(e) => {
                                // Admission read it; only a damaged stored
                                // copy merged in can make it unreadable.
                                if stored_before.is_some() {
                                    w.quarantine(&doc.0, &format!("not a readable dossier: {e}"), now)?;
                                }
                                tracing::warn!(%doc, error = %e, "a received dossier does not read; not stored");
                                continue;
                            }
                        };
                        attachment_bytes = new_attachment_bytes(&w.reader(), &dossier)?;
                        let state = fold::fold(&dossier, &ctx);
                        let seq = w.save_document_with(
                            &doc.0,
                            DocKind::Dossier,
                            &document,
                            &before,
                            snapshot.as_deref(),
                        )?;
                        index_dossier(w, &doc.0, seq, &dossier, &state, &network.offices)?;
                        // The dashboard's freshness per locality (issue 9).
                        w.note_arrival(dossier.facts.origin.as_str(), now)?;
                    }
                    DocumentSchema::Config => {
                        config_docs::save_received(w, &doc.0, &document, &before)?
                    }
                    // Production admission refuses these; when admitted
                    // (benchmarks), they are kept as they came.
                    DocumentSchema::Unknown => {
                        w.save_document_with(
                            &doc.0,
                            DocKind::Opaque,
                            &document,
                            &before,
                            snapshot.as_deref(),
                        )?;
                        w.set_scope(&doc.0, &[EVERY_NODE.to_string()].into_iter().collect())?;
                    }
                }
                let stored_after = w.reader().document_bytes_of(&doc.0)?.unwrap_or(0);
                sent.documents += u64::from(stored_before.is_none());
                sent.bytes += stored_after.saturating_sub(stored_before.unwrap_or(0)) + attachment_bytes;
                w.set_peer_heads(peer, &doc.0, &peer_heads)?;
                count += 1;
            }
            w.add_peer_day(peer, day, sent)?;
            // While the peer is held at a limit, its checkpoint stays at
            // the hold: what was refused is offered again once it lifts.
            let mut incoming = seq(incoming);
            if let Some(limit) = w.reader().peer_limit(peer)?
                && limit.lifted_at.is_none()
            {
                incoming = incoming.min(limit.hold);
            }
            w.set_incoming_checkpoint(peer, incoming)?;
            Ok::<(), StoreError>(())
        })?;
        self.received += count;
        Ok(())
    }

    fn commit_acknowledged(
        &mut self,
        peer: &PeerId,
        acknowledged: Vec<(DocumentId, Vec<ChangeHash>)>,
        outgoing: u64,
    ) -> Result<(), StoreError> {
        self.store.write(|w| {
            for (doc, heads) in &acknowledged {
                // An acknowledgement names the heads of an offer made
                // earlier. If the peer has since been recorded holding all
                // this node holds (it sent the rest while our offer and its
                // own crossed, as with two paths to one node), that older
                // offer is already covered: recording it would make us
                // forget what the peer holds and send those changes again.
                let mut known = w.reader().peer_heads(peer, &doc.0)?;
                if !known.is_empty()
                    && let Some(mut ours) = w.reader().document_heads(&doc.0)?
                {
                    known.sort();
                    ours.sort();
                    if known == ours {
                        continue;
                    }
                }
                w.set_peer_heads(peer, &doc.0, heads)?;
            }
            w.set_outgoing_checkpoint(peer, seq(outgoing))?;
            Ok::<(), StoreError>(())
        })
    }

    fn attestations(
        &mut self,
        doc: &DocumentId,
        changes: &[ChangeHash],
    ) -> Result<Vec<lienthong_sync::protocol::Attestation>, StoreError> {
        self.store.read_now(|r| r.attestations(&doc.0, changes))
    }

    fn note_peer_head(&mut self, peer: &PeerId, last_seq: u64) -> Result<(), StoreError> {
        let restarted = self.store.write(|w| {
            let restarted = w.forget_if_restarted(peer, seq(last_seq))?;
            w.set_peer_last_seq(peer, seq(last_seq))?;
            Ok::<_, StoreError>(restarted)
        })?;
        if restarted {
            tracing::warn!(
                peer = %lienthong_sync::transport::identity::NodeId::from_bytes(*peer).short(),
                "the peer's feed restarted (restored or reinstalled): offering it everything in its scope again"
            );
        }
        Ok(())
    }

    fn wanted_blobs(&mut self, peer: &PeerId, limit: usize) -> Result<Vec<WantedBlob>, StoreError> {
        let office = self.office_of(peer)?.to_string();
        if let Some(dir) = &self.data_dir
            && under_disk_floor(&self.limits, dir).is_some()
        {
            // No attachment fetched under the free-space floor.
            return Ok(Vec::new());
        }
        let max = self.limits.max_attachment_bytes;
        self.store.read(|r| r.wanted_blobs(&office, limit, max))
    }

    fn blob_for_peer(
        &mut self,
        peer: &PeerId,
        hash: &BlobHash,
    ) -> Result<Option<Vec<[u8; 32]>>, StoreError> {
        let office = self.office_of(peer)?.to_string();
        self.store.read_now(|r| r.blob_for_node(&office, hash))
    }

    /// A stored chunk, checked against the blob's manifest before it goes
    /// out: a chunk damaged on disk is dropped (and fetched again from a
    /// peer by this node's sessions) instead of being served, so the peer is
    /// told the blob is missing for now rather than sent garbage forever.
    fn read_blob_chunk(
        &mut self,
        hash: &BlobHash,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(data) = self.store.read_now(|r| r.blob_chunk(hash, index))? else {
            return Ok(None);
        };
        let expected = self
            .store
            .read_now(|r| r.blob(hash))?
            .and_then(|b| b.manifest)
            .and_then(|m| m.get(index as usize).copied());
        let actual: [u8; 32] = Sha256::digest(&data).into();
        if expected == Some(actual) {
            return Ok(Some(data));
        }
        tracing::warn!(
            blob = %lienthong_shared::dossier::attachment::hex(&hash[..8]),
            chunk = index,
            "a stored attachment chunk is damaged; dropping it to fetch it again"
        );
        self.store.write(|w| w.discard_blob_chunk(hash, index))?;
        Ok(None)
    }

    fn save_blob_manifest(
        &mut self,
        hash: &BlobHash,
        chunks: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        self.store.write(|w| w.save_blob_manifest(hash, chunks))
    }

    fn save_blob_chunks(
        &mut self,
        hash: &BlobHash,
        chunks: Vec<(u32, Vec<u8>)>,
    ) -> Result<BlobSaved, StoreError> {
        self.store.write(|w| w.save_blob_chunks(hash, chunks))
    }

    fn peer_has_blob(&mut self, peer: &PeerId, hash: &BlobHash) -> Result<(), StoreError> {
        self.store.write(|w| w.peer_has_blob(peer, hash))
    }

    fn peer_lacks_blob(&mut self, peer: &PeerId, hash: &BlobHash) -> Result<(), StoreError> {
        self.store.write(|w| w.peer_lacks_blob(peer, hash))
    }
}
