//! The sending half: serving the peer's pull from our change feed.
//!
//! Scans the feed above the peer's checkpoint in sequence order, skips
//! documents the peer already holds (echo suppression: what it just sent
//! us), offers the rest with their changes, and keeps at most the peer's
//! window unacknowledged. An `Ack` frees the window and records what the
//! peer now holds, so the next offer of that document carries only the
//! changes made since.
//!
//! Offers are produced only while the send queue has room (the peer reads
//! them at its pace, not ours). The peer may answer each offer or
//! continuation with one `Reply`, at most [`MAX_ROUNDS`] per exchange; and
//! offers left unacknowledged for `exchange_timeout` end the session.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use automerge::ChangeHash;
use automerge::sync::SyncDoc;

use super::attest::{ATTESTATION_LEN, Attestation, MAX_ATTESTATIONS};
use super::chain;
use super::frame::Frame;
use super::guard;
use super::inbound::{MAX_PENDING_ATTESTATIONS, MAX_ROUNDS};
use super::messages;
use super::session::{
    MAX_UNFINISHED_OFFERS, MIN_WINDOW_BYTES, Output, SessionConfig, SessionError, SessionEvent,
};
use super::store::{PeerId, SyncStore};
use crate::document_id::DocumentId;

struct Offered {
    doc: DocumentId,
    heads: Vec<ChangeHash>,
    bytes: usize,
    /// The peer refused it: its window is still taken until the `Ack`
    /// (the receiver counts it until then), but the acknowledgement does
    /// not mean the peer holds these heads.
    refused: bool,
}

pub(crate) struct Outbound {
    /// The peer's checkpoint of our feed, from its Hello; `None` until then.
    started: bool,
    /// Every in-scope entry up to here has been offered or skipped.
    cursor: u64,
    /// The highest `Through` sent.
    through_sent: u64,
    in_flight: BTreeMap<u64, Offered>,
    in_flight_bytes: usize,
    /// Exchanges that continue after a reply (the peer could not complete from the offer).
    exchanges: HashMap<DocumentId, Exchange>,
    window_docs: usize,
    window_bytes: usize,
    /// The window the path calls for, in frame bytes (`PathEstimate`);
    /// `None` until the shell says: the peer's window as advertised.
    pub(crate) path_window: Option<usize>,
    /// Offers in flight of documents the peer holds a version of (they
    /// may need a reply): at most [`MAX_UNFINISHED_OFFERS`].
    unfinished: std::collections::BTreeSet<u64>,
    /// The offer being made is of a document the peer holds a version of.
    offering_delta: bool,
    acked: u64,
    pub(crate) offered: u64,
    pub(crate) skipped: u64,
    /// Since when offers have waited for an acknowledgement (the last
    /// acknowledgement, or the first offer after none was in flight).
    waiting_since: Option<Instant>,
    /// The time as the session was last given it.
    pub(crate) now: Option<Instant>,
}

struct Exchange {
    /// Our latest offer of the document (in flight while the exchange
    /// lasts: acknowledgements go in order, and the exchange ends with the
    /// document's last offer in flight).
    seq: u64,
    /// The heads that offer took as shared. With the offer's heads, they
    /// make the state its opening left (`messages::opening_state`): each
    /// reply of the peer's is answered from that state rebuilt, so nothing
    /// the peer sends (its heads, needs, Bloom filters) outlives its reply,
    /// and an offer in flight costs only this (`budget.rs`). The reply
    /// says what the peer holds now, which is all a continuation needs.
    shared: Vec<ChangeHash>,
    /// Offers and continuations sent that the peer has not replied to.
    unanswered: u32,
    /// Replies received.
    rounds: u32,
}

impl Outbound {
    pub(crate) fn new() -> Self {
        Outbound {
            started: false,
            cursor: 0,
            through_sent: 0,
            in_flight: BTreeMap::new(),
            in_flight_bytes: 0,
            exchanges: HashMap::new(),
            window_docs: 0,
            window_bytes: 0,
            path_window: None,
            unfinished: std::collections::BTreeSet::new(),
            offering_delta: false,
            acked: 0,
            offered: 0,
            skipped: 0,
            waiting_since: None,
            now: None,
        }
    }

    /// The peer's Hello: where its checkpoint of our feed stands.
    pub(crate) fn start(
        &mut self,
        since: u64,
        window_docs: u32,
        window_bytes: u32,
        config: &SessionConfig,
    ) {
        self.started = true;
        self.cursor = since;
        self.through_sent = since;
        self.acked = since;
        self.window_docs = (window_docs as usize).clamp(1, config.max_window_docs);
        self.window_bytes =
            (window_bytes as usize).clamp(MIN_WINDOW_BYTES, config.max_window_bytes);
    }

    /// The unacknowledged window as it stands: (documents, bytes) — the
    /// peer's, and in bytes no more than the path calls for (never below
    /// [`MIN_WINDOW_BYTES`]).
    pub(crate) fn window(&self) -> (usize, usize) {
        let bytes = match self.path_window {
            Some(path) => path.clamp(MIN_WINDOW_BYTES, self.window_bytes.max(MIN_WINDOW_BYTES)),
            None => self.window_bytes,
        };
        (self.window_docs, bytes)
    }

    fn window_open(&self) -> bool {
        let (docs, bytes) = self.window();
        self.in_flight.len() < docs && self.in_flight_bytes < bytes
    }

    /// May the offer of feed entry `doc` go now? An offer that may need a
    /// reply waits while [`MAX_UNFINISHED_OFFERS`] of them are in flight.
    fn unfinished_room<S: SyncStore>(
        &self,
        peer: &PeerId,
        doc: &DocumentId,
        store: &mut S,
    ) -> Result<bool, SessionError> {
        if self.unfinished.len() < MAX_UNFINISHED_OFFERS {
            return Ok(true);
        }
        Ok(store
            .peer_heads(peer, doc)
            .map_err(SessionError::store)?
            .is_empty())
    }

    /// Everything offered is acknowledged and the feed has been scanned to its end.
    pub(crate) fn caught_up(&self, last_seq: u64) -> bool {
        self.started
            && self.in_flight.is_empty()
            && self.cursor >= last_seq
            && self.through_sent >= self.cursor
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Offer what the feed holds beyond the cursor, as far as the window
    /// and the send queue allow. True if it stopped for want of queue room.
    pub(crate) fn pump<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<bool, SessionError> {
        if !self.started {
            return Ok(false);
        }
        let room = |out: &Output| out.queued() < config.send_queue_bulk;
        loop {
            if !self.window_open() {
                return Ok(false);
            }
            if !room(out) {
                self.send_through(out);
                return Ok(true);
            }
            let last = store.last_seq().map_err(SessionError::store)?;
            if self.cursor >= last {
                break;
            }
            let items = store
                .feed_for_peer(peer, self.cursor, last, config.scan_batch)
                .map_err(SessionError::store)?;
            let complete_scan = items.len() < config.scan_batch;
            for item in items {
                if !self.window_open() {
                    self.send_through(out);
                    return Ok(false);
                }
                if !room(out) {
                    self.send_through(out);
                    return Ok(true);
                }
                if !self.unfinished_room(peer, &item.doc, store)? {
                    // The acknowledgements of earlier ones make room.
                    self.send_through(out);
                    return Ok(false);
                }
                self.offering_delta = false;
                self.offer(peer, item.doc, item.seq, store, config, out)?;
                if self.offering_delta && self.in_flight.contains_key(&item.seq) {
                    self.unfinished.insert(item.seq);
                }
                self.cursor = item.seq;
            }
            if complete_scan {
                self.cursor = last;
            }
            self.send_through(out);
        }
        self.send_through(out);
        Ok(false)
    }

    fn send_through(&mut self, out: &mut Output) {
        if self.cursor > self.through_sent {
            self.through_sent = self.cursor;
            out.send(Frame::Through { seq: self.cursor });
        }
    }

    fn offer<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        doc: DocumentId,
        seq: u64,
        store: &mut S,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let known = store.peer_heads(peer, &doc).map_err(SessionError::store)?;
        self.offering_delta = !known.is_empty();
        if let Some(heads) = store.heads(&doc).map_err(SessionError::store)?
            && !known.is_empty()
            && heads.iter().all(|h| known.contains(h))
        {
            // The peer holds all of it already (typically: it sent it to us).
            self.skipped += 1;
            return Ok(());
        }
        let whole = if known.is_empty() {
            // A snapshot saved deflated (by an older version) is re-saved.
            store
                .whole_document(&doc)
                .map_err(SessionError::store)?
                .filter(|whole| guard::uncompressed(&whole.bytes))
        } else {
            None
        };
        let (message, shared, heads, attestations) = match whole {
            Some(whole) => {
                let heads = whole.heads.clone();
                let message = messages::opening_whole(whole.bytes, whole.heads);
                let attestations = whole_attestations(&doc, &heads, store)?;
                (message, Vec::new(), heads, attestations)
            }
            None => {
                let Some(document) = store.load(&doc).map_err(SessionError::store)? else {
                    return Ok(());
                };
                let (message, shared) = messages::opening(&document, &known);
                // One attestation per actor among the changes sent: its
                // latest's, which proves the rest through the hash chain.
                let sent = messages::sent_changes(&document, &known);
                let attestations = if sent.is_empty() {
                    Vec::new()
                } else {
                    let hashes: Vec<ChangeHash> = sent.iter().map(|m| m.hash).collect();
                    let stored = store
                        .attestations(&doc, &hashes)
                        .map_err(SessionError::store)?;
                    chain::select(&sent, None, &stored)
                };
                (message, shared, document.get_heads(), attestations)
            }
        };
        if attestations.len() > MAX_PENDING_ATTESTATIONS {
            // The peer would hold no more for one document and end the
            // session: leave this document out, and say so.
            self.skipped += 1;
            out.event(SessionEvent::Refused {
                doc,
                reason: format!(
                    "not sent: {} attestations, more than a peer holds for one document ({MAX_PENDING_ATTESTATIONS})",
                    attestations.len()
                ),
                by_peer: false,
            });
            return Ok(());
        }
        let bytes = message.len() + attestations.len() * ATTESTATION_LEN;
        if message.len() > config.max_message {
            // The peer would refuse the frame and end the session, every
            // session: leave this document out instead, and say so.
            self.skipped += 1;
            out.event(SessionEvent::Refused {
                doc,
                reason: format!(
                    "not sent: its sync message of {} bytes exceeds the limit of {}",
                    message.len(),
                    config.max_message
                ),
                by_peer: false,
            });
            return Ok(());
        }
        if self.in_flight.is_empty() {
            self.waiting_since = self.now;
        }
        self.in_flight.insert(
            seq,
            Offered {
                doc,
                heads,
                bytes,
                refused: false,
            },
        );
        self.in_flight_bytes += bytes;
        let unanswered = self.exchanges.get(&doc).map_or(0, |e| e.unanswered);
        self.exchanges.insert(
            doc,
            Exchange {
                seq,
                shared,
                unanswered: unanswered + 1,
                rounds: 0,
            },
        );
        self.offered += 1;
        send_attestations(doc, attestations, config, out);
        out.send(Frame::Offer { seq, doc, message });
        Ok(())
    }

    /// The peer could not complete a document from our offer: continue
    /// Automerge's sync protocol for it.
    pub(crate) fn reply<S: SyncStore>(
        &mut self,
        doc: DocumentId,
        message: &[u8],
        store: &mut S,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        self.take_reply_credit(&doc)?;
        let Some(mut state) = self.exchanges.get(&doc).and_then(|e| {
            let offered = self.in_flight.get(&e.seq)?;
            Some(messages::opening_state(
                e.shared.clone(),
                offered.heads.clone(),
            ))
        }) else {
            return Err(SessionError::Protocol(format!(
                "reply for document {doc} that was not offered"
            )));
        };
        let message = guard::sync_message(message, &config.guard)
            .map_err(|e| SessionError::sync_message(&doc, e))?;
        let Some(mut document) = store.load(&doc).map_err(SessionError::store)? else {
            return Ok(());
        };
        // Read-only state: the peer's changes, if any, are ignored here.
        let hostile = |e: &dyn std::fmt::Display| SessionError::sync_message(&doc, e);
        guard::contained(|| document.receive_sync_message(&mut state, message))
            .map_err(|e| hostile(&e))?
            .map_err(|e| hostile(&e))?;
        if let Some(next) =
            guard::uncompressed_reply(&document, &mut state).map_err(|e| hostile(&e))?
        {
            if let Some(exchange) = self.exchanges.get_mut(&doc) {
                exchange.unanswered += 1;
            }
            // The changes a continuation carries are the ones the peer
            // lacks: the attestations that prove them go first — per actor,
            // its latest carried change's, or (a relay keeps only what
            // proved something) a later change's whose history holds it.
            let carried: HashSet<ChangeHash> = next
                .changes
                .iter()
                .flat_map(|chunk| {
                    automerge::Change::from_bytes(chunk.to_vec())
                        .ok()
                        .map(|c| c.hash())
                })
                .collect();
            let attestations = if next.changes.is_empty() {
                Vec::new()
            } else {
                let stored = store.attestations(&doc, &[]).map_err(SessionError::store)?;
                let metas = document.get_changes_meta(&[]);
                // Changes that do not parse one by one: a whole document.
                let carried = (!carried.is_empty()).then_some(&carried);
                chain::select(&metas, carried, &stored)
            };
            send_attestations(doc, attestations, config, out);
            out.send(Frame::Continue {
                doc,
                message: next.encode(),
            });
        }
        Ok(())
    }

    /// A reply must answer an offer or continuation of ours, and an
    /// exchange may take at most [`MAX_ROUNDS`] replies.
    fn take_reply_credit(&mut self, doc: &DocumentId) -> Result<(), SessionError> {
        let Some(exchange) = self.exchanges.get_mut(doc) else {
            return Ok(());
        };
        if exchange.unanswered == 0 {
            return Err(SessionError::Protocol(format!(
                "reply for document {doc} with no offer or continuation of ours to answer"
            )));
        }
        if exchange.rounds >= MAX_ROUNDS {
            return Err(SessionError::Protocol(format!(
                "document {doc} still not complete at the peer after {MAX_ROUNDS} rounds of sync messages"
            )));
        }
        exchange.unanswered -= 1;
        exchange.rounds += 1;
        Ok(())
    }

    /// The peer holds everything offered up to `through`.
    pub(crate) fn ack<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        through: u64,
        store: &mut S,
    ) -> Result<(), SessionError> {
        if through < self.acked {
            return Ok(());
        }
        if through > self.cursor {
            return Err(SessionError::Protocol(format!(
                "acknowledgement of sequence {through} beyond what was offered ({})",
                self.cursor
            )));
        }
        self.acked = through;
        self.unfinished = self.unfinished.split_off(&(through + 1));
        let rest = self.in_flight.split_off(&(through + 1));
        let done = std::mem::replace(&mut self.in_flight, rest);
        let mut latest: HashMap<DocumentId, Vec<ChangeHash>> = HashMap::new();
        for (_, offered) in done {
            self.in_flight_bytes -= offered.bytes;
            if offered.refused {
                // Recorded as held, the document would be skipped as an
                // echo in every later session: the peer would never get it
                // once the reason for the refusal (a quota, the disk
                // floor) is gone.
                latest.remove(&offered.doc);
            } else {
                latest.insert(offered.doc, offered.heads);
            }
        }
        if !latest.is_empty() {
            self.waiting_since = if self.in_flight.is_empty() {
                None
            } else {
                self.now
            };
            // Documents still in flight, gathered once (and only when an
            // acknowledgement moved): asking the whole window for each
            // acknowledged document cost the sending side a tenth of its
            // CPU in an initial sync (issue 11).
            let still: HashSet<&DocumentId> = self.in_flight.values().map(|o| &o.doc).collect();
            for doc in latest.keys() {
                if !still.contains(doc) {
                    self.exchanges.remove(doc);
                }
            }
        }
        store
            .commit_acknowledged(peer, latest.into_iter().collect(), through)
            .map_err(SessionError::store)?;
        Ok(())
    }

    /// The peer refused a document: it will not hold it, stop the exchange.
    /// The window it took is freed by the next `Ack` (which moves past it),
    /// not here: the receiver counts it until then, and a sender that freed
    /// it sooner could overrun the window as the receiver sees it.
    pub(crate) fn refused(&mut self, doc: &DocumentId) {
        self.exchanges.remove(doc);
        for offered in self.in_flight.values_mut() {
            if &offered.doc == doc {
                offered.refused = true;
            }
        }
    }

    /// When offers waiting for an acknowledgement time out.
    pub(crate) fn deadline(&self, config: &SessionConfig) -> Option<Instant> {
        if self.in_flight.is_empty() {
            return None;
        }
        self.waiting_since.map(|t| t + config.exchange_timeout)
    }

    /// The clock says `now`: offers unacknowledged for the timeout end the
    /// session (the daemon dials again; they are offered again).
    pub(crate) fn timeout(
        &mut self,
        now: Instant,
        config: &SessionConfig,
    ) -> Result<(), SessionError> {
        self.now = Some(now);
        if self.in_flight.is_empty() {
            self.waiting_since = None;
            return Ok(());
        }
        let since = *self.waiting_since.get_or_insert(now);
        let idle = now.saturating_duration_since(since);
        if idle >= config.exchange_timeout {
            return Err(SessionError::Stalled(format!(
                "the peer acknowledged none of {} offers for {} s",
                self.in_flight.len(),
                idle.as_secs()
            )));
        }
        Ok(())
    }
}

/// The attestations to send with a whole document of `heads`: the stored
/// ones when they are already one per author (what a relay stores); else,
/// when each author has one for a head (a head is its author's latest
/// change: an actor's changes chain), those; else the ones
/// [`chain::select`] picks from the document's change graph (loaded for
/// it). An author's own store keeps one per change it wrote.
fn whole_attestations<S: SyncStore>(
    doc: &DocumentId,
    heads: &[ChangeHash],
    store: &mut S,
) -> Result<Vec<Attestation>, SessionError> {
    let stored = store.attestations(doc, &[]).map_err(SessionError::store)?;
    let keys: HashSet<[u8; 32]> = stored.iter().map(|a| a.key).collect();
    if keys.len() == stored.len() {
        return Ok(stored);
    }
    let at_heads: Vec<Attestation> = stored
        .iter()
        .filter(|a| heads.iter().any(|h| h.0 == a.change))
        .cloned()
        .collect();
    if keys.iter().all(|k| at_heads.iter().any(|a| &a.key == k)) {
        return Ok(at_heads);
    }
    Ok(match store.load(doc).map_err(SessionError::store)? {
        Some(document) => chain::select(&document.get_changes_meta(&[]), None, &stored),
        None => stored,
    })
}

/// Attestations in `Attest` frames of at most [`MAX_ATTESTATIONS`], and no
/// larger than a sync message may be (the peer's frame limit).
fn send_attestations(
    doc: DocumentId,
    attestations: Vec<Attestation>,
    config: &SessionConfig,
    out: &mut Output,
) {
    let per_frame = MAX_ATTESTATIONS
        .min(config.max_message / ATTESTATION_LEN)
        .max(1);
    for part in attestations.chunks(per_frame) {
        out.send(Frame::Attest {
            doc,
            attestations: part.to_vec(),
        });
    }
}
