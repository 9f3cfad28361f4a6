//! A session's limits and batch sizes (`SessionConfig`), and the window the
//! path calls for (`PathEstimate`): what the session is configured with
//! and told, apart from the state machine that uses them (`session.rs`).

use std::time::Duration;

/// Limits and batch sizes.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Documents the peer may have in flight to us (our window): offers
    /// sent and not yet acknowledged, wherever they are (the network, our
    /// reader, our uncommitted batch).
    pub window_docs: u32,
    /// Bytes the peer may have in flight to us.
    pub window_bytes: u32,
    /// Documents of the peer's held here, received and not yet committed
    /// (at most the window). Complete ones are committed to make room; a
    /// peer whose unfinished documents alone pass it is disconnected.
    pub held_docs: usize,
    /// Bytes of the peer's messages held in those documents (at most the
    /// window; the last message may pass it).
    pub held_bytes: usize,
    /// Caps on the window the peer grants us.
    pub max_window_docs: usize,
    pub max_window_bytes: usize,
    /// Commit after this many complete documents…
    pub batch_docs: usize,
    /// …or this many bytes of their messages.
    pub batch_bytes: usize,
    /// Feed entries read per query.
    pub scan_batch: usize,
    /// Largest sync message accepted (and offered: a larger document is
    /// not sent, with a `Refused` event saying so).
    pub max_message: usize,
    /// What a peer's sync messages may hold before Automerge reads them.
    pub guard: super::guard::GuardLimits,
    /// An unfinished exchange with no progress for this long ends the
    /// session: a document of the peer's waiting for its next message, or
    /// our offers waiting for an acknowledgement.
    pub exchange_timeout: Duration,
    /// Offers, continuations and blob answers are produced only while
    /// fewer bytes than this are queued for the peer.
    pub send_queue_bulk: usize,
    /// Above this many queued bytes the session stops taking input
    /// ([`Session::accepts_input`]): a peer that does not read cannot make
    /// us buffer.
    pub send_queue_limit: usize,
}

/// The least window a sender assumes, whatever the receiver advertised.
pub const MIN_WINDOW_BYTES: usize = 64 * 1024;

/// Offers a sender keeps unacknowledged that may need a reply: those of
/// documents the peer already holds a version of (a whole document, sent to
/// a peer that holds none of it, completes on arrival). A receiver's
/// `held_docs` is never below it, so an honest sender never passes it.
pub const MAX_UNFINISHED_OFFERS: usize = 1024;

/// Of the path's congestion window, how much the sender keeps unacknowledged
/// (in frame bytes): twice what the congestion controller lets onto the
/// wire, so that the window never holds the controller back, while a slow
/// path is not handed megabytes that a cut would waste. The session adds
/// what the queues at both ends hold ([`Session::set_path`]).
pub const PATH_WINDOW_GAIN: u64 = 2;

/// Frame bytes sent before the path's figures narrow the window: until
/// then, the compression the stream achieves is not known, and a window
/// from the congestion window alone would hold the start of a transfer to
/// a few dozen documents.
pub const PATH_SAMPLE_BYTES: u64 = 1 << 20;

/// What the shell measured of the path to the peer (the session has no
/// socket and no clock: it is told). Given with
/// [`Session::set_path`]; until then the sender uses the peer's window as
/// advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathEstimate {
    /// The smoothed round-trip time.
    pub rtt: Duration,
    /// The congestion controller's window, in bytes on the wire.
    pub congestion_window: u64,
    /// Frame bytes the session has sent, and the bytes they took on the
    /// wire (the stream's compression and QUIC's overhead), for turning
    /// wire bytes into frame bytes. Zero until something was sent.
    pub frame_bytes_sent: u64,
    pub wire_bytes_sent: u64,
}

impl PathEstimate {
    /// The unacknowledged window this path calls for, in frame bytes:
    /// [`PATH_WINDOW_GAIN`] × the congestion window, scaled by the frame
    /// bytes each wire byte has carried (never below 1: QUIC's overhead
    /// only makes a window in frame bytes larger).
    pub fn window_bytes(&self) -> usize {
        let cwnd = u128::from(self.congestion_window) * u128::from(PATH_WINDOW_GAIN);
        let scaled = if self.wire_bytes_sent > 0 && self.frame_bytes_sent > self.wire_bytes_sent {
            cwnd.saturating_mul(u128::from(self.frame_bytes_sent))
                / u128::from(self.wire_bytes_sent)
        } else {
            cwnd
        };
        usize::try_from(scaled).unwrap_or(usize::MAX)
    }
}
impl SessionConfig {
    /// The window this node advertises and enforces, as the sender reads
    /// it (at least one document and [`MIN_WINDOW_BYTES`]).
    pub fn effective_window(&self) -> (usize, usize) {
        (
            (self.window_docs as usize).max(1),
            (self.window_bytes as usize).max(MIN_WINDOW_BYTES),
        )
    }

    /// Most documents of the peer's held here, not yet stored: `held_docs`,
    /// within the window and never below [`MAX_UNFINISHED_OFFERS`] (what an
    /// honest sender may leave unfinished).
    pub fn max_held_docs(&self) -> usize {
        let (window_docs, _) = self.effective_window();
        self.held_docs.max(MAX_UNFINISHED_OFFERS).min(window_docs)
    }

    /// Most bytes of the peer's messages held in documents not yet
    /// stored: `held_bytes` within the window (the last message may pass
    /// it). Continuations must fit too; complete documents are committed
    /// first to make room for them.
    pub fn max_pending_bytes(&self) -> usize {
        let (_, window_bytes) = self.effective_window();
        self.held_bytes.clamp(MIN_WINDOW_BYTES, window_bytes) + self.max_message
    }

    /// Most heap (estimated from their operations) of our own documents
    /// loaded for the peer's unfinished exchanges: as much as `held_bytes`.
    pub fn max_loaded_bytes(&self) -> usize {
        let (_, window_bytes) = self.effective_window();
        self.held_bytes.clamp(MIN_WINDOW_BYTES, window_bytes)
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            // In flight: a 300 ms round trip at the rate a node stores
            // dossiers (about 4,000–6,000 a second, 2.8–3.3 KB each
            // before the stream's zstd) needs about 2,000 documents and
            // 6 MB without loss. With loss, a gap in the one ordered stream
            // holds every acknowledgement behind it for about 1.5 round
            // trips more, so the window covers some 2.5: 7,168 / 21 MiB
            // (issue 11: 5% loss at 10,000 went from 1.4–1.5× the
            // loss-free time to 1.2–1.3×; 8,192 / 24 MiB did no better
            // and passes the per-peer bound). Offers cost memory per
            // offer (`budget.rs`: the peer's not yet acknowledged, ours in
            // flight); what a path does not need, the sender does not use
            // (it sizes its window from the path, `PathEstimate`).
            window_docs: 7168,
            window_bytes: 21 << 20,
            // Held: what memory the peer's documents may take here.
            held_docs: MAX_UNFINISHED_OFFERS,
            held_bytes: 3 << 20,
            max_window_docs: 7168,
            max_window_bytes: 32 << 20,
            // A commit is an fsync and rewrites the last pages of every
            // table and index it touches: large batches (the bytes bound,
            // about 740 dossiers, comes first) keep an initial sync's
            // writes near the WAL's 2× (issue 11). On a long path the
            // commit timer acknowledges sooner.
            batch_docs: 1024,
            batch_bytes: 2 << 20,
            scan_batch: 256,
            // A dossier is a few KiB; a province's configuration documents
            // a few hundred at most.
            max_message: 1 << 20,
            guard: super::guard::GuardLimits::default(),
            exchange_timeout: Duration::from_secs(120),
            send_queue_bulk: 1 << 20,
            send_queue_limit: 2 << 20,
        }
    }
}
