//! One direction of the link: its configuration, counters and the
//! scheduler task that holds datagrams until they are due.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::LinkConfig;
use super::shaper::{Fate, Shaper};
use super::stats::{self, Counters, add, bump};

/// A direction of the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client (dialer) → server (upstream).
    Up,
    /// Server → client.
    Down,
}

impl Direction {
    /// Both directions, up first.
    pub const BOTH: [Direction; 2] = [Direction::Up, Direction::Down];

    /// 0 for up, 1 for down (also the direction's ChaCha stream).
    pub fn index(self) -> u64 {
        match self {
            Direction::Up => 0,
            Direction::Down => 1,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "up",
            Direction::Down => "down",
        })
    }
}

impl FromStr for Direction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "up" => Ok(Direction::Up),
            "down" => Ok(Direction::Down),
            _ => Err(format!("unknown direction {s:?} (expected up or down)")),
        }
    }
}

/// What the socket tasks and the handle share with a direction's scheduler.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    config: Mutex<LinkConfig>,
    pub counters: Counters,
}

impl Shared {
    pub fn new(config: LinkConfig) -> Self {
        Self {
            config: Mutex::new(config),
            counters: Counters::default(),
        }
    }

    /// The configuration; a poisoned lock is still usable (it only holds
    /// plain data).
    pub fn config(&self) -> MutexGuard<'_, LinkConfig> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A datagram on its way through a direction.
#[derive(Debug)]
pub(crate) struct Packet {
    pub data: Vec<u8>,
    /// When the emulator received it.
    pub arrived: Instant,
    /// The socket it leaves by.
    pub socket: Arc<UdpSocket>,
    /// Where it goes.
    pub dest: SocketAddr,
}

/// A datagram waiting in the scheduler: ordered by due time, then by the
/// order in which it was scheduled (so equal due times stay FIFO).
struct Scheduled {
    at: Instant,
    order: u64,
    packet: Packet,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

/// Logs an error, but only the 1st, 2nd, 4th, 8th... of a counter so that
/// an error storm does not flood the log.
pub(crate) fn log_error(counter: &AtomicU64, what: &str, err: &dyn fmt::Display) {
    let n = counter.load(std::sync::atomic::Ordering::Relaxed);
    if n.is_power_of_two() {
        tracing::warn!(count = n, "linkemu: {what}: {err}");
    } else {
        tracing::debug!(count = n, "linkemu: {what}: {err}");
    }
}

/// How many queued datagrams the scheduler takes in one go before it looks
/// at its timers again.
const BATCH: usize = 256;

/// The scheduler of one direction: decides each datagram's fate as it
/// arrives (in channel order, which is the order the datagrams were
/// received), keeps the survivors in a heap of (due time, order) and sends
/// them when due. One task per direction, whatever the rate.
pub(crate) async fn run(
    direction: Direction,
    shared: Arc<Shared>,
    mut shaper: Shaper,
    mut rx: mpsc::Receiver<Packet>,
) {
    let mut heap: BinaryHeap<Scheduled> = BinaryHeap::new();
    let mut order: u64 = 0;
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    loop {
        // Send everything that is due, without a timer round trip.
        let now = Instant::now();
        while heap.peek().is_some_and(|s| s.at <= now) {
            if let Some(s) = heap.pop() {
                emit(direction, &shared, s.packet).await;
            }
        }
        let next = heap.peek().map(|s| s.at);
        if let Some(at) = next
            && sleep.deadline() != at
        {
            sleep.as_mut().reset(at);
        }
        tokio::select! {
            biased;
            received = rx.recv() => {
                let Some(packet) = received else { break };
                admit(&shared, &mut shaper, &mut heap, &mut order, packet);
                for _ in 1..BATCH {
                    match rx.try_recv() {
                        Ok(packet) => admit(&shared, &mut shaper, &mut heap, &mut order, packet),
                        Err(_) => break,
                    }
                }
            }
            () = &mut sleep, if next.is_some() => {}
        }
    }
    tracing::debug!(%direction, "linkemu: scheduler stopped");
}

/// Decides a datagram's fate, counts it and schedules it (twice if
/// duplicated).
fn admit(
    shared: &Shared,
    shaper: &mut Shaper,
    heap: &mut BinaryHeap<Scheduled>,
    order: &mut u64,
    packet: Packet,
) {
    let c = &shared.counters;
    let len = packet.data.len();
    let decision = {
        let config = shared.config();
        shaper.decide(&config, len, packet.arrived)
    };
    add(&c.bytes_in, len as u64);
    match decision.fate {
        Fate::DroppedCut => bump(&c.dropped_cut),
        Fate::DroppedLoss => bump(&c.dropped_loss),
        Fate::DroppedQueue => bump(&c.dropped_queue),
        Fate::Deliver {
            send_at,
            reordered,
            duplicate,
        } => {
            if reordered {
                bump(&c.reordered);
            }
            if duplicate {
                bump(&c.duplicated);
                let copy = Packet {
                    data: packet.data.clone(),
                    arrived: packet.arrived,
                    socket: packet.socket.clone(),
                    dest: packet.dest,
                };
                heap.push(Scheduled {
                    at: send_at,
                    order: *order,
                    packet,
                });
                heap.push(Scheduled {
                    at: send_at,
                    order: *order + 1,
                    packet: copy,
                });
                *order += 2;
            } else {
                heap.push(Scheduled {
                    at: send_at,
                    order: *order,
                    packet,
                });
                *order += 1;
            }
        }
    }
    // Last, so that a snapshot that counts this datagram in also counts its
    // fate.
    stats::count_in(&c.datagrams_in);
}

/// Sends a due datagram, unless the link has been cut meanwhile.
async fn emit(direction: Direction, shared: &Shared, packet: Packet) {
    let c = &shared.counters;
    if shared.config().cut {
        bump(&c.dropped_cut);
        return;
    }
    // Counted before sending, so that whoever receives it already sees it
    // counted; taken back if the send fails.
    let len = packet.data.len() as u64;
    bump(&c.datagrams_out);
    add(&c.bytes_out, len);
    match packet.socket.send_to(&packet.data, packet.dest).await {
        Ok(_) => {}
        Err(e) => {
            stats::sub(&c.datagrams_out, 1);
            stats::sub(&c.bytes_out, len);
            bump(&c.send_errors);
            log_error(
                &c.send_errors,
                &format!("{direction} send to {}", packet.dest),
                &e,
            );
        }
    }
}
