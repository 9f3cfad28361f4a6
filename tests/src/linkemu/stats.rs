//! Counters of the emulated link.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What happened to the datagrams of one direction so far.
///
/// A snapshot that counts a datagram in also counts its fate (lost, cut,
/// queue-dropped, duplicated, reordered), and a datagram is counted out
/// before it is sent, so whoever received it sees it counted. Datagrams that
/// are due later are in neither `datagrams_out` nor a drop counter yet.
///
/// Once everything in flight has been sent:
/// `datagrams_in + duplicated == datagrams_out + dropped_loss + dropped_cut
/// + dropped_queue + send_errors`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Datagrams received from the sending side.
    pub datagrams_in: u64,
    /// Their bytes (payload only).
    pub bytes_in: u64,
    /// Datagrams sent to the receiving side, duplicates included.
    pub datagrams_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Dropped by random loss.
    pub dropped_loss: u64,
    /// Dropped because the link was cut, on arrival or while in flight
    /// (each copy of a duplicated datagram counts).
    pub dropped_cut: u64,
    /// Tail-dropped because the queue in front of the bandwidth cap was full.
    pub dropped_queue: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// Datagrams held back so that later ones overtake them.
    pub reordered: u64,
    /// Datagrams that could not be sent (socket error, or no upstream
    /// socket could be bound for a new client).
    pub send_errors: u64,
    /// Errors receiving from the sending side's socket.
    pub recv_errors: u64,
}

impl DirectionStats {
    /// Datagrams dropped for any reason, send errors included.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_cut + self.dropped_queue + self.send_errors
    }
}

impl fmt::Display for DirectionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "in {} ({} B) out {} ({} B) lost {} cut {} queue-drop {} duplicated {} reordered {} \
             send-errors {} recv-errors {}",
            self.datagrams_in,
            self.bytes_in,
            self.datagrams_out,
            self.bytes_out,
            self.dropped_loss,
            self.dropped_cut,
            self.dropped_queue,
            self.duplicated,
            self.reordered,
            self.send_errors,
            self.recv_errors
        )
    }
}

/// Counters of both directions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Client → server.
    pub up: DirectionStats,
    /// Server → client.
    pub down: DirectionStats,
}

impl fmt::Display for LinkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "up: {}\ndown: {}", self.up, self.down)
    }
}

/// The live, lock-free counters behind [`DirectionStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub datagrams_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub datagrams_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub dropped_loss: AtomicU64,
    pub dropped_cut: AtomicU64,
    pub dropped_queue: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    pub send_errors: AtomicU64,
    pub recv_errors: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    add(counter, 1);
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Subtracts `n` from a counter.
pub(crate) fn sub(counter: &AtomicU64, n: u64) {
    counter.fetch_sub(n, Ordering::Relaxed);
}

/// Counts a datagram in, after its fate has been counted: paired with the
/// acquire load in [`Counters::snapshot`], a snapshot that counts a datagram
/// in also sees its fate.
pub(crate) fn count_in(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Release);
}

impl Counters {
    pub fn snapshot(&self) -> DirectionStats {
        // First, see `count_in`.
        let datagrams_in = self.datagrams_in.load(Ordering::Acquire);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DirectionStats {
            datagrams_in,
            bytes_in: get(&self.bytes_in),
            datagrams_out: get(&self.datagrams_out),
            bytes_out: get(&self.bytes_out),
            dropped_loss: get(&self.dropped_loss),
            dropped_cut: get(&self.dropped_cut),
            dropped_queue: get(&self.dropped_queue),
            duplicated: get(&self.duplicated),
            reordered: get(&self.reordered),
            send_errors: get(&self.send_errors),
            recv_errors: get(&self.recv_errors),
        }
    }
}
