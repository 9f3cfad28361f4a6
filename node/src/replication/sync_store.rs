//! The node's SQLite store as the sync session's [`SyncStore`].

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};
use chrono::Utc;
use lienthong_shared::OfficeId;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::{self, FoldContext};
use lienthong_shared::dossier::schema;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{
    BlobHash, BlobSaved, Checkpoints, FeedItem, PeerId, Received, SyncStore, WantedBlob,
    WholeDocument,
};
use sha2::{Digest, Sha256};

use super::config_docs;
use super::{DocumentSchema, schema_of};
use crate::officer::index_dossier;
use crate::store::documents::DocKind;
use crate::store::feed::EVERY_NODE;
use crate::store::{Store, StoreError, Writer};

pub struct NodeSyncStore {
    store: Store,
    network: NetworkConfig,
    calendar: WorkingCalendar,
    peers: HashMap<PeerId, OfficeId>,
    /// Documents committed from peers since the last call to [`Self::take_received`].
    received: usize,
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
        }
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
) -> Result<ToStore, StoreError> {
    let Some(mut stored) = w.reader().document_heads(&doc.0)? else {
        return Ok((document, before, snapshot));
    };
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
        self.store.read_now(|r| r.document_heads(&doc.0))
    }

    fn load(&mut self, doc: &DocumentId) -> Result<Option<Automerge>, StoreError> {
        Ok(self
            .store
            .read(|r| r.load_document(&doc.0))?
            .map(|(_, d)| d))
    }

    fn whole_document(&mut self, doc: &DocumentId) -> Result<Option<WholeDocument>, StoreError> {
        Ok(self
            .store
            .read_now(|r| r.whole_document(&doc.0))?
            .map(|(bytes, heads)| WholeDocument { bytes, heads }))
    }

    fn peer_heads(
        &mut self,
        peer: &PeerId,
        doc: &DocumentId,
    ) -> Result<Vec<ChangeHash>, StoreError> {
        self.store.read_now(|r| r.peer_heads(peer, &doc.0))
    }

    fn checkpoints(&mut self, peer: &PeerId) -> Result<Checkpoints, StoreError> {
        let row = self.store.read_now(|r| r.peer(peer))?;
        Ok(Checkpoints {
            incoming: row.incoming.max(0) as u64,
            outgoing: row.outgoing.max(0) as u64,
        })
    }

    fn commit_received(
        &mut self,
        peer: &PeerId,
        received: Vec<Received>,
        incoming: u64,
    ) -> Result<(), StoreError> {
        let count = received.len();
        let NodeSyncStore {
            store,
            network,
            calendar,
            ..
        } = self;
        let ctx = FoldContext {
            calendar,
            rule_sets: &network.rule_sets,
            now: Utc::now(),
        };
        store.write(|w| {
            for r in received {
                let Received {
                    doc,
                    document,
                    before,
                    peer_heads,
                    snapshot,
                } = r;
                let (document, before, snapshot) =
                    merge_with_stored(w, &doc, document, before, snapshot)?;
                match schema_of(&document) {
                    DocumentSchema::Dossier => {
                        let dossier =
                            schema::read(&document).map_err(|e| StoreError::CorruptDocument {
                                doc: doc.to_string(),
                                problem: e.to_string(),
                            })?;
                        let state = fold::fold(&dossier, &ctx);
                        let seq = w.save_document_with(
                            &doc.0,
                            DocKind::Dossier,
                            &document,
                            &before,
                            snapshot.as_deref(),
                        )?;
                        index_dossier(w, &doc.0, seq, &dossier, &state, &network.offices)?;
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
                w.set_peer_heads(peer, &doc.0, &peer_heads)?;
            }
            w.set_incoming_checkpoint(peer, seq(incoming))?;
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

    fn note_peer_head(&mut self, peer: &PeerId, last_seq: u64) -> Result<(), StoreError> {
        self.store
            .write(|w| w.set_peer_last_seq(peer, seq(last_seq)))
    }

    fn wanted_blobs(&mut self, peer: &PeerId, limit: usize) -> Result<Vec<WantedBlob>, StoreError> {
        let office = self.office_of(peer)?.to_string();
        self.store.read(|r| r.wanted_blobs(&office, limit))
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
}
