//! An in-memory [`SyncStore`], for the protocol's own tests and benchmarks.
//! Mirrors the node's SQLite store: a feed with one entry per document,
//! heads per peer, checkpoints, optional scope.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;

use automerge::{Automerge, ChangeHash};

use super::store::{Admission, Checkpoints, FeedItem, PeerId, Received, SyncStore};
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
    ) -> Result<(), String> {
        if self.0.contains(doc) {
            Err("not in this node's scope".into())
        } else {
            Ok(())
        }
    }
}
