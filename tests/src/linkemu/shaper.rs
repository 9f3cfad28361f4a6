//! The seeded decisions of one direction, without any socket: given the
//! sequence of datagrams (their sizes and arrival times) and the
//! configuration, [`Shaper`] says what happens to each one. The emulator
//! runs one per direction; tests can run their own with the same seed to
//! predict which datagrams a run loses, duplicates or reorders.

use std::collections::VecDeque;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::config::LinkConfig;
use super::direction::Direction;

/// The random stream of one direction: `ChaCha8Rng::seed_from_u64(seed)` on
/// ChaCha stream 0 for [`Direction::Up`] and stream 1 for
/// [`Direction::Down`], so the two directions never share draws.
pub fn direction_rng(seed: u64, direction: Direction) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(direction.index());
    rng
}

/// The four uniform draws in `[0, 1)` made for every datagram, always all
/// four and always in this order, whatever the configuration and whether
/// the datagram survives. So datagram number `k` of a direction gets the
/// same draws in every run with the same seed, and changing the
/// configuration at runtime does not shift the fates of later datagrams.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draws {
    /// Lost if `loss < config.loss`.
    pub loss: f64,
    /// Extra delay `jitter * config.jitter`.
    pub jitter: f64,
    /// Held back if `reorder < config.reorder`.
    pub reorder: f64,
    /// Sent twice if `duplicate < config.duplicate`.
    pub duplicate: f64,
}

impl Draws {
    /// Draws the next four values.
    pub fn draw(rng: &mut ChaCha8Rng) -> Self {
        let loss = rng.random::<f64>();
        let jitter = rng.random::<f64>();
        let reorder = rng.random::<f64>();
        let duplicate = rng.random::<f64>();
        Self {
            loss,
            jitter,
            reorder,
            duplicate,
        }
    }
}

/// What happens to one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The link was cut when it arrived.
    DroppedCut,
    /// Lost at random.
    DroppedLoss,
    /// Tail-dropped: the queue in front of the bandwidth cap was full.
    DroppedQueue,
    /// Sent at `send_at` (a cut may still drop it then).
    Deliver {
        /// When it leaves the emulator.
        send_at: Instant,
        /// Held back `reorder_extra` so that later datagrams overtake it.
        reordered: bool,
        /// A second copy is sent right after it.
        duplicate: bool,
    },
}

/// The decision for datagram number `seq` (counting from 0) of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The datagram's number in its direction.
    pub seq: u64,
    /// Its fate.
    pub fate: Fate,
}

/// The state of one direction: its random stream and its link.
#[derive(Clone, Debug)]
pub struct Shaper {
    rng: ChaCha8Rng,
    next_seq: u64,
    /// When the serialiser finishes the last accepted datagram.
    link_free_at: Option<Instant>,
    /// (end of serialisation, length) of the datagrams waiting for or on
    /// the link.
    backlog: VecDeque<(Instant, usize)>,
    backlog_bytes: usize,
    /// The send time of the last datagram that was not held back: jitter
    /// never makes a datagram overtake an earlier one.
    in_order_floor: Option<Instant>,
}

/// How long `len` bytes occupy a link of `bps` bits per second.
pub fn serialisation_time(len: usize, bps: u64) -> Duration {
    let nanos = (len as u128 * 8 * 1_000_000_000).div_ceil(u128::from(bps.max(1)));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// `t + d`, or `t` if that does not fit in an `Instant` (only possible with
/// unsanitised durations of centuries).
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

impl Shaper {
    /// A fresh direction, seeded with [`direction_rng`].
    pub fn new(seed: u64, direction: Direction) -> Self {
        Self {
            rng: direction_rng(seed, direction),
            next_seq: 0,
            link_free_at: None,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            in_order_floor: None,
        }
    }

    /// How many datagrams have been decided.
    pub fn decided(&self) -> u64 {
        self.next_seq
    }

    /// Decides the fate of the next datagram, `len` bytes long, arriving at
    /// `now` (arrival times should not go backwards). See [`LinkConfig`]
    /// for the order of the decisions. Never panics, whatever the config.
    pub fn decide(&mut self, config: &LinkConfig, len: usize, now: Instant) -> Decision {
        let seq = self.next_seq;
        self.next_seq += 1;
        let draws = Draws::draw(&mut self.rng);
        let fate = self.fate(config, len, now, draws);
        Decision { seq, fate }
    }

    fn fate(&mut self, config: &LinkConfig, len: usize, now: Instant, draws: Draws) -> Fate {
        if config.cut {
            return Fate::DroppedCut;
        }
        if draws.loss < config.loss {
            return Fate::DroppedLoss;
        }
        let on_wire_until = match config.bandwidth_bps {
            None => now,
            Some(bps) => {
                while let Some(&(end, bytes)) = self.backlog.front() {
                    if end > now {
                        break;
                    }
                    self.backlog.pop_front();
                    self.backlog_bytes -= bytes;
                }
                let limit = config.queue_limit_bytes;
                if limit > 0 && self.backlog_bytes > 0 && self.backlog_bytes + len > limit {
                    return Fate::DroppedQueue;
                }
                let start = self.link_free_at.map_or(now, |free| free.max(now));
                let end = later(start, serialisation_time(len, bps));
                self.link_free_at = Some(end);
                self.backlog.push_back((end, len));
                self.backlog_bytes += len;
                end
            }
        };
        let jitter = Duration::try_from_secs_f64(config.jitter.as_secs_f64() * draws.jitter)
            .unwrap_or(Duration::ZERO)
            .min(config.jitter);
        let mut send_at = later(on_wire_until, config.delay.saturating_add(jitter));
        if let Some(floor) = self.in_order_floor {
            send_at = send_at.max(floor);
        }
        let reordered = draws.reorder < config.reorder;
        if reordered {
            send_at = later(send_at, config.reorder_extra);
        } else {
            self.in_order_floor = Some(send_at);
        }
        Fate::Deliver {
            send_at,
            reordered,
            duplicate: draws.duplicate < config.duplicate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_fates_and_directions_differ() {
        let config = LinkConfig::default().with_loss(0.5);
        let now = Instant::now();
        let fates = |seed, dir| {
            let mut s = Shaper::new(seed, dir);
            (0..200)
                .map(|_| s.decide(&config, 100, now).fate == Fate::DroppedLoss)
                .collect::<Vec<_>>()
        };
        assert_eq!(fates(7, Direction::Up), fates(7, Direction::Up));
        assert_ne!(fates(7, Direction::Up), fates(7, Direction::Down));
        assert_ne!(fates(7, Direction::Up), fates(8, Direction::Up));
    }

    #[test]
    fn draws_do_not_depend_on_config() {
        let now = Instant::now();
        let mut a = Shaper::new(1, Direction::Up);
        let mut b = Shaper::new(1, Direction::Up);
        let lossy = LinkConfig::default().with_loss(0.5);
        // `a` sees a cut for the first 10 datagrams, `b` does not.
        for _ in 0..10 {
            a.decide(&lossy.clone().with_cut(true), 10, now);
            b.decide(&lossy, 10, now);
        }
        for _ in 0..100 {
            assert_eq!(a.decide(&lossy, 10, now), b.decide(&lossy, 10, now));
        }
    }

    #[test]
    fn bandwidth_serialises_and_queue_tail_drops() {
        let now = Instant::now();
        // 1000 bytes at 80 kbit/s: 100 ms each; room for 3000 bytes.
        let config = LinkConfig::default()
            .with_bandwidth(80_000)
            .with_queue_limit(3000);
        let mut s = Shaper::new(0, Direction::Up);
        let fates: Vec<_> = (0..5).map(|_| s.decide(&config, 1000, now).fate).collect();
        let at = |f: &Fate| match f {
            Fate::Deliver { send_at, .. } => *send_at - now,
            other => panic!("{other:?}"),
        };
        assert_eq!(at(&fates[0]), Duration::from_millis(100));
        assert_eq!(at(&fates[2]), Duration::from_millis(300));
        assert_eq!(fates[3], Fate::DroppedQueue);
        assert_eq!(fates[4], Fate::DroppedQueue);
        // 150 ms later the first has left: room for one more.
        let t = now + Duration::from_millis(150);
        assert!(matches!(
            s.decide(&config, 1000, t).fate,
            Fate::Deliver { send_at, .. } if send_at - now == Duration::from_millis(400)
        ));
        assert_eq!(s.decide(&config, 1000, t).fate, Fate::DroppedQueue);
    }

    #[test]
    fn jitter_keeps_order_reorder_breaks_it() {
        let now = Instant::now();
        let config = LinkConfig::default()
            .with_delay(Duration::from_millis(10))
            .with_jitter(Duration::from_millis(50));
        let mut s = Shaper::new(3, Direction::Down);
        let mut last = now;
        for _ in 0..100 {
            let Fate::Deliver { send_at, .. } = s.decide(&config, 10, now).fate else {
                panic!()
            };
            assert!(send_at >= last && send_at >= now + Duration::from_millis(10));
            last = send_at;
        }
        let config = config.with_reorder(1.0, Duration::from_millis(100));
        let Fate::Deliver {
            send_at, reordered, ..
        } = s.decide(&config, 10, now).fate
        else {
            panic!()
        };
        assert!(reordered && send_at >= last + Duration::from_millis(100));
    }

    #[test]
    fn insane_configs_do_not_panic() {
        let now = Instant::now();
        let config = LinkConfig {
            loss: f64::NAN,
            delay: Duration::MAX,
            jitter: Duration::MAX,
            reorder: 2.0,
            reorder_extra: Duration::MAX,
            duplicate: -1.0,
            bandwidth_bps: Some(0),
            queue_limit_bytes: 1,
            cut: false,
        };
        let mut s = Shaper::new(0, Direction::Up);
        for _ in 0..10 {
            s.decide(&config, 65535, now);
        }
    }
}
