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

use super::config_docs;
use super::{DocumentSchema, schema_of};
use crate::officer::index_dossier;
use crate::store::documents::DocKind;
use crate::store::feed::EVERY_NODE;
use crate::store::{Store, StoreError};

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
            for r in &received {
                match schema_of(&r.document) {
                    DocumentSchema::Dossier => {
                        let dossier =
                            schema::read(&r.document).map_err(|e| StoreError::CorruptDocument {
                                doc: r.doc.to_string(),
                                problem: e.to_string(),
                            })?;
                        let state = fold::fold(&dossier, &ctx);
                        let seq = w.save_document_with(
                            &r.doc.0,
                            DocKind::Dossier,
                            &r.document,
                            &r.before,
                            r.snapshot.as_deref(),
                        )?;
                        index_dossier(w, &r.doc.0, seq, &dossier, &state, &network.offices)?;
                    }
                    DocumentSchema::Config => {
                        config_docs::save_received(w, &r.doc.0, &r.document, &r.before)?
                    }
                    // Production admission refuses these; when admitted
                    // (benchmarks), they are kept as they came.
                    DocumentSchema::Unknown => {
                        w.save_document_with(
                            &r.doc.0,
                            DocKind::Opaque,
                            &r.document,
                            &r.before,
                            r.snapshot.as_deref(),
                        )?;
                        w.set_scope(&r.doc.0, &[EVERY_NODE.to_string()].into_iter().collect())?;
                    }
                }
                w.set_peer_heads(peer, &r.doc.0, &r.peer_heads)?;
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

    fn read_blob_chunk(
        &mut self,
        hash: &BlobHash,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.read_now(|r| r.blob_chunk(hash, index))
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
