//! Committing the peer's complete documents in batches, and the clocks of
//! the receiving half: the commit timer from the path, the checkpoint and
//! the `Ack` that reopens the peer's window, and the timeout of an
//! unfinished document.

use std::time::{Duration, Instant};

use super::Inbound;
use crate::document_id::DocumentId;
use crate::protocol::frame::Frame;
use crate::protocol::session::{Output, SessionConfig, SessionError, SessionEvent};
use crate::protocol::store::{PeerId, Received, SyncStore};

/// The commit timer from the round trip: a quarter of it, but never under
/// [`MIN_ACK_DELAY`] (each commit is an fsync: on a short path the batch
/// fills first) nor over [`MAX_ACK_DELAY`].
pub fn ack_delay(rtt: Duration) -> Duration {
    (rtt / 4).clamp(MIN_ACK_DELAY, MAX_ACK_DELAY)
}

/// See [`ack_delay`].
pub const MIN_ACK_DELAY: Duration = Duration::from_millis(40);
/// From this round trip on, the commit timer runs ([`ack_delay`]); below
/// it only full batches (and the end of the peer's run) commit: on a short
/// path the window cannot close before the acknowledgement returns, and a
/// timer would only cut a sink slowed by other work into many small
/// commits (measured: 208 commits instead of about 40 for 10,000 dossiers
/// on a loaded machine, and 3.1× the store written instead of 2.4×).
pub const LONG_PATH_RTT: Duration = Duration::from_millis(50);
/// See [`ack_delay`].
pub const MAX_ACK_DELAY: Duration = Duration::from_millis(250);

impl Inbound {
    /// Has the batch's first complete document waited `delay`? `None`
    /// without a clock (the session was never given the time).
    fn batch_waited(&self, delay: Duration) -> Option<bool> {
        match (self.batch_since, self.now) {
            (Some(since), Some(now)) => Some(now.saturating_duration_since(since) >= delay),
            _ => None,
        }
    }

    /// Is a commit due (enough complete documents buffered, or on a
    /// measured path, buffered for long enough)?
    pub(crate) fn batch_full(&self, config: &SessionConfig) -> bool {
        let waited = self
            .ack_delay
            .and_then(|delay| self.batch_waited(delay))
            .unwrap_or(false);
        self.complete_docs >= config.batch_docs
            || self.complete_bytes >= config.batch_bytes
            || (self.complete_docs > 0 && waited)
    }

    /// Nothing more to read for now: is the batch due anyway? In the middle
    /// of the peer's run (below the feed head of its Hello) complete
    /// documents wait for a full batch or the commit timer (the measured
    /// path's, else [`MIN_ACK_DELAY`]): every commit is an fsync and
    /// rewrites the last page of each table and index it touches, so a
    /// commit per read (often a few documents) would write the store many
    /// times over. The end of the run, and everything after it, commits at
    /// once.
    pub(crate) fn batch_due(&self, config: &SessionConfig) -> bool {
        self.complete_docs == 0
            || self.batch_full(config)
            || self.through >= self.peer_last_seq
            || self
                .batch_waited(self.ack_delay.unwrap_or(MIN_ACK_DELAY))
                .unwrap_or(true)
    }

    /// When a batch held back by [`Inbound::batch_due`] falls due.
    fn batch_deadline(&self) -> Option<Instant> {
        if self.complete_docs == 0 {
            return None;
        }
        self.batch_since
            .map(|since| since + self.ack_delay.unwrap_or(MIN_ACK_DELAY))
    }

    /// Commit complete documents and move the checkpoint as far as it may go;
    /// acknowledge to the peer.
    pub(crate) fn commit<S: SyncStore>(
        &mut self,
        peer: &PeerId,
        store: &mut S,
        out: &mut Output,
    ) -> Result<(), SessionError> {
        self.settle(out);
        let done: Vec<DocumentId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.complete)
            .map(|(doc, _)| *doc)
            .collect();
        let mut received = Vec::with_capacity(done.len());
        let mut done_seqs = Vec::new();
        for doc in done {
            if let Some(pending) = self.pending.remove(&doc) {
                self.pending_bytes -= pending.bytes;
                self.loaded_bytes -= pending.loaded;
                done_seqs.extend(pending.seqs.iter().copied());
                received.push(Received {
                    doc,
                    peer_heads: pending.required,
                    before: pending.before,
                    document: pending.document,
                    snapshot: pending.snapshot,
                    attestations: pending.attestations,
                    reading: pending.reading,
                });
            }
            self.drop_attestations(&doc);
        }
        self.complete_docs = 0;
        self.complete_bytes = 0;
        self.batch_since = None;
        for seq in &done_seqs {
            self.open.remove(seq);
            self.open_docs.remove(seq);
        }
        let checkpoint = match self.open.first() {
            Some(first) => (first - 1).min(self.through),
            None => self.through,
        }
        .max(self.checkpoint);
        if received.is_empty() && checkpoint == self.checkpoint {
            return Ok(());
        }
        let count = received.len();
        self.received += count as u64;
        store
            .commit_received(peer, received, checkpoint)
            .map_err(SessionError::store)?;
        self.commits += 1;
        self.checkpoint = checkpoint;
        if checkpoint > self.acked {
            self.acked = checkpoint;
            out.send(Frame::Ack {
                through: checkpoint,
            });
            // The window the peer may use again.
            let rest = self.unacked.split_off(&(checkpoint + 1));
            let freed: usize = std::mem::replace(&mut self.unacked, rest).values().sum();
            self.unacked_bytes -= freed;
        }
        out.event(SessionEvent::Committed {
            documents: count,
            checkpoint,
        });
        Ok(())
    }

    /// Would a message of `len` bytes pass the pending limit while complete
    /// documents (which a commit would free) are held?
    pub(crate) fn needs_room(&self, len: usize, config: &SessionConfig) -> bool {
        self.complete_docs > 0 && self.held_bytes() + len > config.max_pending_bytes()
    }

    /// Offers of the peer's not yet acknowledged: (documents, bytes).
    pub(crate) fn window_used(&self) -> (usize, usize) {
        (self.unacked.len(), self.unacked_bytes)
    }

    /// When the oldest unfinished document times out, or a batch held
    /// back falls due.
    pub(crate) fn deadline(&self, config: &SessionConfig) -> Option<Instant> {
        let unfinished = self
            .pending
            .values()
            .filter(|p| !p.complete)
            .filter_map(|p| p.touched)
            .min()
            .map(|t| t + config.exchange_timeout);
        match (unfinished, self.batch_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The clock says `now`: an unfinished document with no message for
    /// the timeout ends the session (its sequence stays open, so the next
    /// session is offered it again). Documents received before the clock
    /// was first given start their wait now.
    pub(crate) fn timeout(
        &mut self,
        now: Instant,
        config: &SessionConfig,
    ) -> Result<(), SessionError> {
        self.now = Some(now);
        for (doc, pending) in &mut self.pending {
            if pending.complete {
                continue;
            }
            let since = *pending.touched.get_or_insert(now);
            let idle = now.saturating_duration_since(since);
            if idle >= config.exchange_timeout {
                return Err(SessionError::Stalled(format!(
                    "document {doc} from the peer unfinished, with no message for {} s (it waits for a continuation)",
                    idle.as_secs()
                )));
            }
        }
        Ok(())
    }
}
