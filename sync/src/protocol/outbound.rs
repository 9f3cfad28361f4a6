//! The sending half: serving the peer's pull from our change feed.
//!
//! Scans the feed above the peer's checkpoint in sequence order, skips
//! documents the peer already holds (echo suppression: what it just sent
//! us), offers the rest with their changes, and keeps at most the peer's
//! window unacknowledged. An `Ack` frees the window and records what the
//! peer now holds, so the next offer of that document carries only the
//! changes made since.

use std::collections::{BTreeMap, HashMap};

use automerge::ChangeHash;
use automerge::sync::{State, SyncDoc};

use super::frame::Frame;
use super::guard;
use super::messages;
use super::session::{Output, SessionConfig, SessionError};
use super::store::{PeerId, SyncStore};
use crate::document_id::DocumentId;

struct Offered {
    doc: DocumentId,
    heads: Vec<ChangeHash>,
    bytes: usize,
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
    exchanges: HashMap<DocumentId, State>,
    window_docs: usize,
    window_bytes: usize,
    acked: u64,
    pub(crate) offered: u64,
    pub(crate) skipped: u64,
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
            acked: 0,
            offered: 0,
            skipped: 0,
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
        self.window_bytes = (window_bytes as usize).clamp(64 * 1024, config.max_window_bytes);
    }

    fn window_open(&self) -> bool {
        self.in_flight.len() < self.window_docs && self.in_flight_bytes < self.window_bytes
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

    /// Offer what the feed holds beyond the cursor, as far as the window allows.
    pub(crate) fn pump<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        config: &SessionConfig,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        if !self.started {
            return Ok(());
        }
        loop {
            if !self.window_open() {
                return Ok(());
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
                    return Ok(());
                }
                self.offer(peer, item.doc, item.seq, store, out)?;
                self.cursor = item.seq;
            }
            if complete_scan {
                self.cursor = last;
            }
            self.send_through(out);
        }
        self.send_through(out);
        Ok(())
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
        out: &mut Output,
    ) -> Result<(), SessionError> {
        let known = store.peer_heads(peer, &doc).map_err(SessionError::store)?;
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
        let (message, state, heads) = match whole {
            Some(whole) => {
                let heads = whole.heads.clone();
                let (message, state) = messages::opening_whole(whole.bytes, whole.heads);
                (message, state, heads)
            }
            None => {
                let Some(document) = store.load(&doc).map_err(SessionError::store)? else {
                    return Ok(());
                };
                let (message, state) = messages::opening(&document, &known);
                (message, state, document.get_heads())
            }
        };
        let bytes = message.len();
        self.in_flight.insert(seq, Offered { doc, heads, bytes });
        self.in_flight_bytes += bytes;
        self.exchanges.insert(doc, state);
        self.offered += 1;
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
        let Some(state) = self.exchanges.get_mut(&doc) else {
            return Err(SessionError::Protocol(format!(
                "reply for document {doc} that was not offered"
            )));
        };
        let message = guard::sync_message(message, &config.guard)
            .map_err(|e| SessionError::Protocol(format!("sync message for {doc}: {e}")))?;
        let Some(mut document) = store.load(&doc).map_err(SessionError::store)? else {
            return Ok(());
        };
        // Read-only state: the peer's changes, if any, are ignored here.
        let hostile = |e: String| SessionError::Protocol(format!("sync message for {doc}: {e}"));
        guard::contained(|| document.receive_sync_message(state, message))
            .map_err(|e| hostile(e.to_string()))?
            .map_err(|e| hostile(e.to_string()))?;
        if let Some(next) =
            guard::uncompressed_reply(&document, state).map_err(|e| hostile(e.to_string()))?
        {
            out.send(Frame::Continue {
                doc,
                message: next.encode(),
            });
        }
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
        let rest = self.in_flight.split_off(&(through + 1));
        let done = std::mem::replace(&mut self.in_flight, rest);
        let mut latest: HashMap<DocumentId, Vec<ChangeHash>> = HashMap::new();
        for (_, offered) in done {
            self.in_flight_bytes -= offered.bytes;
            latest.insert(offered.doc, offered.heads);
        }
        for doc in latest.keys() {
            if !self.in_flight.values().any(|o| &o.doc == doc) {
                self.exchanges.remove(doc);
            }
        }
        store
            .commit_acknowledged(peer, latest.into_iter().collect(), through)
            .map_err(SessionError::store)?;
        Ok(())
    }

    /// The peer refused a document: it will not hold it, stop the exchange.
    pub(crate) fn refused(&mut self, doc: &DocumentId) {
        self.exchanges.remove(doc);
        let mut freed = 0;
        self.in_flight.retain(|_, offered| {
            let keep = &offered.doc != doc;
            if !keep {
                freed += offered.bytes;
            }
            keep
        });
        self.in_flight_bytes -= freed;
    }
}
