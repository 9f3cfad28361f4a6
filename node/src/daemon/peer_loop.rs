//! Dialling a parent or extra peer, and redialling with backoff and jitter
//! when the link drops — for hours if it must.
//!
//! Recovery (issue 11): sync must flow again within seconds of a peer's
//! restart or of a cut link's return, whichever side was sending. Three
//! things keep it so:
//!
//! - **A silent link is probed with fresh connections.** While a session
//!   runs, [`silence`] watches the connection's received datagrams; keep-
//!   alives go every [`super::IDLE_TIMEOUT`]`/5`, and the peer acknowledges
//!   them, so a healthy link is never silent for [`SILENCE`]. Once it is,
//!   QUIC's own retransmission timer is backing off (1, 2, 4, 8 s…) and the
//!   old connection would learn late that the link is back. So new
//!   handshakes are tried, each given [`FAST_ATTEMPT`]; the first that
//!   completes replaces the silent connection (the listener replaces its
//!   side too: the same peer dialled again, `listener.rs`), and the
//!   session resumes from its checkpoints. A probe is dropped as soon as
//!   the old connection hears from the peer again.
//! - **Redials are quick right after a link was up.** For
//!   [`FAST_WINDOW`] after a session ended, attempts last
//!   [`FAST_ATTEMPT`] and follow each other within [`FAST_DELAY`]; a
//!   handshake left to quinn would wait out its own backoff (Initial
//!   packets at 0, 1, 3, 7 s) while the link is already back. After that
//!   window the usual exponential backoff applies, up to its cap.
//! - **The backoff restarts whenever a connection was made**, not only when
//!   the session reached "in sync": a session cut mid-transfer is as much
//!   a sign the peer is reachable.
//!
//! What it costs (`docs/benchmarks.md`, "Recovery"): nothing while the link
//! is healthy (the probes only start on silence); during an outage padded
//! Initials (1,200 bytes), about 1.6 kB/s for [`FAST_WINDOW`], then a
//! handshake's few Initials per backoff period. Only after a link that was
//! up or an attempt nobody answered: a peer that answers with a refusal
//! is asked again on the usual backoff.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lienthong_sync::transport::driver::Role;
use lienthong_sync::transport::endpoint::EndpointError;
use lienthong_sync::transport::identity::NodeId;
use rand::Rng;
use tokio::time::Instant;

use super::{Shared, link};
use crate::config::PeerConfig;

/// A connection that has received nothing for this long is taken for
/// dead and probed: two keep-alive periods (of the default idle timeout),
/// so loss alone rarely trips it (both sides' keep-alives and their acks
/// all lost). [`silence_after`] scales it with another idle timeout.
pub const SILENCE: Duration = Duration::from_secs(4);

/// [`SILENCE`] for a daemon whose idle timeout is `idle` (keep-alives go
/// every fifth of it).
pub fn silence_after(idle: Duration) -> Duration {
    let scale = idle.as_secs_f64() / super::IDLE_TIMEOUT.as_secs_f64();
    SILENCE.mul_f64(scale).max(Duration::from_millis(500))
}
/// How long one fast handshake attempt may take before the next is tried
/// (a client Initial and one retransmission of it).
pub const FAST_ATTEMPT: Duration = Duration::from_millis(2500);
/// The longest wait between fast attempts.
pub const FAST_DELAY: Duration = Duration::from_millis(500);
/// How long after a link was up redials stay fast.
pub const FAST_WINDOW: Duration = Duration::from_secs(120);
/// How often the watchdog looks at the connection's counters.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// Dial `peer` at `addr` until shutdown, or until node.toml no longer
/// wants this loop (`generation`, see `peers.rs`).
pub(crate) async fn dial_loop(
    shared: Arc<Shared>,
    peer: PeerConfig,
    addr: SocketAddr,
    generation: u64,
) {
    let (first, longest) = shared.options.backoff;
    let mut delay = first;
    let mut shutdown = shared.shutdown.clone();
    let key = *peer.node_id.as_bytes();
    // When a session with the peer last ended (the link was up until then).
    let mut last_up: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if !shared.dials(&key, generation) {
            tracing::info!("no longer dialled (node.toml changed)");
            return;
        }
        let fast = last_up.is_some_and(|at| at.elapsed() < FAST_WINDOW);
        // Whether the next try may come quickly: only after a link that was
        // up, or an attempt nobody answered (the link is still down). A peer
        // that answers with a refusal (not pinned, already in session) is
        // not asked again every half second.
        let mut quick = false;
        if shared.claim(&key) {
            let attempt = if fast { Some(FAST_ATTEMPT) } else { None };
            let dialled = tokio::select! {
                c = dial(&shared, addr, &peer.node_id, attempt) => Some(c),
                _ = shutdown.changed() => None,
            };
            match dialled {
                None => {
                    shared.release(&key);
                    return;
                }
                Some(Ok(connection)) => {
                    // A session that synced or lasted is a link that was up;
                    // one turned away at once (the peer holds a session of
                    // its own with us) is not, and backs off as a failure.
                    let started = Instant::now();
                    let synced = serve_replacing(&shared, connection, addr, &peer.node_id).await;
                    if synced || started.elapsed() >= silence_after(shared.options.idle_timeout) {
                        last_up = Some(Instant::now());
                        delay = first;
                        quick = true;
                    }
                }
                Some(Err(e)) => {
                    quick = matches!(e, DialError::Timeout(_));
                    tracing::info!(error = %e, retry_in = ?delay, "cannot reach peer");
                    record_failure(&shared, key, e.to_string()).await;
                }
            }
            shared.release(&key);
        }
        // Jitter: between half and the full delay, so offices that lost the
        // same link do not all redial at the same instant.
        let wait = if quick && last_up.is_some_and(|at| at.elapsed() < FAST_WINDOW) {
            delay.min(FAST_DELAY)
        } else {
            delay
        };
        let jittered = {
            let mut rng = rand::rng();
            wait.mul_f64(rng.random_range(0.5..=1.0))
        };
        tokio::select! {
            _ = tokio::time::sleep(jittered) => {}
            _ = shared.peers_changed.notified() => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(longest);
    }
}

/// Why a dial failed: the endpoint's error, or no handshake within the
/// attempt's time.
#[derive(Debug, thiserror::Error)]
enum DialError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// One handshake with the peer, given `attempt` at most (None: quinn's own
/// handshake timeout, the idle timeout).
async fn dial(
    shared: &Shared,
    addr: SocketAddr,
    peer: &NodeId,
    attempt: Option<Duration>,
) -> Result<quinn::Connection, DialError> {
    let connecting = shared.endpoint.connect(addr, peer);
    match attempt {
        Some(limit) => tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| DialError::Timeout(limit))?
            .map_err(DialError::from),
        None => connecting.await.map_err(DialError::from),
    }
}

/// Serve sessions with the peer, starting on `connection`: whenever the
/// connection falls silent and a fresh handshake succeeds, the new
/// connection replaces it and serving goes on there. Returns, with
/// whether any of the sessions reached "in sync", when a session ends with
/// no replacement (link down, peer gone, shutdown).
async fn serve_replacing(
    shared: &Arc<Shared>,
    mut connection: quinn::Connection,
    addr: SocketAddr,
    peer: &NodeId,
) -> bool {
    let key = *peer.as_bytes();
    let mut synced = false;
    loop {
        let session = link::serve(shared.clone(), connection.clone(), Role::Dialer, key);
        tokio::pin!(session);
        let replacement = tokio::select! {
            outcome = &mut session => {
                synced |= outcome.synced;
                None
            }
            fresh = replace_when_silent(shared, &connection, addr, peer) => Some(fresh),
        };
        let Some(fresh) = replacement else {
            return synced;
        };
        tracing::info!(
            silent_for = ?silence_after(shared.options.idle_timeout),
            "the link went silent and a new connection got through: replacing the old one"
        );
        connection.close(3u32.into(), b"replaced by a new connection after silence");
        synced |= session.await.synced;
        connection = fresh;
    }
}

/// Resolves with a new connection to the peer once `connection` has been
/// silent for [`SILENCE`] and a fresh handshake completed; a probe is
/// abandoned whenever the old connection hears from the peer again.
async fn replace_when_silent(
    shared: &Shared,
    connection: &quinn::Connection,
    addr: SocketAddr,
    peer: &NodeId,
) -> quinn::Connection {
    let quiet = silence_after(shared.options.idle_timeout);
    let mut received = connection.stats().udp_rx.datagrams;
    loop {
        received = silence(connection, received, quiet).await;
        tracing::debug!("no packet from the peer for {quiet:?}; probing with a new connection");
        loop {
            let probe = dial(shared, addr, peer, Some(FAST_ATTEMPT));
            let heard = heard_again(connection, received);
            tokio::select! {
                dialled = probe => match dialled {
                    Ok(fresh) => return fresh,
                    Err(e) => tracing::debug!(error = %e, "probe failed"),
                },
                now = heard => {
                    received = now;
                    break;
                }
            }
            let pause = FAST_DELAY.mul_f64(rand::rng().random_range(0.5..=1.0));
            tokio::time::sleep(pause).await;
            if connection.close_reason().is_some() {
                // The session ends on its own; the dial loop redials.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Wait until no datagram has arrived on `connection` for `quiet`;
/// returns the datagram count then. `received`: the count seen last.
async fn silence(connection: &quinn::Connection, mut received: u64, quiet: Duration) -> u64 {
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = connection.stats().udp_rx.datagrams;
        if now != received {
            received = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return received;
        }
    }
}

/// Resolves with the new count once a datagram arrives on `connection`
/// beyond `received`.
async fn heard_again(connection: &quinn::Connection, received: u64) -> u64 {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = connection.stats().udp_rx.datagrams;
        if now != received {
            return now;
        }
    }
}

async fn record_failure(shared: &Shared, peer: [u8; 32], error: String) {
    let path = shared.dir.store_file();
    let _ = tokio::task::spawn_blocking(move || {
        if let Ok(mut store) = crate::store::Store::open(&path) {
            let _ = store
                .write(|w| w.set_peer_link(&peer, false, chrono::Utc::now(), false, Some(&error)));
        }
    })
    .await;
}
