//! The session: one connection's replication, both ways, as a state
//! machine. It takes frames from the peer and returns frames to send; it
//! never touches a socket or a clock (the shell passes them in).
//!
//! ```text
//!  shell ──frames in──▶ Session::handle ──▶ inbound (our pull) / outbound (their pull)
//!  shell ◀─frames out── Session::poll_transmit
//!  shell ──"feed may have grown"──▶ Session::pump
//!  shell ──"nothing more to read now"──▶ Session::flush   (commits the batch)
//!  shell ──"it is now T"──▶ Session::handle_timeout        (poll_timeout says when)
//! ```
//!
//! ## What a peer can make this node hold
//!
//! Every buffer a peer can fill is bounded here, and a peer that goes past
//! a bound it was told about is disconnected with the reason
//! ([`SessionError::Protocol`]):
//!
//! - **Offers** — at most `window_docs` offers and `window_bytes` of their
//!   messages unacknowledged (the window of our Hello), counted since the
//!   last `Ack` we sent. A `Refuse` frees nothing: the next `Ack` does, so
//!   the sender's count is never below ours. The window bounds what may be
//!   *in flight*; what is *held here* (documents received and not yet
//!   committed) has its own, smaller bounds, `held_docs` and `held_bytes`:
//!   complete documents are committed to make room, and only documents
//!   waiting for a continuation can fill them, which an honest sender keeps
//!   to [`MAX_UNFINISHED_OFFERS`]. So the window can follow the path (a
//!   long round trip needs a large one) without costing memory.
//! - **Continuations** — one per `Reply` we sent, at most
//!   [`MAX_ROUNDS`] per document; all unfinished documents together hold at
//!   most [`SessionConfig::max_pending_bytes`] of the peer's messages.
//! - **Attestations** (issue 8) — at most `MAX_PENDING_ATTESTATIONS` for
//!   one document not yet stored, and `max_pending_bytes` of them in all;
//!   dropped with the document when it is stored or refused.
//! - **Replies** to our offers — one per `Offer`/`Continue` we sent, at
//!   most [`MAX_ROUNDS`] per exchange.
//! - **Blob wants** — at most `MAX_SERVING_CHUNKS` chunks asked and not
//!   yet sent (see `blobs.rs`); answers are read from the store only when
//!   the send queue has room.
//! - **Time** — an unfinished document with no message for
//!   `exchange_timeout`, or offers of ours with no `Ack` for as long, end
//!   the session ([`SessionError::Stalled`]); the daemon dials again and
//!   resumes from the checkpoint.
//! - **Our send queue** — bulk frames (offers, continuations, blob
//!   answers) are produced only while fewer than `send_queue_bulk` bytes
//!   are queued; above `send_queue_limit` [`Session::accepts_input`] is
//!   false and the shell stops reading from the peer. Frames produced in
//!   answer to input (acks, replies, refusals) are small and bounded by the
//!   window, so an honest peer never brings the queue to the limit, and
//!   two honest peers never both stop reading (see `transport/driver.rs`).

use std::collections::VecDeque;
use std::time::Instant;

use super::blobs::Blobs;
use super::frame::{DecodeError, Frame, PROTOCOL_VERSION, error_code};
use super::inbound::Inbound;
pub use super::inbound::MAX_ROUNDS;
use super::outbound::Outbound;
use super::prepare::{Prepared, PreparedOffer, Preparer};
use super::store::{Admission, PeerId, SyncStore};
use crate::document_id::DocumentId;

pub use super::config::{
    MAX_UNFINISHED_OFFERS, MIN_WINDOW_BYTES, PATH_SAMPLE_BYTES, PATH_WINDOW_GAIN, PathEstimate,
    SessionConfig,
};

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("peer broke the protocol: {0}")]
    Protocol(String),
    #[error(
        "peer speaks protocol version {0}, this node {PROTOCOL_VERSION}; upgrade the older node"
    )]
    Version(u16),
    #[error("peer closed the session with error {code}: {reason}")]
    Peer { code: u16, reason: String },
    #[error("store: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
    #[error("malformed frame: {0}")]
    Decode(#[from] DecodeError),
    /// An exchange made no progress for the configured timeout.
    #[error("sync stalled: {0}")]
    Stalled(String),
}

impl SessionError {
    pub(crate) fn store<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        SessionError::Store(Box::new(e))
    }

    /// The peer's sync message for `doc` broke the protocol (a guard's
    /// verdict, or Automerge refusing or panicking on it).
    pub(crate) fn sync_message(doc: &DocumentId, problem: impl std::fmt::Display) -> Self {
        SessionError::Protocol(format!("sync message for {doc}: {problem}"))
    }

    fn code(&self) -> u16 {
        match self {
            SessionError::Protocol(_) | SessionError::Decode(_) | SessionError::Peer { .. } => {
                error_code::PROTOCOL
            }
            SessionError::Version(_) => error_code::VERSION,
            SessionError::Store(_) => error_code::STORE,
            SessionError::Stalled(_) => error_code::TIMEOUT,
        }
    }
}

/// What happened, for logs and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A document from the peer is complete (not yet durable).
    Received { doc: DocumentId },
    /// A batch is durable; the checkpoint of the peer's feed moved.
    Committed { documents: usize, checkpoint: u64 },
    /// A document was refused, by us (`by_peer` false) or by the peer.
    Refused {
        doc: DocumentId,
        reason: String,
        by_peer: bool,
    },
    /// A feed was found to have restarted (a store replaced by an older
    /// copy): `ours` if the peer held more of our feed than exists.
    FeedReset { ours: bool },
    /// A blob arrived complete and verified.
    BlobReceived { hash: [u8; 32] },
    /// A blob could not be fetched from this peer.
    BlobFailed { hash: [u8; 32], reason: String },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub offered: u64,
    pub skipped: u64,
    pub received: u64,
    pub refused: u64,
    pub commits: u64,
    /// Times this side had to wait for the peer: a frame received after a
    /// run of frames sent. Counts round trips that a protocol step needed.
    pub turns: u64,
    pub blob_bytes_received: u64,
    pub blob_bytes_sent: u64,
    pub blob_chunks_refetched: u64,
    pub blobs_received: u64,
    /// Blobs being fetched right now.
    pub blobs_in_progress: u64,
}

/// Frames (encoded) and events produced while handling input.
#[derive(Default)]
pub(crate) struct Output {
    frames: VecDeque<Vec<u8>>,
    /// Bytes of `frames`.
    bytes: usize,
    events: VecDeque<SessionEvent>,
}

impl Output {
    pub(crate) fn send(&mut self, frame: Frame) {
        let bytes = frame.encode();
        self.bytes += bytes.len();
        self.frames.push_back(bytes);
    }

    /// Bytes queued for the peer.
    pub(crate) fn queued(&self) -> usize {
        self.bytes
    }

    pub(crate) fn event(&mut self, event: SessionEvent) {
        self.events.push_back(event);
    }
}

/// One connection's replication state.
pub struct Session {
    peer: PeerId,
    config: SessionConfig,
    inbound: Inbound,
    outbound: Outbound,
    blobs: Blobs,
    out: Output,
    stats: SessionStats,
    hello_received: bool,
    closed: bool,
    sent_since_receive: bool,
    last_seq: u64,
    /// Bulk output was held back for want of queue room: pump again once
    /// the queue drains.
    deferred: bool,
}

impl Session {
    /// Start a session with `peer`: reads our checkpoints and queues Hello.
    pub fn new<S: SyncStore>(
        peer: PeerId,
        config: SessionConfig,
        store: &mut S,
    ) -> Result<Self, SessionError> {
        let checkpoints = store.checkpoints(&peer).map_err(SessionError::store)?;
        let last_seq = store.last_seq().map_err(SessionError::store)?;
        let mut session = Session {
            peer,
            inbound: Inbound::new(checkpoints.incoming),
            outbound: Outbound::new(),
            blobs: Blobs::default(),
            out: Output::default(),
            stats: SessionStats::default(),
            hello_received: false,
            closed: false,
            sent_since_receive: false,
            last_seq,
            deferred: false,
            config,
        };
        session.out.send(Frame::Hello {
            version: PROTOCOL_VERSION,
            since: checkpoints.incoming,
            last_seq,
            window_docs: session.config.window_docs,
            window_bytes: session.config.window_bytes,
        });
        Ok(session)
    }

    pub fn peer(&self) -> &PeerId {
        &self.peer
    }

    /// Handle one frame's bytes from the peer. On error the session queues
    /// an `Error` frame for the peer and is closed; the shell sends what is
    /// queued and closes the connection.
    pub fn handle<S: SyncStore, A: Admission>(
        &mut self,
        bytes: &[u8],
        store: &mut S,
        admission: &mut A,
    ) -> Result<(), SessionError> {
        let prepared = self.preparer().decode(bytes);
        self.handle_prepared(prepared, store, admission)
    }

    /// What decodes and checks frames as this session would
    /// ([`crate::protocol::prepare`]): the shell may prepare frames with it
    /// on another thread and hand them over with [`Self::handle_prepared`].
    pub fn preparer(&self) -> Preparer {
        Preparer::new(self.config.max_message, self.config.guard.clone())
    }

    /// [`Self::handle`] for a frame decoded (and an offer possibly checked
    /// and loaded) ahead by [`Self::preparer`]'s `prepare`: the same
    /// checks, errors and refusals; what was prepared is not done again.
    pub fn handle_prepared<S: SyncStore, A: Admission>(
        &mut self,
        prepared: Prepared,
        store: &mut S,
        admission: &mut A,
    ) -> Result<(), SessionError> {
        if self.closed {
            return Ok(());
        }
        self.stats.frames_received += 1;
        self.stats.bytes_received += prepared.len() as u64;
        if self.sent_since_receive {
            self.stats.turns += 1;
            self.sent_since_receive = false;
        }
        let committed = self.inbound.commits;
        let offer = prepared.offer;
        let result = prepared
            .frame
            .map_err(SessionError::from)
            .and_then(|frame| self.dispatch(frame, offer, store, admission));
        if self.inbound.commits != committed {
            self.blobs.documents_changed();
        }
        if let Err(error) = &result {
            self.fail(error);
        }
        result
    }

    fn fail(&mut self, error: &SessionError) {
        if !matches!(error, SessionError::Peer { .. }) {
            self.out.send(Frame::Error {
                code: error.code(),
                reason: error.to_string(),
            });
        }
        self.closed = true;
    }

    fn dispatch<S: SyncStore, A: Admission>(
        &mut self,
        frame: Frame,
        prepared: Option<PreparedOffer>,
        store: &mut S,
        admission: &mut A,
    ) -> Result<(), SessionError> {
        if !self.hello_received && !matches!(frame, Frame::Hello { .. } | Frame::Error { .. }) {
            return Err(SessionError::Protocol(format!(
                "{} before hello",
                frame.name()
            )));
        }
        let peer = self.peer;
        match frame {
            Frame::Hello {
                version,
                since,
                last_seq,
                window_docs,
                window_bytes,
            } => {
                if self.hello_received {
                    return Err(SessionError::Protocol("second hello".into()));
                }
                if version != PROTOCOL_VERSION {
                    return Err(SessionError::Version(version));
                }
                let ours = store.last_seq().map_err(SessionError::store)?;
                // A checkpoint beyond our feed means our store was replaced
                // (restored from an older backup): serve the peer from the
                // start; Automerge's sync repairs what each side believes.
                let since = if since > ours {
                    self.out.event(SessionEvent::FeedReset { ours: true });
                    0
                } else {
                    since
                };
                if last_seq < self.inbound.checkpoint {
                    self.out.event(SessionEvent::FeedReset { ours: false });
                    self.inbound.reset();
                }
                self.hello_received = true;
                self.inbound.peer_last_seq = last_seq;
                store
                    .note_peer_head(&peer, last_seq)
                    .map_err(SessionError::store)?;
                self.outbound
                    .start(since, window_docs, window_bytes, &self.config);
                self.deferred |= self
                    .outbound
                    .pump(&peer, store, &self.config, &mut self.out)?;
            }
            Frame::Offer { seq, doc, message } => {
                if self.inbound.needs_room(message.len(), &self.config) {
                    self.inbound.commit(&peer, store, &mut self.out)?;
                }
                self.inbound.offer(
                    &peer,
                    seq,
                    doc,
                    &message,
                    prepared,
                    store,
                    admission,
                    &self.config,
                    &mut self.out,
                )?;
                if self.inbound.batch_full(&self.config) {
                    self.inbound.commit(&peer, store, &mut self.out)?;
                }
            }
            Frame::Continue { doc, message } => {
                if self.inbound.needs_room(message.len(), &self.config) {
                    self.inbound.commit(&peer, store, &mut self.out)?;
                }
                self.inbound.continued(
                    &peer,
                    doc,
                    &message,
                    admission,
                    &self.config,
                    &mut self.out,
                )?;
                if self.inbound.batch_full(&self.config) {
                    self.inbound.commit(&peer, store, &mut self.out)?;
                }
            }
            Frame::Attest { doc, attestations } => {
                self.inbound.attest(
                    &peer,
                    doc,
                    attestations,
                    store,
                    &self.config,
                    &mut self.out,
                )?;
            }
            Frame::Reply { doc, message } => {
                self.outbound
                    .reply(doc, &message, store, &self.config, &mut self.out)?;
            }
            Frame::Through { seq } => {
                self.inbound.through(seq)?;
                // The end of a run of offers: a good moment to make them
                // durable — if the run is the peer's last (its feed head),
                // or the batch is due anyway. A sender also marks the end
                // of each scan and each pause for queue room; committing at
                // each of those cut 10,000 dossiers into 127 commits.
                if self.inbound.batch_due(&self.config) {
                    self.inbound.commit(&peer, store, &mut self.out)?;
                }
            }
            Frame::Ack { through } => {
                self.outbound.ack(&peer, through, store)?;
                self.deferred |= self
                    .outbound
                    .pump(&peer, store, &self.config, &mut self.out)?;
            }
            Frame::Refuse { doc, reason } => {
                self.outbound.refused(&doc);
                self.out.event(SessionEvent::Refused {
                    doc,
                    reason,
                    by_peer: true,
                });
            }
            Frame::Error { code, reason } => {
                return Err(SessionError::Peer { code, reason });
            }
            Frame::BlobWant {
                hash,
                manifest,
                chunks,
            } => {
                self.blobs.want(hash, manifest, chunks)?;
                self.deferred |=
                    self.blobs
                        .serve(&peer, store, self.config.send_queue_bulk, &mut self.out)?;
            }
            Frame::BlobManifest { hash, chunks } => {
                self.blobs
                    .manifest(&peer, hash, chunks, store, &mut self.out)?;
            }
            Frame::BlobChunk { hash, index, data } => {
                self.blobs
                    .chunk(&peer, hash, index, data, store, &mut self.out)?;
            }
            Frame::BlobMissing { hash } => {
                self.blobs.missing(&peer, hash, store, &mut self.out)?;
                self.blobs.pump(&peer, store, &mut self.out)?;
            }
            Frame::BlobHave { hash } => {
                self.blobs.peer_has(&peer, hash, store)?;
                self.blobs.pump(&peer, store, &mut self.out)?;
            }
        }
        Ok(())
    }

    /// Our feed may have grown (a local write, or changes from another
    /// peer): offer what is new.
    pub fn pump<S: SyncStore>(&mut self, store: &mut S) -> Result<(), SessionError> {
        if self.closed {
            return Ok(());
        }
        self.last_seq = store.last_seq().map_err(SessionError::store)?;
        let peer = self.peer;
        self.deferred = false;
        let mut result = self
            .outbound
            .pump(&peer, store, &self.config, &mut self.out)
            .map(|held| self.deferred |= held);
        if result.is_ok() && self.hello_received {
            result = self.blobs.pump(&peer, store, &mut self.out);
        }
        if result.is_ok() && self.hello_received {
            result = self
                .blobs
                .serve(&peer, store, self.config.send_queue_bulk, &mut self.out)
                .map(|held| self.deferred |= held);
        }
        if let Err(error) = &result {
            self.fail(error);
        }
        result
    }

    /// Nothing more to read for now: commit what is complete — at once at
    /// the end of the peer's run, else when the batch is full or its timer
    /// ran out ([`Session::poll_timeout`] says when; call `flush` again
    /// after [`Session::handle_timeout`]).
    pub fn flush<S: SyncStore>(&mut self, store: &mut S) -> Result<(), SessionError> {
        if self.closed || !self.hello_received {
            return Ok(());
        }
        let peer = self.peer;
        let committed = self.inbound.commits;
        let result = if self.inbound.batch_due(&self.config) {
            self.inbound.commit(&peer, store, &mut self.out)
        } else {
            Ok(())
        }
        .and_then(|()| self.blobs.flush(&peer, store, &mut self.out));
        if self.inbound.commits != committed {
            self.blobs.documents_changed();
        }
        if let Err(error) = &result {
            self.fail(error);
        }
        result
    }

    /// The next frame to send, encoded.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let bytes = self.out.frames.pop_front()?;
        self.out.bytes -= bytes.len();
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        self.sent_since_receive = true;
        Some(bytes)
    }

    /// Bytes of frames queued for the peer and not yet taken by
    /// [`Session::poll_transmit`].
    pub fn queued_bytes(&self) -> usize {
        self.out.queued()
    }

    /// May the shell hand this session more input? False while more than
    /// `send_queue_limit` bytes wait for the peer: a peer that does not
    /// read what we send is not read either (backpressure).
    pub fn accepts_input(&self) -> bool {
        self.out.queued() < self.config.send_queue_limit
    }

    /// Output was held back for want of queue room and there is room now:
    /// the shell should call [`Session::pump`].
    pub fn wants_pump(&self) -> bool {
        self.deferred && !self.closed && self.out.queued() < self.config.send_queue_bulk
    }

    /// The time, from the shell: stamps what happens next, and ends the
    /// session if an exchange has made no progress for `exchange_timeout`
    /// (queues an `Error` frame and closes, like [`Session::handle`]). Call
    /// it before handing input and when [`Session::poll_timeout`] falls due.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if self.closed {
            return Ok(());
        }
        let result = self
            .inbound
            .timeout(now, &self.config)
            .and_then(|()| self.outbound.timeout(now, &self.config));
        if let Err(error) = &result {
            self.fail(error);
        }
        result
    }

    /// When [`Session::handle_timeout`] should next be called, if anything
    /// is waiting on the peer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        match (
            self.inbound.deadline(&self.config),
            self.outbound.deadline(&self.config),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What the shell measured of the path (round trip, congestion window,
    /// compression): our unacknowledged window follows it, within the
    /// window the peer advertised. Call it whenever the figures move (the
    /// driver does before each batch of input).
    pub fn set_path(&mut self, path: PathEstimate) {
        // An offer counts as in flight from the moment it is queued: our
        // send queue and the peer's uncommitted batch hold offers too, on
        // top of what the path holds.
        let queues = self.config.send_queue_bulk + self.config.batch_bytes;
        self.outbound.path_window = (path.frame_bytes_sent >= PATH_SAMPLE_BYTES)
            .then(|| path.window_bytes().saturating_add(queues));
        // On a short path acknowledgements come back long before the
        // window could close: batches fill (fewer commits, fewer fsyncs).
        self.inbound.ack_delay = (path.rtt >= super::inbound::LONG_PATH_RTT)
            .then(|| super::inbound::ack_delay(path.rtt));
    }

    /// Our unacknowledged window towards the peer as it stands:
    /// (documents, bytes) — the peer's, narrowed to the path.
    pub fn send_window(&self) -> (usize, usize) {
        self.outbound.window()
    }

    /// The peer's use of our window: offers not yet acknowledged, and their bytes.
    pub fn window_used(&self) -> (usize, usize) {
        self.inbound.window_used()
    }

    /// Attachment chunks the peer asked for that are not yet sent.
    pub fn blob_chunks_owed(&self) -> usize {
        self.blobs.serving_chunks()
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.out.events.pop_front()
    }

    /// Both directions are caught up: everything the peer offered is
    /// durable here, and everything we offered is acknowledged.
    pub fn is_synced(&self) -> bool {
        self.hello_received
            && !self.closed
            && self.out.frames.is_empty()
            && self.inbound.caught_up()
            && self.outbound.caught_up(self.last_seq)
            && self.blobs.idle()
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Close deliberately (shutdown): queues an error frame saying so.
    pub fn close(&mut self, reason: &str) {
        if !self.closed {
            self.out.send(Frame::Error {
                code: error_code::SHUTDOWN,
                reason: reason.to_string(),
            });
            self.closed = true;
        }
    }

    pub fn stats(&self) -> SessionStats {
        SessionStats {
            offered: self.outbound.offered,
            skipped: self.outbound.skipped,
            received: self.inbound.received,
            refused: self.inbound.refused,
            commits: self.inbound.commits,
            blob_bytes_received: self.blobs.bytes_received,
            blob_bytes_sent: self.blobs.bytes_sent,
            blob_chunks_refetched: self.blobs.chunks_refetched,
            blobs_received: self.blobs.completed,
            blobs_in_progress: self.blobs.in_progress() as u64,
            ..self.stats
        }
    }

    /// Our durable checkpoint of the peer's feed.
    pub fn incoming_checkpoint(&self) -> u64 {
        self.inbound.checkpoint
    }

    /// Documents offered to the peer and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.outbound.in_flight()
    }

    /// Offers from the peer not yet durable here.
    pub fn waiting(&self) -> usize {
        self.inbound.waiting()
    }
}
