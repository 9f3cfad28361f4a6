//! The session targets: a [`Session`] over a [`MemoryStore`] holding real
//! dossiers, fed whatever a fuzzed peer sends (see [`super::steps`] for the
//! input format), both as the receiver of offers (`session_receive`) and as
//! the sender that gets replies, acknowledgements, refusals and blob wants
//! (`session_send`).
//!
//! Invariants checked after every step:
//! - nothing panics, and the memory one input costs stays in the budget;
//! - the session's checkpoint of the peer's feed is the store's (it moves
//!   only with a commit), never goes back, and never passes an offered
//!   sequence whose document is neither stored nor refused;
//! - a document the admission refused is never stored;
//! - an error closes the session with an `Error` frame to the peer, and a
//!   closed session sends nothing more;
//! - what one step makes the session queue is bounded by what the store
//!   holds, not by what the peer asks, and a peer that does not read
//!   cannot make the queue grow past the send-queue limit and one step;
//! - time passing (a `time` step: the exchange timeout) ends what is
//!   stuck the same way an error does;
//! - at the end, every stored document still saves and loads with the
//!   same heads.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use automerge::Automerge;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::frame::{BLOB_CHUNK_SIZE, MAX_WANT_CHUNKS};
use lienthong_sync::protocol::memory::{MemoryStore, RefuseList};
use lienthong_sync::protocol::{Frame, Session, SessionConfig, SessionEvent, SyncStore};

use super::fixture::{self, PEER};
use super::steps::{self, Step};
use super::{MEMORY_BUDGET, alloc};

/// Flag bits of the input's first byte.
pub mod flags {
    /// The harness sends a valid Hello first (so mutations of the rest
    /// are not wasted on a session that never starts).
    pub const HELLO_FIRST: u8 = 1;
    /// Admission refuses dossier 1.
    pub const REFUSE_ONE: u8 = 2;
    /// Small windows and batches: commits and window stalls come sooner.
    pub const SMALL: u8 = 4;
    /// The peer reads what the session sends only when the session stops
    /// taking input (its send queue is over the limit).
    pub const SLOW_PEER: u8 = 8;
}

/// Which role the session under test plays.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    Receiver,
    Sender,
}

pub fn session_receive(data: &[u8]) {
    run(Role::Receiver, data);
}

pub fn session_send(data: &[u8]) {
    run(Role::Sender, data);
}

/// The configuration the session under test runs with.
pub fn config(input_flags: u8) -> SessionConfig {
    if input_flags & flags::SMALL != 0 {
        SessionConfig {
            window_docs: 2,
            window_bytes: 16 * 1024,
            max_window_docs: 2,
            max_window_bytes: 64 * 1024,
            batch_docs: 1,
            batch_bytes: 4096,
            scan_batch: 2,
            max_message: 1 << 20,
            send_queue_bulk: 32 * 1024,
            send_queue_limit: 128 * 1024,
            ..SessionConfig::default()
        }
    } else {
        SessionConfig::default()
    }
}

/// The Hello the harness sends for [`flags::HELLO_FIRST`].
pub fn hello() -> Vec<u8> {
    Frame::Hello {
        version: lienthong_sync::protocol::PROTOCOL_VERSION,
        since: 0,
        last_seq: 3,
        window_docs: 64,
        window_bytes: 1 << 20,
    }
    .encode()
}

pub fn store_for(role: Role) -> MemoryStore {
    use std::sync::OnceLock;
    static RECEIVER: OnceLock<MemoryStore> = OnceLock::new();
    static SENDER: OnceLock<MemoryStore> = OnceLock::new();
    match role {
        Role::Receiver => RECEIVER.get_or_init(fixture::receiver_store).clone(),
        Role::Sender => SENDER.get_or_init(fixture::sender_store).clone(),
    }
}

fn run(role: Role, data: &[u8]) {
    let mut store = store_for(role);
    let initial: HashSet<DocumentId> = store.documents().map(|(id, _)| *id).collect();
    // Bytes the store could send in answer to anything: every document
    // saved whole, and a full BlobWant's chunks.
    let holds: usize = store
        .documents()
        .map(|(_, d)| d.save_nocompress().len())
        .sum();
    let per_frame_bound =
        4 * holds + MAX_WANT_CHUNKS * (BLOB_CHUNK_SIZE + 64) + 2 * 32 * 1024 + 64 * 1024;

    let (input_flags, steps) = steps::parse(data);
    let mut admission = RefuseList::default();
    if input_flags & flags::REFUSE_ONE != 0 {
        admission.0.insert(fixture::fixture().dossiers[1].id);
    }
    let config = config(input_flags);
    let max_message = config.max_message;

    let slow_peer = input_flags & flags::SLOW_PEER != 0;
    let timeout = config.exchange_timeout;
    let queue_limit = config.send_queue_limit;

    let ((), cost) = alloc::measure_input(data, MEMORY_BUDGET, || {
        let mut now = Instant::now();
        let mut session =
            Session::new(PEER, config, &mut store).expect("a memory store never fails");
        let mut check = Checker::new();
        check.drain(&mut session);
        let hello = hello();
        let first = (input_flags & flags::HELLO_FIRST != 0).then_some(Step::Frame(&hello));
        for step in first.into_iter().chain(steps) {
            if session.wants_pump() {
                // As the shell does once queued output has gone out.
                let was_closed = session.is_closed();
                let result = session.pump(&mut store);
                check.after_call(&session, result.is_err(), was_closed);
            }
            let queued_before = session.queued_bytes();
            let was_closed = session.is_closed();
            let input_len = match step {
                Step::Flush => {
                    let result = session.flush(&mut store);
                    check.after_call(&session, result.is_err(), was_closed);
                    0
                }
                Step::Pump => {
                    let result = session.pump(&mut store);
                    check.after_call(&session, result.is_err(), was_closed);
                    0
                }
                Step::Time => {
                    now += timeout + Duration::from_secs(1);
                    let result = session.handle_timeout(now);
                    check.after_call(&session, result.is_err(), was_closed);
                    0
                }
                Step::Frame(bytes) => {
                    if !session.accepts_input() {
                        // The shell reads nothing more from a peer that
                        // does not read: here the peer reads at last.
                        check.drain(&mut session);
                    }
                    let result = session.handle_timeout(now);
                    check.after_call(&session, result.is_err(), was_closed);
                    let was_closed = session.is_closed();
                    check.note_offer(bytes, max_message, &session);
                    let result = session.handle(bytes, &mut store, &mut admission);
                    check.after_call(&session, result.is_err(), was_closed);
                    bytes.len()
                }
            };
            let queued = session.queued_bytes();
            let step_bound = per_frame_bound + 16 * input_len;
            assert!(
                queued.saturating_sub(queued_before) <= step_bound,
                "one step made the session queue {} bytes",
                queued - queued_before
            );
            assert!(
                queued <= queue_limit + step_bound,
                "{queued} bytes queued for a peer that does not read"
            );
            if !slow_peer {
                check.drain(&mut session);
            }
            check.events(&mut session);
            check.checkpoint(&session, &mut store);
            for refused in &admission.0 {
                assert!(
                    initial.contains(refused) || store.get(refused).is_none(),
                    "a document the admission refused was stored"
                );
            }
        }
        // The peer reads what is left; the shell flushes when it goes quiet.
        check.drain(&mut session);
        let was_closed = session.is_closed();
        let result = session.flush(&mut store);
        check.after_call(&session, result.is_err(), was_closed);
        check.drain(&mut session);
        check.checkpoint(&session, &mut store);
    });
    assert!(
        cost.within(MEMORY_BUDGET),
        "one input cost {} bytes",
        cost.peak
    );

    for (id, doc) in store.documents() {
        let saved = doc.save();
        let loaded = Automerge::load(&saved)
            .unwrap_or_else(|e| panic!("stored document {id} no longer loads: {e}"));
        assert_eq!(
            loaded.get_heads(),
            doc.get_heads(),
            "document {id} changed on reload"
        );
    }
}

/// What the harness knows of the exchange so far.
struct Checker {
    last_checkpoint: u64,
    /// The checkpoint of the latest `Committed` event read.
    last_committed: u64,
    /// Offers the session took on (sequence above its checkpoint), by sequence.
    offers: BTreeMap<u64, DocumentId>,
    refused: HashSet<DocumentId>,
    error_sent: bool,
    /// The frames the last call produced (drained after it).
    pending_error: bool,
}

impl Checker {
    fn new() -> Self {
        Checker {
            last_checkpoint: 0,
            last_committed: 0,
            offers: BTreeMap::new(),
            refused: HashSet::new(),
            error_sent: false,
            pending_error: false,
        }
    }

    fn note_offer(&mut self, bytes: &[u8], max_message: usize, session: &Session) {
        if session.is_closed() {
            return;
        }
        if let Ok(Frame::Offer { seq, doc, .. }) = Frame::decode(bytes, max_message)
            && seq > session.incoming_checkpoint()
        {
            self.offers.insert(seq, doc);
        }
    }

    fn after_call(&mut self, session: &Session, failed: bool, was_closed: bool) {
        if failed {
            assert!(session.is_closed(), "an error left the session open");
            assert!(!was_closed, "a closed session reported a new error");
            self.pending_error = true;
        }
    }

    fn drain(&mut self, session: &mut Session) {
        let mut last = None;
        while let Some(bytes) = session.poll_transmit() {
            assert!(
                !self.error_sent,
                "a closed session sent another frame after its error"
            );
            let frame = Frame::decode(&bytes, usize::MAX)
                .unwrap_or_else(|e| panic!("the session sent a frame it cannot decode: {e}"));
            if let Frame::Error { .. } = frame {
                self.error_sent = true;
            }
            last = Some(frame);
        }
        if self.pending_error {
            // A peer's own Error closes without an answer; anything else is answered.
            assert!(
                matches!(last, Some(Frame::Error { .. }) | None),
                "the session closed without an Error frame last: {last:?}"
            );
            self.pending_error = false;
            self.error_sent = true;
        }
        self.events(session);
    }

    /// Events are the node's own (logs, status): read every step, whether
    /// or not the peer reads its frames.
    fn events(&mut self, session: &mut Session) {
        while let Some(event) = session.poll_event() {
            if let SessionEvent::Refused {
                doc,
                by_peer: false,
                ..
            } = event
            {
                self.refused.insert(doc);
            }
            if let SessionEvent::Committed { checkpoint, .. } = event {
                // Events may be read some steps later (a slow peer).
                assert!(
                    checkpoint >= self.last_committed
                        && checkpoint <= session.incoming_checkpoint(),
                    "a commit reported checkpoint {checkpoint} after {}, with the session at {}",
                    self.last_committed,
                    session.incoming_checkpoint()
                );
                self.last_committed = checkpoint;
            }
        }
    }

    fn checkpoint(&mut self, session: &Session, store: &mut MemoryStore) {
        let checkpoint = session.incoming_checkpoint();
        let stored = store
            .checkpoints(&PEER)
            .expect("a memory store never fails")
            .incoming;
        assert_eq!(
            checkpoint, stored,
            "the session's checkpoint is not the store's: it moved without a commit"
        );
        assert!(
            checkpoint >= self.last_checkpoint,
            "the checkpoint went back from {} to {checkpoint}",
            self.last_checkpoint
        );
        self.last_checkpoint = checkpoint;
        for (seq, doc) in self.offers.range(..=checkpoint) {
            assert!(
                store.get(doc).is_some() || self.refused.contains(doc),
                "the checkpoint {checkpoint} passed offer {seq} of {doc}, neither stored nor refused"
            );
        }
    }
}
