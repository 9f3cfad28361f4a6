//! Runs a [`Session`] over one QUIC connection: the async shell around the
//! sans-IO state machine.
//!
//! ```text
//!   RecvStream ─▶ reader task (zstd, deframe) ─▶ ┐
//!                                                ├─ driver loop ─▶ spawn_blocking(session + store)
//!   SendStream ◀─ writer task (frame, zstd)  ◀─ ┘
//! ```
//!
//! The store is synchronous (SQLite), so every session call runs on a
//! blocking thread with the session and store moved in and back. The loop
//! never blocks on writing: frames the writer cannot take yet wait in a
//! backlog, bounded because the session only offers within the peer's
//! window — so two peers that both have much to send cannot deadlock on
//! each other's flow control.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use super::framing::{FrameDecoder, FrameEncoder};
use crate::protocol::{
    Admission, PeerId, Session, SessionConfig, SessionError, SessionEvent, SessionStats, SyncStore,
};

/// Which side opened the connection (the dialer opens the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dialer,
    Listener,
}

#[derive(Debug, Clone)]
pub struct DriverConfig {
    pub session: SessionConfig,
    /// Largest frame accepted from the peer.
    pub max_frame: usize,
    /// How often the local feed is checked for new changes when nothing
    /// else wakes the driver (officer commands in another process).
    pub feed_poll: Duration,
    /// Finish once both directions are in sync (benchmarks, one-shot sync)
    /// instead of staying subscribed.
    pub exit_when_synced: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            session: SessionConfig::default(),
            max_frame: 17 << 20,
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
    Frame(Vec<u8>),
    End(Result<(), String>),
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
    let (in_tx, in_rx) = mpsc::channel::<Incoming>(256);
    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(64);
    let reader = tokio::spawn(read_frames(recv, in_tx, config.max_frame));
    let writer = tokio::spawn(write_frames(send, out_rx));
    let mut parts = Some((session, store, admission));
    let mut synced_at = None;
    let result = run_loop(
        &mut parts,
        in_rx,
        out_tx,
        &config,
        &wake,
        &mut shutdown,
        progress.as_ref(),
        &mut synced_at,
    )
    .await;
    // Let the writer finish what is queued (it ends when the channel closes).
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
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
        });
    }
}

/// Returns Ok(true) when it ended in sync (exit_when_synced), Ok(false) when
/// the peer ended the stream.
#[allow(clippy::too_many_arguments)]
async fn run_loop<S, A>(
    parts: &mut Option<Parts<S, A>>,
    mut in_rx: mpsc::Receiver<Incoming>,
    out_tx: mpsc::Sender<Vec<u8>>,
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
    let mut backlog: VecDeque<Vec<u8>> = VecDeque::new();
    let mut session_error: Option<DriveError> = None;
    let backlog_limit = 256;
    loop {
        {
            let (session, _, _) = parts
                .as_mut()
                .ok_or_else(|| DriveError::Internal("state lost".into()))?;
            while let Some(frame) = session.poll_transmit() {
                backlog.push_back(frame);
            }
            while let Some(frame) = backlog.pop_front() {
                match out_tx.try_send(frame) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(frame)) => {
                        backlog.push_front(frame);
                        break;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        return Err(DriveError::Lost("the stream to the peer closed".into()));
                    }
                }
            }
            if let Some(error) = session_error.take() {
                // The error frame is queued or sent; end here.
                drain_backlog(&out_tx, &mut backlog).await;
                return Err(error);
            }
            if session.is_closed() {
                drain_backlog(&out_tx, &mut backlog).await;
                return Err(DriveError::Shutdown);
            }
            if backlog.is_empty() && session.is_synced() {
                if synced_at.is_none() {
                    *synced_at = Some(std::time::Instant::now());
                }
                if config.exit_when_synced {
                    return Ok(true);
                }
            } else {
                *synced_at = None;
            }
        }
        let room = backlog.len() < backlog_limit;
        tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    if let Some((session, _, _)) = parts.as_mut() {
                        session.close("the peer node is shutting down");
                        while let Some(frame) = session.poll_transmit() {
                            backlog.push_back(frame);
                        }
                    }
                    drain_backlog(&out_tx, &mut backlog).await;
                    return Err(DriveError::Shutdown);
                }
            }
            message = in_rx.recv() => {
                let mut frames = Vec::new();
                let mut end = None;
                match message {
                    Some(Incoming::Frame(frame)) => frames.push(frame),
                    Some(Incoming::End(result)) => end = Some(result),
                    None => end = Some(Err("reader stopped".into())),
                }
                while end.is_none() && frames.len() < 256 {
                    match in_rx.try_recv() {
                        Ok(Incoming::Frame(frame)) => frames.push(frame),
                        Ok(Incoming::End(result)) => end = Some(result),
                        Err(_) => break,
                    }
                }
                let idle = in_rx.is_empty();
                let state = parts.take().ok_or_else(|| DriveError::Internal("state lost".into()))?;
                let (state, outcome) = on_blocking(state, move |session, store, admission| {
                    for frame in &frames {
                        session.handle(frame, store, admission)?;
                    }
                    if idle {
                        session.flush(store)?;
                        if room {
                            session.pump(store)?;
                        }
                    }
                    Ok::<(), SessionError>(())
                })
                .await?;
                *parts = Some(state);
                if let Some((session, _, _)) = parts.as_mut() {
                    report(session, progress);
                }
                if let Err(e) = outcome {
                    session_error = Some(e.into());
                    continue;
                }
                if let Some(end) = end {
                    // The peer finished its side (or the link broke).
                    let synced = match parts.as_mut() {
                        Some((session, _, _)) => {
                            while let Some(frame) = session.poll_transmit() {
                                backlog.push_back(frame);
                            }
                            session.is_synced()
                        }
                        None => false,
                    };
                    drain_backlog(&out_tx, &mut backlog).await;
                    return match end {
                        Ok(()) => Ok(synced),
                        Err(e) => Err(DriveError::Lost(e)),
                    };
                }
            }
            permit = out_tx.reserve(), if !backlog.is_empty() => {
                match permit {
                    Ok(permit) => {
                        if let Some(frame) = backlog.pop_front() {
                            permit.send(frame);
                        }
                    }
                    Err(_) => return Err(DriveError::Lost("the stream to the peer closed".into())),
                }
            }
            _ = wake.notified(), if room => {
                pump(parts, progress).await?;
            }
            _ = tokio::time::sleep(config.feed_poll), if room => {
                pump(parts, progress).await?;
            }
        }
    }
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
    if let Some((session, _, _)) = parts.as_mut() {
        report(session, progress);
    }
    outcome.map_err(DriveError::from)
}

async fn drain_backlog(out_tx: &mpsc::Sender<Vec<u8>>, backlog: &mut VecDeque<Vec<u8>>) {
    while let Some(frame) = backlog.pop_front() {
        let sent = tokio::time::timeout(Duration::from_secs(5), out_tx.send(frame)).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
}

async fn read_frames(mut recv: quinn::RecvStream, tx: mpsc::Sender<Incoming>, max_frame: usize) {
    let mut decoder = match FrameDecoder::new(max_frame) {
        Ok(decoder) => decoder,
        Err(e) => {
            let _ = tx.send(Incoming::End(Err(e.to_string()))).await;
            return;
        }
    };
    loop {
        match recv.read_chunk(64 * 1024, true).await {
            Ok(Some(chunk)) => {
                decoder.push(&chunk.bytes);
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => {
                            if tx.send(Incoming::Frame(frame)).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx
                                .send(Incoming::End(Err(format!("bad stream from peer: {e}"))))
                                .await;
                            return;
                        }
                    }
                }
            }
            Ok(None) => {
                let _ = tx.send(Incoming::End(Ok(()))).await;
                return;
            }
            Err(e) => {
                let _ = tx.send(Incoming::End(Err(e.to_string()))).await;
                return;
            }
        }
    }
}

async fn write_frames(mut send: quinn::SendStream, mut rx: mpsc::Receiver<Vec<u8>>) {
    let mut encoder = match FrameEncoder::new() {
        Ok(encoder) => encoder,
        Err(_) => return,
    };
    while let Some(frame) = rx.recv().await {
        if encoder.push(&frame).is_err() {
            return;
        }
        // Gather what is already queued into the same flush.
        while encoder.pending_output() < 256 * 1024 {
            match rx.try_recv() {
                Ok(frame) => {
                    if encoder.push(&frame).is_err() {
                        return;
                    }
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
    }
    let _ = send.finish();
    // Wait until the peer has everything (or gives up) before the
    // connection may be closed.
    let _ = tokio::time::timeout(Duration::from_secs(10), send.stopped()).await;
}
