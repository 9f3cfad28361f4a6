//! A seeded UDP link emulator, for tests on hosts without kernel `netem`.
//!
//! It sits between two nodes: the client (dialer) sends its datagrams to
//! [`LinkEmulator::local_addr`]; for each client source address the emulator
//! binds a dedicated upstream socket (a NAT-like mapping, never expired) and
//! forwards the client's datagrams from it to the upstream (server) address;
//! whatever reaches that socket (from any source: endpoint-independent
//! filtering) goes back to the client from the listen socket. Each
//! direction, [`Direction::Up`] (client→server) and [`Direction::Down`]
//! (server→client), has its own [`LinkConfig`] (loss, delay and jitter,
//! reordering, duplication, a bandwidth cap with a bounded queue, a cut),
//! which can be changed while it runs. One scheduler task per direction
//! (a heap of due times, not a task per datagram) keeps up with tens of
//! thousands of datagrams per second.
//!
//! ```no_run
//! # async fn demo(server: std::net::SocketAddr) -> std::io::Result<()> {
//! use lienthong_tests::linkemu::{Direction, LinkConfig, LinkEmulator};
//! let up = LinkConfig::rural().with_loss(0.05).with_bandwidth(384_000);
//! let emu = LinkEmulator::start("127.0.0.1:0".parse().unwrap(), server, up,
//!     LinkConfig::rural(), 42).await?;
//! // ... point the client at emu.local_addr() ...
//! emu.set_cut(true);
//! emu.set_config(Direction::Down, LinkConfig::rural().with_loss(0.2));
//! println!("{}", emu.stats());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Determinism
//!
//! A `seed` gives each direction its own `ChaCha8Rng` (see
//! [`direction_rng`]). Datagram number `k` of a direction (in the order the
//! emulator received them) always consumes the same four draws ([`Draws`]),
//! so the same sequence of datagrams under the same configuration gets the
//! same fates: which are lost, duplicated or held back, and by how much they
//! are jittered. [`Shaper`] makes these decisions without sockets, so a test
//! can predict them. What is *not* deterministic is everything that depends
//! on real time: the order in which the kernel delivers datagrams from
//! several senders, scheduling latency of the tokio timers (about a
//! millisecond), which datagrams a bounded queue drops (that depends on when
//! they arrive), and which datagrams in flight a cut catches. A datagram is
//! never sent before its due time, so `delay` is a lower bound.
//!
//! # Robustness
//!
//! Nothing here panics on bad input: datagrams of any size up to 65535 bytes
//! are forwarded as they are, socket errors are logged with `tracing` (the
//! 1st, 2nd, 4th, 8th... of each kind at `warn`, the rest at `debug`) and
//! counted in [`DirectionStats`], and the emulator keeps running. Invalid
//! configurations are refused by [`LinkEmulator::start`] and clamped (with a
//! warning) by [`LinkEmulator::set_config`].

mod config;
mod direction;
pub mod parse;
mod shaper;
mod stats;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use config::{ConfigError, LinkConfig, MAX_DURATION};
pub use direction::Direction;
pub use shaper::{Decision, Draws, Fate, Shaper, direction_rng, serialisation_time};
pub use stats::{DirectionStats, LinkStats};

use direction::{Packet, Shared, log_error};
use stats::bump;

/// The largest datagram the emulator receives and forwards.
pub const MAX_DATAGRAM: usize = 65535;

/// How many received datagrams may wait for a direction's scheduler before
/// the receiving task waits (and the kernel's socket buffer fills instead).
const CHANNEL_CAPACITY: usize = 8192;

/// Tasks to stop on shutdown; the listen task adds one per mapping.
type Tasks = Arc<Mutex<Vec<JoinHandle<()>>>>;

/// A running emulator. Dropping it (or [`LinkEmulator::shutdown`]) stops
/// its tasks and closes its sockets.
#[derive(Debug)]
pub struct LinkEmulator {
    local_addr: SocketAddr,
    upstream: SocketAddr,
    up: Arc<Shared>,
    down: Arc<Shared>,
    mappings: Arc<AtomicUsize>,
    tasks: Tasks,
}

impl LinkEmulator {
    /// Binds `listen` (usually `127.0.0.1:0`) and starts forwarding to
    /// `upstream` with the given configurations. Fails if the socket cannot
    /// be bound or a configuration is invalid ([`LinkConfig::validate`],
    /// as `ErrorKind::InvalidInput`). Must be called within a tokio runtime.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        up: LinkConfig,
        down: LinkConfig,
        seed: u64,
    ) -> io::Result<Self> {
        for (direction, config) in [(Direction::Up, &up), (Direction::Down, &down)] {
            config.validate().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{direction} link: {e}"),
                )
            })?;
        }
        let front = Arc::new(UdpSocket::bind(listen).await?);
        let local_addr = front.local_addr()?;
        let up = Arc::new(Shared::new(up));
        let down = Arc::new(Shared::new(down));
        let (up_tx, up_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (down_tx, down_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let mappings = Arc::new(AtomicUsize::new(0));
        let tasks: Tasks = Arc::default();
        let handles = vec![
            tokio::spawn(direction::run(
                Direction::Up,
                up.clone(),
                Shaper::new(seed, Direction::Up),
                up_rx,
            )),
            tokio::spawn(direction::run(
                Direction::Down,
                down.clone(),
                Shaper::new(seed, Direction::Down),
                down_rx,
            )),
            tokio::spawn(
                Listener {
                    front,
                    upstream,
                    up: up.clone(),
                    down: down.clone(),
                    up_tx,
                    down_tx,
                    mappings: mappings.clone(),
                    tasks: tasks.clone(),
                }
                .run(),
            ),
        ];
        lock(&tasks).extend(handles);
        tracing::debug!(%local_addr, %upstream, seed, "linkemu: started");
        Ok(Self {
            local_addr,
            upstream,
            up,
            down,
            mappings,
            tasks,
        })
    }

    /// The address clients send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's address.
    pub fn upstream_addr(&self) -> SocketAddr {
        self.upstream
    }

    fn shared(&self, direction: Direction) -> &Shared {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    /// Replaces a direction's configuration (its `cut` flag included). It
    /// applies to datagrams that arrive from now on; those already
    /// scheduled keep their fate, except that a cut drops them when due.
    /// An invalid configuration is clamped to the nearest valid one
    /// ([`LinkConfig::sanitized`]) with a warning.
    pub fn set_config(&self, direction: Direction, config: LinkConfig) {
        if let Err(e) = config.validate() {
            tracing::warn!(%direction, "linkemu: {e}; clamping");
        }
        *self.shared(direction).config() = config.sanitized();
    }

    /// A direction's current configuration.
    pub fn config(&self, direction: Direction) -> LinkConfig {
        self.shared(direction).config().clone()
    }

    /// Cuts (`true`) or heals (`false`) both directions.
    pub fn set_cut(&self, cut: bool) {
        for direction in Direction::BOTH {
            self.set_direction_cut(direction, cut);
        }
    }

    /// Cuts or heals one direction.
    pub fn set_direction_cut(&self, direction: Direction, cut: bool) {
        self.shared(direction).config().cut = cut;
    }

    /// The counters so far.
    pub fn stats(&self) -> LinkStats {
        LinkStats {
            up: self.up.counters.snapshot(),
            down: self.down.counters.snapshot(),
        }
    }

    /// How many client addresses have an upstream mapping.
    pub fn mappings(&self) -> usize {
        self.mappings.load(Ordering::Relaxed)
    }

    /// Stops every task and waits until they are gone, so that the sockets
    /// are closed when this returns. Datagrams still in flight are dropped.
    pub async fn shutdown(self) {
        // The listener is in the first batch; mappings it created before it
        // stopped show up in the next one.
        loop {
            let handles = std::mem::take(&mut *lock(&self.tasks));
            if handles.is_empty() {
                break;
            }
            for handle in &handles {
                handle.abort();
            }
            for handle in handles {
                let _ = handle.await;
            }
        }
    }
}

impl Drop for LinkEmulator {
    fn drop(&mut self) {
        for handle in lock(&self.tasks).drain(..) {
            handle.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The task that receives from clients and creates the mappings.
struct Listener {
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    up: Arc<Shared>,
    down: Arc<Shared>,
    up_tx: mpsc::Sender<Packet>,
    down_tx: mpsc::Sender<Packet>,
    mappings: Arc<AtomicUsize>,
    tasks: Tasks,
}

impl Listener {
    async fn run(self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut by_client: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
        loop {
            let (len, client) = match self.front.recv_from(&mut buf).await {
                Ok(received) => received,
                Err(e) => {
                    recv_failed(&self.up, "receive from clients", &e).await;
                    continue;
                }
            };
            let arrived = Instant::now();
            let socket = match by_client.get(&client) {
                Some(socket) => socket.clone(),
                None => match self.map(client).await {
                    Ok(socket) => {
                        by_client.insert(client, socket.clone());
                        socket
                    }
                    Err(e) => {
                        let c = &self.up.counters;
                        stats::add(&c.bytes_in, len as u64);
                        bump(&c.send_errors);
                        stats::count_in(&c.datagrams_in);
                        log_error(&c.send_errors, "bind an upstream socket", &e);
                        continue;
                    }
                },
            };
            let packet = Packet {
                data: buf[..len].to_vec(),
                arrived,
                socket,
                dest: self.upstream,
            };
            if self.up_tx.send(packet).await.is_err() {
                break;
            }
        }
    }

    /// Binds the upstream socket for a new client and starts relaying what
    /// the server sends to it.
    async fn map(&self, client: SocketAddr) -> io::Result<Arc<UdpSocket>> {
        let socket = Arc::new(UdpSocket::bind(upstream_bind_addr(self.upstream)).await?);
        let n = self.mappings.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(%client, via = ?socket.local_addr().ok(), mappings = n, "linkemu: new mapping");
        let task = tokio::spawn(relay_down(
            socket.clone(),
            client,
            self.front.clone(),
            self.down.clone(),
            self.down_tx.clone(),
        ));
        lock(&self.tasks).push(task);
        Ok(socket)
    }
}

/// Where to bind an upstream socket: loopback for a loopback server (so
/// nothing is exposed), otherwise the unspecified address of its family.
fn upstream_bind_addr(upstream: SocketAddr) -> SocketAddr {
    let ip = match upstream.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(ip) if ip.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// Relays what the server sends to one mapping back to its client.
async fn relay_down(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    front: Arc<UdpSocket>,
    down: Arc<Shared>,
    down_tx: mpsc::Sender<Packet>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let len = match socket.recv_from(&mut buf).await {
            Ok((len, _from)) => len,
            Err(e) => {
                recv_failed(&down, &format!("receive from upstream for {client}"), &e).await;
                continue;
            }
        };
        let packet = Packet {
            data: buf[..len].to_vec(),
            arrived: Instant::now(),
            socket: front.clone(),
            dest: client,
        };
        if down_tx.send(packet).await.is_err() {
            break;
        }
    }
}

/// Counts and logs a receive error, then pauses a millisecond so that a
/// persistent error cannot spin a core.
async fn recv_failed(shared: &Shared, what: &str, e: &io::Error) {
    let c = &shared.counters;
    bump(&c.recv_errors);
    log_error(&c.recv_errors, what, e);
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}
