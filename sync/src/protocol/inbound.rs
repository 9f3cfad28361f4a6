//! The receiving half: pulling the peer's changes into our store.
//!
//! Applies each offer to the document (loaded on demand), checks that the
//! document now holds every head the peer advertised (otherwise continues
//! Automerge's sync protocol with a reply), asks the node whether it may
//! store it (scope, validity), and commits complete documents in batches.
//! The checkpoint moves only with a commit, and only past sequences whose
//! documents are all durable — so a dropped link resumes from the last
//! batch, not from zero.
//!
//! The peer is held to the window this node advertised: offers beyond it,
//! continuations nobody asked for, unfinished documents holding more than
//! [`SessionConfig::max_pending_bytes`] or going round more than
//! [`MAX_ROUNDS`] times end the session; an unfinished document with no
//! message for `exchange_timeout` does too (see [`Inbound::timeout`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::{Automerge, ChangeHash};

use super::attest::{self, ATTESTATION_LEN, Attestation, MAX_ATTESTATIONS};
use super::chain;
use super::frame::Frame;
use super::guard;
use super::messages;
use super::prepare::PreparedOffer;
use super::session::{MAX_UNFINISHED_OFFERS, Output, SessionConfig, SessionError, SessionEvent};
use super::store::{Admission, NewChange, PeerId, Reading, SyncStore};
use crate::document_id::DocumentId;
use crate::transport::identity::NodeId;

mod batch;
pub use batch::{LONG_PATH_RTT, MAX_ACK_DELAY, MIN_ACK_DELAY, ack_delay};

fn hex6(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

struct Pending {
    document: Automerge,
    /// Heads in the store before this session touched the document.
    before: Vec<ChangeHash>,
    existed: bool,
    state: State,
    /// The heads the peer advertised in its latest message.
    required: Vec<ChangeHash>,
    seqs: Vec<u64>,
    complete: bool,
    bytes: usize,
    /// The bytes a new document arrived in whole, kept as its snapshot.
    snapshot: Option<Vec<u8>>,
    /// Replies we sent that the peer has not continued yet.
    awaiting: u32,
    /// Replies sent for this document in this session.
    rounds: u32,
    /// The last message for this document (the clock as last given;
    /// `None` until the session is first given the time).
    touched: Option<Instant>,
    /// Estimated heap of our own copy, loaded for this exchange.
    loaded: usize,
    /// The attestations of its new changes that proved something, once
    /// admitted.
    attestations: Vec<Attestation>,
    /// Those of them whose signature is still to be verified (in a batch,
    /// at the next commit, before anything is stored).
    unverified: Vec<Attestation>,
    /// What admission read of it (`Admission::admit`), for the store.
    reading: Option<Reading>,
}

/// Heap per Automerge operation of a loaded document (measured: 50 to 60
/// bytes for dossiers, `sync/tests/budget.rs`).
pub const HEAP_PER_OP: usize = 64;

/// The estimated heap of a document of ours, beyond Automerge's fixed
/// overhead (which the per-document share of the bound covers).
fn loaded_heap(document: &Automerge) -> usize {
    use automerge::ReadDoc;
    (document.stats().num_ops as usize).saturating_mul(HEAP_PER_OP)
}

/// The changes `document` holds beyond `before`, each with the attestation
/// that proves who wrote it (`chain::prove`): its own, when the peer sent
/// it and its signature verifies, or (hash chaining) that of a later change
/// by the same actor, whose history contains it, with a verified signature
/// by the same key.
///
/// The sender sends one per actor and document in the usual case
/// (`chain::select`): those, the likely provers, are returned beside the
/// changes *unverified*, to be verified in one batch with those of the
/// other documents complete at the next commit ([`Inbound::settle`]),
/// before anything is stored. Any other attestation the proof needs is
/// verified here, one by one.
fn new_changes(
    sent: &[Attestation],
    document: &Automerge,
    doc: &DocumentId,
    before: &[ChangeHash],
) -> (Vec<NewChange>, Vec<Attestation>) {
    let metas = document.get_changes_meta(before);
    let mut verified: Vec<Option<bool>> = vec![None; sent.len()];
    let likely = chain::likely_provers(&metas, sent);
    for &k in &likely {
        verified[k] = Some(true);
    }
    let proofs = chain::prove(&metas, sent, |k| {
        *verified[k].get_or_insert_with(|| sent[k].verify(doc))
    });
    // The assumed ones a proof rests on.
    let unverified: Vec<Attestation> = likely
        .iter()
        .map(|&k| &sent[k])
        .filter(|a| proofs.iter().flatten().any(|p| p == *a))
        .cloned()
        .collect();
    let changes = metas
        .into_iter()
        .zip(proofs)
        .map(|(meta, attestation)| NewChange {
            hash: meta.hash,
            start_op: meta.start_op,
            max_op: meta.max_op,
            actor: meta.actor.into_owned(),
            attestation,
        })
        .collect();
    (changes, unverified)
}

/// Rounds of Automerge's sync protocol (our replies) one document may take
/// before the exchange is given up as one that does not converge. Repairing
/// a peer that lost data takes two or three.
pub const MAX_ROUNDS: u32 = 16;

/// Most attestations held for one document not yet stored (four full
/// `Attest` frames, 512 KiB): more than any dossier or configuration
/// document has changes a peer lacks.
pub const MAX_PENDING_ATTESTATIONS: usize = 4 * MAX_ATTESTATIONS;

pub(crate) struct Inbound {
    /// Our durable checkpoint of the peer's feed.
    pub(crate) checkpoint: u64,
    /// All in-scope entries up to here have been offered by the peer.
    through: u64,
    /// Offered sequences whose documents are not yet durable here.
    open: BTreeSet<u64>,
    /// Documents being received, until committed.
    pending: HashMap<DocumentId, Pending>,
    complete_docs: usize,
    complete_bytes: usize,
    /// The peer's feed head from its Hello.
    pub(crate) peer_last_seq: u64,
    pub(crate) received: u64,
    pub(crate) refused: u64,
    pub(crate) commits: u64,
    acked: u64,
    /// seq → doc for open entries, to clear them when a document completes.
    open_docs: BTreeMap<u64, DocumentId>,
    /// Offers received above our last `Ack`, with their message sizes: the
    /// peer's use of our window.
    unacked: BTreeMap<u64, usize>,
    unacked_bytes: usize,
    /// Bytes of the peer's messages held in `pending`.
    pending_bytes: usize,
    /// Estimated heap of our own documents held in `pending`.
    loaded_bytes: usize,
    /// Attestations the peer sent for documents not yet stored (issue 8),
    /// dropped with the document (stored, refused); at most
    /// [`MAX_PENDING_ATTESTATIONS`] per document and
    /// [`SessionConfig::max_pending_bytes`] in all, together with the
    /// messages held in `pending` (one budget: `held_bytes`).
    attested: HashMap<DocumentId, Vec<Attestation>>,
    attested_bytes: usize,
    /// The time as the session was last given it.
    pub(crate) now: Option<Instant>,
    /// Commit (and so acknowledge) complete documents at the latest this
    /// long after the first of them completed, so that on a long path the
    /// peer's window reopens within a round trip rather than after a full
    /// batch; `None` until the shell measured the path.
    pub(crate) ack_delay: Option<Duration>,
    /// When the first complete document of the batch completed.
    batch_since: Option<Instant>,
}

impl Inbound {
    pub(crate) fn new(checkpoint: u64) -> Self {
        Inbound {
            checkpoint,
            through: checkpoint,
            open: BTreeSet::new(),
            pending: HashMap::new(),
            complete_docs: 0,
            complete_bytes: 0,
            peer_last_seq: 0,
            received: 0,
            refused: 0,
            commits: 0,
            acked: checkpoint,
            open_docs: BTreeMap::new(),
            unacked: BTreeMap::new(),
            unacked_bytes: 0,
            pending_bytes: 0,
            loaded_bytes: 0,
            attested: HashMap::new(),
            attested_bytes: 0,
            now: None,
            ack_delay: None,
            batch_since: None,
        }
    }

    /// The peer's feed restarted below our checkpoint: pull it from the start.
    pub(crate) fn reset(&mut self) {
        self.checkpoint = 0;
        self.through = 0;
        self.acked = 0;
        self.unacked.clear();
        self.unacked_bytes = 0;
    }

    /// Nothing offered is waiting and the peer has offered up to its head.
    pub(crate) fn caught_up(&self) -> bool {
        self.open.is_empty()
            && self.pending.is_empty()
            && self.checkpoint >= self.through
            && self.through >= self.peer_last_seq
    }

    pub(crate) fn waiting(&self) -> usize {
        self.open.len()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn offer<S: SyncStore, A: Admission>(
        &mut self,
        peer: &PeerId,
        seq: u64,
        doc: DocumentId,
        message: &[u8],
        prepared: Option<PreparedOffer>,
        store: &mut S,
        admission: &mut A,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        if seq <= self.checkpoint {
            // Already durable here.
            return Ok(());
        }
        if seq <= self.through {
            return Err(SessionError::Protocol(format!(
                "offer of sequence {seq} after the peer declared everything up to {} offered",
                self.through
            )));
        }
        let (window_docs, window_bytes) = config.effective_window();
        if self.unacked.len() >= window_docs {
            return Err(SessionError::Protocol(format!(
                "offer of sequence {seq} with {} offers already unacknowledged: beyond the window of {window_docs} documents this node advertised",
                self.unacked.len()
            )));
        }
        if self.unacked_bytes >= window_bytes {
            return Err(SessionError::Protocol(format!(
                "offer of sequence {seq} with {} bytes of offers already unacknowledged: beyond the window of {window_bytes} bytes this node advertised",
                self.unacked_bytes
            )));
        }
        self.unacked.insert(seq, message.len());
        self.unacked_bytes += message.len();
        self.through = seq;
        self.open.insert(seq);
        self.open_docs.insert(seq, doc);
        if !self.pending.contains_key(&doc) {
            // The documents held here are bounded apart from the window:
            // commit the complete ones to make room; only unfinished ones
            // (each waiting for a continuation) can fill it.
            let held = config.max_held_docs();
            if self.pending.len() >= held && self.complete_docs > 0 {
                self.commit(peer, store, out)?;
            }
            if self.pending.len() >= held {
                return Err(SessionError::Protocol(format!(
                    "offer of document {doc} with {} of the peer's documents unfinished here: beyond the limit of {held} (a sender keeps at most {MAX_UNFINISHED_OFFERS} offers that may need a reply unacknowledged)",
                    self.pending.len()
                )));
            }
            let known = store.peer_heads(peer, &doc).map_err(SessionError::store)?;
            let (document, existed) = match store.load(&doc).map_err(SessionError::store)? {
                Some(document) => (document, true),
                None => (Automerge::new(), false),
            };
            // Our own document, loaded because the peer named it: its heap
            // counts against the peer too.
            let loaded = loaded_heap(&document);
            let limit = config.max_loaded_bytes();
            if self.loaded_bytes + loaded > limit && self.complete_docs > 0 {
                self.commit(peer, store, out)?;
            }
            if self.loaded_bytes + loaded > limit {
                return Err(SessionError::Protocol(format!(
                    "offer of document {doc} would hold about {} bytes of this node's documents in unfinished exchanges, beyond the limit of {limit}",
                    self.loaded_bytes + loaded
                )));
            }
            self.loaded_bytes += loaded;
            self.pending.insert(
                doc,
                Pending {
                    before: document.get_heads(),
                    document,
                    existed,
                    state: messages::receiving_state(&known),
                    required: Vec::new(),
                    seqs: vec![seq],
                    complete: false,
                    bytes: 0,
                    snapshot: None,
                    awaiting: 0,
                    rounds: 0,
                    touched: self.now,
                    loaded,
                    attestations: Vec::new(),
                    unverified: Vec::new(),
                    reading: None,
                },
            );
        } else if let Some(pending) = self.pending.get_mut(&doc) {
            pending.seqs.push(seq);
        }
        self.apply(peer, doc, message, prepared, admission, config, out)
    }

    /// The peer's attestations for changes of `doc` it is about to send.
    pub(crate) fn attest<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        doc: DocumentId,
        attestations: Vec<Attestation>,
        store: &mut S,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let held = self.attested.get(&doc).map_or(0, Vec::len);
        if held + attestations.len() > MAX_PENDING_ATTESTATIONS {
            return Err(SessionError::Protocol(format!(
                "{} attestations for document {doc} not yet stored, beyond the limit of {MAX_PENDING_ATTESTATIONS}",
                held + attestations.len()
            )));
        }
        let bytes = attestations.len() * ATTESTATION_LEN;
        let limit = config.max_pending_bytes();
        if self.held_bytes() + bytes > limit && self.complete_docs > 0 {
            self.commit(peer, store, out)?;
        }
        if self.held_bytes() + bytes > limit {
            return Err(SessionError::Protocol(format!(
                "attestations of {bytes} bytes with {} bytes (messages and attestations) already held for documents not yet stored: beyond the limit of {limit}",
                self.held_bytes()
            )));
        }
        self.attested_bytes += bytes;
        self.attested.entry(doc).or_default().extend(attestations);
        Ok(())
    }

    /// The peer's bytes held for documents not yet stored: their messages
    /// and their attestations, one budget
    /// ([`SessionConfig::max_pending_bytes`]).
    fn held_bytes(&self) -> usize {
        self.pending_bytes + self.attested_bytes
    }

    fn drop_attestations(&mut self, doc: &DocumentId) {
        if let Some(list) = self.attested.remove(doc) {
            self.attested_bytes -= list.len() * ATTESTATION_LEN;
        }
    }

    pub(crate) fn continued<A: Admission>(
        &mut self,
        peer: &PeerId,
        doc: DocumentId,
        message: &[u8],
        admission: &mut A,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let Some(pending) = self.pending.get_mut(&doc) else {
            // A continuation for a document already completed or refused: harmless.
            return Ok(());
        };
        if pending.awaiting == 0 {
            // Not an answer to a reply of ours (a late one from an exchange
            // that ended): ignored, never applied.
            return Ok(());
        }
        pending.awaiting -= 1;
        self.apply(peer, doc, message, None, admission, config, out)
    }

    /// Apply one message of the peer's to `doc`. `prepared`: the same
    /// message checked, decoded and possibly loaded ahead
    /// (`protocol::prepare`), used in place of doing that here.
    #[allow(clippy::too_many_arguments)]
    fn apply<A: Admission>(
        &mut self,
        peer: &PeerId,
        doc: DocumentId,
        message: &[u8],
        prepared: Option<PreparedOffer>,
        admission: &mut A,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let Some(pending) = self.pending.get_mut(&doc) else {
            return Ok(());
        };
        let (decoded, loaded) = match prepared {
            Some(p) => (p.decoded, p.whole),
            None => (guard::sync_message(message, &config.guard), None),
        };
        // A bomb (bytes no honest node writes) closes the session; a message
        // over a limit or unreadable refuses this document only.
        let decoded = match decoded {
            Ok(m) => m,
            Err(e) if e.is_hostile() => {
                return Err(SessionError::sync_message(&doc, e));
            }
            Err(e) => {
                self.refuse(doc, format!("sync message refused: {e}"), out);
                return Ok(());
            }
        };
        pending.required = decoded.heads.clone();
        let limit = config.max_pending_bytes();
        // Fields, not `held_bytes()`: `pending` borrows the map.
        let held = self.pending_bytes + self.attested_bytes;
        if held + message.len() > limit {
            return Err(SessionError::Protocol(format!(
                "a message of {} bytes for document {doc} with {held} bytes (messages and attestations) already held in unfinished documents: beyond the limit of {limit}",
                message.len(),
            )));
        }
        if pending.complete {
            // Counted again below if it is still complete.
            pending.complete = false;
            self.complete_docs -= 1;
            self.complete_bytes -= pending.bytes;
        }
        pending.bytes += message.len();
        self.pending_bytes += message.len();
        pending.touched = self.now;
        let fresh = !pending.existed && pending.document.get_heads().is_empty();
        // Automerge panicking on the peer's data closes the session too.
        let hostile = |e: guard::GuardError| SessionError::sync_message(&doc, e);
        let whole = match (fresh, loaded) {
            // Loaded ahead, under the same guard: its verdict as it came.
            (true, Some(loaded)) => loaded.map_err(hostile)?,
            (true, None) => {
                guard::contained(|| messages::whole_new_document(&decoded)).map_err(hostile)?
            }
            // Held here already: applied to our copy (a load ahead, if
            // any, is dropped).
            (false, _) => None,
        };
        match whole {
            Some((document, bytes)) => {
                // The whole document in one piece: keep it as it came.
                pending.state.shared_heads = decoded.heads.clone();
                pending.state.their_heads = Some(decoded.heads.clone());
                pending.state.their_have = Some(decoded.have.clone());
                pending.state.their_need = Some(decoded.need.clone());
                pending.document = document;
                pending.snapshot = Some(bytes);
            }
            None => {
                pending.snapshot = None;
                if let Err(e) = guard::contained(|| {
                    pending
                        .document
                        .receive_sync_message(&mut pending.state, decoded)
                })
                .map_err(hostile)?
                {
                    let reason = format!("changes could not be applied: {e}");
                    self.refuse(doc, reason, out);
                    return Ok(());
                }
            }
        }
        if messages::holds_all(&pending.document, &pending.required) {
            let sent = self.attested.get(&doc).map_or(&[][..], Vec::as_slice);
            let (changes, unverified) =
                guard::contained(|| new_changes(sent, &pending.document, &doc, &pending.before))
                    .map_err(hostile)?;
            let admitted = guard::contained(|| {
                admission.admit(
                    peer,
                    &doc,
                    &pending.document,
                    pending.existed,
                    &pending.before,
                    &changes,
                )
            })
            .map_err(hostile)?;
            pending.reading = match admitted {
                Ok(reading) => reading,
                Err(reason) => {
                    self.refuse(doc, reason, out);
                    return Ok(());
                }
            };
            pending.complete = true;
            pending.unverified = unverified;
            // Stored: the attestations that proved something, each once
            // (under the change it names); the changes they prove through
            // the chain are found again the same way (`show`, a relay).
            pending.attestations = changes
                .into_iter()
                .filter_map(|c| c.attestation.filter(|a| a.change == c.hash.0))
                .collect();
            self.complete_docs += 1;
            if self.batch_since.is_none() {
                self.batch_since = self.now;
            }
            self.complete_bytes += pending.bytes;
            out.event(SessionEvent::Received { doc });
        } else {
            if let Some(reply) =
                guard::uncompressed_reply(&pending.document, &mut pending.state).map_err(hostile)?
            {
                if pending.rounds >= MAX_ROUNDS {
                    return Err(SessionError::Protocol(format!(
                        "document {doc} still incomplete after {MAX_ROUNDS} rounds of sync messages"
                    )));
                }
                pending.rounds += 1;
                pending.awaiting += 1;
                out.send(Frame::Reply {
                    doc,
                    message: reply.encode(),
                });
            }
        }
        Ok(())
    }

    fn refuse(&mut self, doc: DocumentId, reason: String, out: &mut Output) {
        self.drop_attestations(&doc);
        if let Some(pending) = self.pending.remove(&doc) {
            self.pending_bytes -= pending.bytes;
            self.loaded_bytes -= pending.loaded;
            if pending.complete {
                self.complete_docs -= 1;
                self.complete_bytes -= pending.bytes;
            }
            // Nothing will be stored: the sequences count as done.
            for seq in pending.seqs {
                self.open.remove(&seq);
                self.open_docs.remove(&seq);
            }
        }
        self.refused += 1;
        out.event(SessionEvent::Refused {
            doc,
            reason: reason.clone(),
            by_peer: false,
        });
        out.send(Frame::Refuse { doc, reason });
    }

    /// Verify, in one batch (`attest::verify_many`), the attestations the
    /// complete documents' proofs rest on; refuse each document one of
    /// them fails for (nothing of it is stored), as admission refuses a
    /// change nothing proves.
    fn settle(&mut self, out: &mut Output) {
        let items: Vec<(DocumentId, &Attestation)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.complete)
            .flat_map(|(doc, p)| p.unverified.iter().map(move |a| (*doc, a)))
            .collect();
        if items.is_empty() {
            return;
        }
        let results = attest::verify_many(&items);
        let mut bad: Vec<(DocumentId, String)> = Vec::new();
        for ((doc, a), ok) in items.iter().zip(results) {
            if !ok && !bad.iter().any(|(d, _)| d == doc) {
                bad.push((
                    *doc,
                    format!(
                        "change {} carries an attestation whose signature does not verify (key of node {}); unsigned changes are not accepted from peers. Nothing of this message was stored",
                        hex6(&a.change),
                        NodeId::from_bytes(a.author()).short()
                    ),
                ));
            }
        }
        for p in self.pending.values_mut().filter(|p| p.complete) {
            p.unverified.clear();
        }
        for (doc, reason) in bad {
            self.refuse(doc, reason, out);
        }
    }

    pub(crate) fn through(&mut self, seq: u64) -> Result<(), SessionError> {
        if seq < self.through {
            return Err(SessionError::Protocol(format!(
                "`through {seq}` goes back before {}",
                self.through
            )));
        }
        self.through = seq;
        Ok(())
    }
}
