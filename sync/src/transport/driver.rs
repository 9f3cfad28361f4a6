//! Runs a [`Session`] over one QUIC connection: the async shell around the
//! sans-IO state machine.
//!
//! ```text
//!   RecvStream ─▶ reader task (zstd, deframe) ─▶ ┐  ≤ reader_queue_bytes
//!                                                ├─ driver loop ─▶ spawn_blocking(session + store)
//!   SendStream ◀─ writer task (frame, zstd)  ◀─ ┘  ≤ writer_queue_bytes
//! ```
//!
//! The store is synchronous (SQLite), so every session call runs on a
//! blocking thread with the session and store moved in and back. The
//! session is also the clock's only reader: the loop gives it the time
//! (`handle_timeout`) before each batch of input and when its
//! `poll_timeout` falls due.
//!
//! ## Backpressure without deadlock
//!
//! Both queues are bounded in bytes. The reader holds a permit for every
//! byte it has handed on and not yet seen handled, so a peer that sends
//! faster than the session handles waits on QUIC flow control. The writer
//! holds permits for what it has been given and not yet written, so frames
//! wait in the session's own queue; while that queue is over the session's
//! `send_queue_limit` the loop stops reading from the peer — a peer that
//! never reads cannot make this node buffer what it asks for.
//!
//! Stopping to read could deadlock two peers that both have much to send
//! (each waiting for the other to read) — were it ever triggered by honest
//! traffic. It is not: the session produces bulk frames (offers,
//! continuations, attachment chunks) only while its queue holds less than
//! `send_queue_bulk`, so bulk can take the queue at most one frame past
//! that; everything else it queues answers the peer's input (acks,
//! replies, refusals, blob answers lazily) and is small and bounded by the
//! window the peer must respect. `send_queue_limit` sits above both, so
//! only a peer that does not read while it keeps sending ever meets it;
//! honest peers always read, and their bulk simply waits for room.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tracing::Instrument;

use super::framing::{FrameDecoder, FrameEncoder};
use super::identity::NodeId;
use super::sink_helper::{PREPARE_MIN_OFFERS, handle_prepared, second_core};
use crate::protocol::frame::FRAME_OVERHEAD;
use crate::protocol::{
    Admission, Frame, PathEstimate, PeerId, Preparer, Session, SessionConfig, SessionError,
    SessionEvent, SessionStats, SyncStore,
};

/// Frames handed to the session per turn on the blocking thread (an
/// `Attest` not counted apart from its offer; at most twice this in all).
pub(crate) const INBOX_FRAMES: usize = 256;

/// Most bytes taken from the QUIC stream per read.
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// Compressed output gathered before one write to the stream.
pub(crate) const WRITE_BATCH: usize = 256 * 1024;

/// Which side opened the connection (the dialer opens the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dialer,
    Listener,
}

#[derive(Debug, Clone)]
pub struct DriverConfig {
    pub session: SessionConfig,
    /// Largest frame accepted from the peer (at least the session's
    /// `max_message` plus [`FRAME_OVERHEAD`]).
    pub max_frame: usize,
    /// Bytes of frames read from the peer and not yet handled.
    pub reader_queue_bytes: usize,
    /// Bytes of frames handed to the writer and not yet written to QUIC.
    pub writer_queue_bytes: usize,
    /// How often the local feed is checked for new changes when nothing
    /// else wakes the driver (officer commands in another process).
    pub feed_poll: Duration,
    /// Finish once both directions are in sync (benchmarks, one-shot sync)
    /// instead of staying subscribed.
    pub exit_when_synced: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        let session = SessionConfig::default();
        DriverConfig {
            max_frame: session.max_message + FRAME_OVERHEAD,
            session,
            reader_queue_bytes: 2 << 20,
            writer_queue_bytes: 1 << 20,
            feed_poll: Duration::from_millis(250),
            exit_when_synced: false,
        }
    }
}

/// Progress reports for status displays and logs.
#[derive(Debug, Clone)]
pub enum Progress {
    Event(SessionEvent),
    Stats {
        stats: SessionStats,
        synced: bool,
        in_flight: usize,
        waiting: usize,
        incoming_checkpoint: u64,
        /// Bytes queued for the peer in the session.
        queued_bytes: usize,
    },
}

/// Why a driven session ended.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error("opening the sync stream: {0}")]
    Open(#[from] quinn::ConnectionError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("shut down")]
    Shutdown,
    #[error("internal: {0}")]
    Internal(String),
}

/// What a driven session leaves behind.
pub struct Driven<S, A> {
    /// The store and admission back (None only if the session task
    /// panicked: the session is dropped, the node goes on).
    pub parts: Option<(S, A)>,
    pub stats: SessionStats,
    /// Both directions were in sync when it ended.
    pub synced: bool,
    /// When this side knew both directions were in sync (before closing the
    /// stream, which takes one more round trip).
    pub synced_at: Option<std::time::Instant>,
    pub result: Result<(), DriveError>,
}

enum Incoming {
    /// A frame, with the reader-queue permits it holds until handled.
    Frame(Vec<u8>, OwnedSemaphorePermit),
    End(Result<(), String>),
}

/// Permits a frame of `len` bytes takes from a byte budget of `capacity`
/// (a frame costs its bytes and a little for its allocation; one larger
/// than the whole budget takes all of it).
fn permits(len: usize, capacity: usize) -> u32 {
    (len + 32).min(capacity).max(1) as u32
}

type Parts<S, A> = (Session, S, A);

async fn on_blocking<S, A, T, F>(parts: Parts<S, A>, f: F) -> Result<(Parts<S, A>, T), DriveError>
where
    S: Send + 'static,
    A: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut Session, &mut S, &mut A) -> T + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let (mut session, mut store, mut admission) = parts;
        let value = f(&mut session, &mut store, &mut admission);
        ((session, store, admission), value)
    })
    .await
    .map_err(|e| DriveError::Internal(format!("session task: {e}")))
}

/// Drive a session with `peer` over `connection` until it ends.
#[allow(clippy::too_many_arguments)]
pub async fn drive<S, A>(
    connection: quinn::Connection,
    role: Role,
    peer: PeerId,
    store: S,
    admission: A,
    config: DriverConfig,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    progress: Option<mpsc::UnboundedSender<Progress>>,
) -> Driven<S, A>
where
    S: SyncStore + Send + 'static,
    A: Admission + Send + 'static,
{
    let span = tracing::info_span!("sync", peer = %NodeId::from_bytes(peer).short());
    drive_session(
        connection, role, peer, store, admission, config, wake, shutdown, progress,
    )
    .instrument(span)
    .await
}

#[allow(clippy::too_many_arguments)]
async fn drive_session<S, A>(
    connection: quinn::Connection,
    role: Role,
    peer: PeerId,
    mut store: S,
    admission: A,
    config: DriverConfig,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    progress: Option<mpsc::UnboundedSender<Progress>>,
) -> Driven<S, A>
where
    S: SyncStore + Send + 'static,
    A: Admission + Send + 'static,
{
    let session = match Session::new(peer, config.session.clone(), &mut store) {
        Ok(session) => session,
        Err(e) => {
            return Driven {
                parts: Some((store, admission)),
                stats: SessionStats::default(),
                synced: false,
                synced_at: None,
                result: Err(e.into()),
            };
        }
    };
    let streams = match role {
        Role::Dialer => connection.open_bi().await,
        Role::Listener => connection.accept_bi().await,
    };
    let (send, recv) = match streams {
        Ok(streams) => streams,
        Err(e) => {
            return Driven {
                stats: session.stats(),
                parts: Some((store, admission)),
                synced: false,
                synced_at: None,
                result: Err(e.into()),
            };
        }
    };
    let reader_budget = Arc::new(Semaphore::new(config.reader_queue_bytes.max(1)));
    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<Incoming>();
    let (out_tx, out_rx) = mpsc::unbounded_channel::<(Vec<u8>, OwnedSemaphorePermit)>();
    let mut writer = Writer {
        budget: Arc::new(Semaphore::new(config.writer_queue_bytes.max(1))),
        capacity: config.writer_queue_bytes.max(1),
        held: None,
        tx: out_tx,
    };
    let reader = tokio::spawn(
        read_frames(
            recv,
            in_tx,
            reader_budget,
            config.reader_queue_bytes.max(1),
            config.max_frame,
        )
        .in_current_span(),
    );
    let writer_task = tokio::spawn(write_frames(send, out_rx).in_current_span());
    let mut parts = Some((session, store, admission));
    let mut synced_at = None;
    let result = run_loop(
        &mut parts,
        &connection,
        &mut in_rx,
        &mut writer,
        &config,
        &wake,
        &mut shutdown,
        progress.as_ref(),
        &mut synced_at,
    )
    .await;
    if let Err(DriveError::Session(error)) = &result {
        tracing::warn!(%error, "session with the peer ended");
    }
    // Let the writer finish what is queued (it ends when the channel closes).
    drop(writer);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer_task).await;
    if matches!(result, Ok(true)) {
        // We left in sync and our side of the stream is finished; the peer
        // may still be writing its last frames (an ack of ours). Read until
        // it finishes too, so that it never meets a stopped stream and
        // takes a clean end for a lost link.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(incoming) = in_rx.recv().await {
                if matches!(incoming, Incoming::End(_)) {
                    break;
                }
            }
        })
        .await;
    }
    reader.abort();
    match parts {
        Some((session, store, admission)) => {
            let synced = matches!(result, Ok(true)) || session.is_synced();
            Driven {
                stats: session.stats(),
                parts: Some((store, admission)),
                synced,
                synced_at,
                result: result.map(|_| ()),
            }
        }
        None => Driven {
            stats: SessionStats::default(),
            parts: None,
            synced: false,
            synced_at,
            result: Err(result
                .err()
                .unwrap_or_else(|| DriveError::Internal("session state lost".into()))),
        },
    }
}

/// The writer task is gone: the stream to the peer closed under us.
fn stream_closed() -> DriveError {
    DriveError::Lost("the stream to the peer closed".into())
}

/// The way to the writer task: frames from the session, as far as the
/// writer's byte budget allows; at most one frame waits here for permits.
struct Writer {
    budget: Arc<Semaphore>,
    capacity: usize,
    held: Option<Vec<u8>>,
    tx: mpsc::UnboundedSender<(Vec<u8>, OwnedSemaphorePermit)>,
}

impl Writer {
    /// Move frames from the session to the writer while the budget
    /// allows. True if any moved.
    fn fill(&mut self, session: &mut Session) -> Result<bool, DriveError> {
        let mut moved = false;
        loop {
            if self.held.is_none() {
                self.held = session.poll_transmit();
            }
            let Some(frame) = self.held.take() else {
                return Ok(moved);
            };
            match self
                .budget
                .clone()
                .try_acquire_many_owned(permits(frame.len(), self.capacity))
            {
                Ok(permit) => {
                    self.send(frame, permit)?;
                    moved = true;
                }
                Err(_) => {
                    self.held = Some(frame);
                    return Ok(moved);
                }
            }
        }
    }

    fn send(&mut self, frame: Vec<u8>, permit: OwnedSemaphorePermit) -> Result<(), DriveError> {
        self.tx.send((frame, permit)).map_err(|_| stream_closed())
    }

    /// Permits for the held frame (resolves when the writer has written enough).
    async fn room(budget: Arc<Semaphore>, need: u32) -> Option<OwnedSemaphorePermit> {
        budget.acquire_many_owned(need).await.ok()
    }

    /// Everything the session still has, within `limit` of waiting.
    async fn drain(&mut self, session: &mut Session, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.held.is_none() {
                self.held = session.poll_transmit();
            }
            let Some(frame) = self.held.take() else {
                return;
            };
            let need = permits(frame.len(), self.capacity);
            let permit = tokio::time::timeout_at(deadline, Self::room(self.budget.clone(), need));
            match permit.await {
                Ok(Some(permit)) => {
                    if self.send(frame, permit).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }
}

fn report(session: &mut Session, progress: Option<&mpsc::UnboundedSender<Progress>>) {
    while let Some(event) = session.poll_event() {
        if let Some(tx) = progress {
            let _ = tx.send(Progress::Event(event));
        }
    }
    if let Some(tx) = progress {
        let _ = tx.send(Progress::Stats {
            stats: session.stats(),
            synced: session.is_synced(),
            in_flight: session.in_flight(),
            waiting: session.waiting(),
            incoming_checkpoint: session.incoming_checkpoint(),
            queued_bytes: session.queued_bytes(),
        });
    }
}

fn session_of<S, A>(parts: &mut Option<Parts<S, A>>) -> Result<&mut Session, DriveError> {
    parts
        .as_mut()
        .map(|(session, _, _)| session)
        .ok_or_else(|| DriveError::Internal("state lost".into()))
}

/// Returns Ok(true) when it ended in sync (exit_when_synced), Ok(false) when
/// the peer ended the stream.
#[allow(clippy::too_many_arguments)]
async fn run_loop<S, A>(
    parts: &mut Option<Parts<S, A>>,
    connection: &quinn::Connection,
    in_rx: &mut mpsc::UnboundedReceiver<Incoming>,
    writer: &mut Writer,
    config: &DriverConfig,
    wake: &Notify,
    shutdown: &mut watch::Receiver<bool>,
    progress: Option<&mpsc::UnboundedSender<Progress>>,
    synced_at: &mut Option<std::time::Instant>,
) -> Result<bool, DriveError>
where
    S: SyncStore + Send + 'static,
    A: Admission + Send + 'static,
{
    let mut session_error: Option<DriveError> = None;
    // Frames read and not yet handled (the session stopped taking input
    // halfway through a batch), with their reader-queue permits.
    let mut inbox: VecDeque<(Vec<u8>, OwnedSemaphorePermit)> = VecDeque::new();
    // The reader's last word, acted on once the inbox is empty.
    let mut end: Option<Result<(), String>> = None;
    // Since when the writer has taken nothing (the peer reads nothing).
    let mut blocked_since: Option<Instant> = None;
    let read_timeout = config.session.exchange_timeout;
    loop {
        let session = session_of(parts)?;
        session.set_path(path_estimate(connection, session));
        if writer.fill(session)? {
            blocked_since = None;
        }
        if let Some(error) = session_error.take() {
            // The error frame is queued or sent; end here.
            writer.drain(session, Duration::from_secs(5)).await;
            return Err(error);
        }
        if session.is_closed() {
            writer.drain(session, Duration::from_secs(5)).await;
            return Err(DriveError::Shutdown);
        }
        if writer.held.is_none() && session.is_synced() {
            if synced_at.is_none() {
                *synced_at = Some(std::time::Instant::now());
            }
            if config.exit_when_synced {
                return Ok(true);
            }
        } else {
            *synced_at = None;
        }
        if session.wants_pump() {
            // The queue drained below the bulk mark: produce what waited.
            if let Err(e) = pump(parts, progress).await {
                session_error = Some(e);
            }
            continue;
        }
        let reading = session.accepts_input();
        if reading && !inbox.is_empty() {
            if let Err(e) = handle_inbox(parts, &mut inbox, in_rx.is_empty(), progress).await? {
                session_error = Some(e.into());
            }
            continue;
        }
        if inbox.is_empty()
            && let Some(end) = end.take()
        {
            // The peer finished its side (or the link broke).
            let synced = session.is_synced();
            writer.drain(session, Duration::from_secs(5)).await;
            return match end {
                Ok(()) => Ok(synced),
                Err(e) => Err(DriveError::Lost(e)),
            };
        }
        let deadline = session.poll_timeout();
        let held_need = writer
            .held
            .as_ref()
            .map(|frame| permits(frame.len(), writer.capacity));
        if held_need.is_none() {
            blocked_since = None;
        }
        let blocked_until =
            held_need.map(|_| *blocked_since.get_or_insert_with(Instant::now) + read_timeout);
        tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    let session = session_of(parts)?;
                    session.close("the peer node is shutting down");
                    writer.drain(session, Duration::from_secs(5)).await;
                    return Err(DriveError::Shutdown);
                }
            }
            _ = sleep_until(blocked_until), if blocked_until.is_some() => {
                let session = session_of(parts)?;
                let error = SessionError::Stalled(format!(
                    "the peer has read nothing of ours for {} s",
                    read_timeout.as_secs()
                ));
                session.close(&error.to_string());
                return Err(error.into());
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                let session = session_of(parts)?;
                if let Err(e) = session.handle_timeout(Instant::now()) {
                    session_error = Some(e.into());
                } else if let Err(e) = pump(parts, progress).await {
                    // A batch held for its timer is due: commit it.
                    session_error = Some(e);
                }
            }
            permit = Writer::room(writer.budget.clone(), held_need.unwrap_or(1)), if held_need.is_some() => {
                match (permit, writer.held.take()) {
                    (Some(permit), Some(frame)) => {
                        blocked_since = None;
                        writer.send(frame, permit)?;
                    }
                    _ => return Err(stream_closed()),
                }
            }
            message = in_rx.recv(), if reading && inbox.is_empty() && end.is_none() => {
                match message {
                    Some(Incoming::Frame(frame, permit)) => inbox.push_back((frame, permit)),
                    Some(Incoming::End(result)) => end = Some(result),
                    None => end = Some(Err("reader stopped".into())),
                }
                // At most INBOX_FRAMES frames per turn on the blocking
                // thread, an `Attest` counted with the offer it precedes:
                // counted alone, attestations would halve the documents of
                // a turn, and so double the turns that end with nothing
                // more to read — each a chance to commit (measured: 80
                // commits instead of 41 for 10,000 signed dossiers).
                let mut counted = inbox
                    .iter()
                    .filter(|(frame, _)| !Frame::is_attest(frame))
                    .count();
                while end.is_none() && counted < INBOX_FRAMES && inbox.len() < 2 * INBOX_FRAMES {
                    match in_rx.try_recv() {
                        Ok(Incoming::Frame(frame, permit)) => {
                            counted += usize::from(!Frame::is_attest(&frame));
                            inbox.push_back((frame, permit));
                        }
                        Ok(Incoming::End(result)) => end = Some(result),
                        Err(_) => break,
                    }
                }
                if let Err(e) = handle_inbox(parts, &mut inbox, in_rx.is_empty(), progress).await? {
                    session_error = Some(e.into());
                }
            }
            // While reading, the reader reports the end of the connection
            // after the frames that came before it; while not, this does.
            closed = connection.closed(), if !reading => {
                return Err(DriveError::Lost(closed.to_string()));
            }
            _ = wake.notified() => {
                pump(parts, progress).await?;
            }
            _ = tokio::time::sleep(config.feed_poll) => {
                pump(parts, progress).await?;
            }
        }
    }
}

/// What quinn measured of the path, for the session's window and its
/// commit timer (the protocol is told; it measures nothing).
fn path_estimate(connection: &quinn::Connection, session: &Session) -> PathEstimate {
    let stats = connection.stats();
    PathEstimate {
        rtt: stats.path.rtt,
        congestion_window: stats.path.cwnd,
        frame_bytes_sent: session.stats().bytes_sent,
        wire_bytes_sent: stats.udp_tx.bytes,
    }
}

/// Hand the inbox to the session, as far as it takes input; what it does
/// not take stays, in order. `idle`: nothing more is waiting to be read, so
/// commit and offer after it.
async fn handle_inbox<S, A>(
    parts: &mut Option<Parts<S, A>>,
    inbox: &mut VecDeque<(Vec<u8>, OwnedSemaphorePermit)>,
    idle: bool,
    progress: Option<&mpsc::UnboundedSender<Progress>>,
) -> Result<Result<(), SessionError>, DriveError>
where
    S: SyncStore + Send + 'static,
    A: Admission + Send + 'static,
{
    let (frames, permits): (Vec<Vec<u8>>, Vec<OwnedSemaphorePermit>) = inbox.drain(..).unzip();
    let state = parts
        .take()
        .ok_or_else(|| DriveError::Internal("state lost".into()))?;
    let now = Instant::now();
    let (state, (frames, outcome)) = on_blocking(state, move |session, store, admission| {
        let mut handled = 0;
        let mut run = || {
            session.handle_timeout(now)?;
            let offers = frames
                .iter()
                .filter(|f| Preparer::worth_preparing(f))
                .count();
            if offers >= PREPARE_MIN_OFFERS && second_core() {
                handle_prepared(session, store, admission, &frames, &mut handled)?;
                if handled < frames.len() {
                    // The rest waits, as below.
                    return Ok(());
                }
            } else {
                for frame in &frames {
                    if !session.accepts_input() {
                        // The rest waits (with its reader-queue permits)
                        // until the peer reads what we sent.
                        return Ok(());
                    }
                    handled += 1;
                    session.handle(frame, store, admission)?;
                }
            }
            if idle {
                session.flush(store)?;
                session.pump(store)?;
            }
            Ok::<(), SessionError>(())
        };
        let outcome = run();
        (frames, outcome.map(|()| handled))
    })
    .await?;
    *parts = Some(state);
    report(session_of(parts)?, progress);
    let handled = match outcome {
        Ok(handled) => handled,
        Err(e) => return Ok(Err(e)),
    };
    for (frame, permit) in frames.into_iter().zip(permits).skip(handled) {
        inbox.push_back((frame, permit));
    }
    Ok(Ok(()))
}

async fn pump<S, A>(
    parts: &mut Option<Parts<S, A>>,
    progress: Option<&mpsc::UnboundedSender<Progress>>,
) -> Result<(), DriveError>
where
    S: SyncStore + Send + 'static,
    A: Admission + Send + 'static,
{
    let state = parts
        .take()
        .ok_or_else(|| DriveError::Internal("state lost".into()))?;
    let (state, outcome) = on_blocking(state, |session, store, _| {
        session.flush(store)?;
        session.pump(store)
    })
    .await?;
    *parts = Some(state);
    report(session_of(parts)?, progress);
    outcome.map_err(DriveError::from)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Read the peer's stream into frames. Every frame takes permits from the
/// reader budget (its size) until the loop has handled it: when the budget
/// is spent this task stops reading, and QUIC flow control stops the peer.
async fn read_frames(
    mut recv: quinn::RecvStream,
    tx: mpsc::UnboundedSender<Incoming>,
    budget: Arc<Semaphore>,
    capacity: usize,
    max_frame: usize,
) {
    let mut decoder = match FrameDecoder::new(max_frame) {
        Ok(decoder) => decoder,
        Err(e) => {
            let _ = tx.send(Incoming::End(Err(e.to_string())));
            return;
        }
    };
    loop {
        match recv.read_chunk(READ_CHUNK, true).await {
            Ok(Some(chunk)) => {
                decoder.push(&chunk.bytes);
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => {
                            let need = permits(frame.len(), capacity);
                            let Ok(permit) = budget.clone().acquire_many_owned(need).await else {
                                return;
                            };
                            if tx.send(Incoming::Frame(frame, permit)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ =
                                tx.send(Incoming::End(Err(format!("bad stream from peer: {e}"))));
                            return;
                        }
                    }
                }
            }
            Ok(None) => {
                // A peer that finishes its stream in the middle of a frame
                // broke the framing: say so, rather than log a clean close.
                let end = match decoder.buffered() {
                    0 => Ok(()),
                    held => Err(format!(
                        "bad stream from peer: it ended inside a frame ({held} bytes of an unfinished frame)"
                    )),
                };
                let _ = tx.send(Incoming::End(end));
                return;
            }
            Err(e) => {
                let _ = tx.send(Incoming::End(Err(e.to_string())));
                return;
            }
        }
    }
}

/// Write frames to the peer's stream. A frame's permits are released once
/// it is written to QUIC (whose own send buffer is bounded by the
/// transport's `send_window`).
async fn write_frames(
    mut send: quinn::SendStream,
    mut rx: mpsc::UnboundedReceiver<(Vec<u8>, OwnedSemaphorePermit)>,
) {
    let mut encoder = match FrameEncoder::new() {
        Ok(encoder) => encoder,
        Err(_) => return,
    };
    let mut written = Vec::new();
    while let Some((frame, permit)) = rx.recv().await {
        if encoder.push(&frame).is_err() {
            return;
        }
        drop(frame);
        written.push(permit);
        // Gather what is already queued into the same flush.
        while encoder.pending_output() < WRITE_BATCH {
            match rx.try_recv() {
                Ok((frame, permit)) => {
                    if encoder.push(&frame).is_err() {
                        return;
                    }
                    written.push(permit);
                }
                Err(_) => break,
            }
        }
        if encoder.flush().is_err() {
            return;
        }
        if send.write_all(&encoder.take()).await.is_err() {
            return;
        }
        written.clear();
    }
    let _ = send.finish();
    // Wait until the peer has everything (or gives up) before the
    // connection may be closed.
    let _ = tokio::time::timeout(Duration::from_secs(10), send.stopped()).await;
}
