//! The impairments of one direction of the emulated link.

use std::fmt;
use std::time::Duration;

/// The longest delay, jitter or reorder hold-back [`LinkConfig::validate`]
/// accepts: one hour. Anything longer is a typo, and keeping durations
/// bounded keeps `Instant` arithmetic far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// What happens to the datagrams of one direction (client→server "up" or
/// server→client "down").
///
/// The default is a perfect link: no loss, no delay, unlimited bandwidth.
/// Fates are decided when a datagram reaches the emulator, in this order:
///
/// 1. `cut`: the link is down, the datagram is dropped (`dropped_cut`);
/// 2. `loss`: dropped with this probability (`dropped_loss`);
/// 3. `bandwidth_bps`: the datagram queues behind the ones before it and
///    occupies the link for `len * 8 / bandwidth_bps` seconds; if the bytes
///    waiting for (or on) the link plus this datagram exceed
///    `queue_limit_bytes`, it is tail-dropped (`dropped_queue`);
/// 4. `delay` plus a uniform draw in `[0, jitter)`: the one-way propagation
///    delay after serialisation. Jitter alone never reorders: a datagram is
///    never sent before one that arrived before it (unless that one was held
///    back by `reorder`), so `delay` is a strict lower bound;
/// 5. `reorder`: with this probability the datagram is held back a further
///    `reorder_extra`, so later datagrams overtake it (`reordered`, counted
///    even when `reorder_extra` is zero);
/// 6. `duplicate`: with this probability a second copy is sent right after
///    the first (`duplicated`); the copy takes no extra bandwidth.
///
/// A cut also drops the datagrams already in flight when they fall due, like
/// a cable pulled out mid-flight.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkConfig {
    /// Probability in `[0, 1]` that a datagram is lost.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Upper bound of the uniform extra delay added to `delay`.
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a datagram is held back `reorder_extra`.
    pub reorder: f64,
    /// How long a reordered datagram is held back on top of its delay.
    pub reorder_extra: Duration,
    /// Probability in `[0, 1]` that a datagram is sent twice.
    pub duplicate: f64,
    /// Link rate in bits per second; `None` is unlimited.
    pub bandwidth_bps: Option<u64>,
    /// Bytes that may wait for the link (including the datagram on the
    /// wire) when `bandwidth_bps` is set; `0` is unlimited. A datagram is
    /// always accepted into an empty queue, even if it is larger than the
    /// limit. Without a bandwidth cap nothing ever queues.
    pub queue_limit_bytes: usize,
    /// Drop everything.
    pub cut: bool,
}

/// Why a [`LinkConfig`] is not usable.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The field at fault, as named in [`LinkConfig`].
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl LinkConfig {
    /// A perfect link (same as `Default`).
    pub fn perfect() -> Self {
        Self::default()
    }

    /// A rural link: 150 ms one way, nothing else. Chain the `with_*`
    /// helpers for loss, jitter, bandwidth and the rest.
    pub fn rural() -> Self {
        Self::default().with_delay(Duration::from_millis(150))
    }

    /// Sets the loss probability.
    pub fn with_loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }

    /// Sets the fixed one-way delay.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets the jitter (uniform extra delay in `[0, jitter)`).
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the reordering probability and how long a reordered datagram is
    /// held back.
    pub fn with_reorder(mut self, p: f64, extra: Duration) -> Self {
        self.reorder = p;
        self.reorder_extra = extra;
        self
    }

    /// Sets the duplication probability.
    pub fn with_duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Caps the link rate at `bps` bits per second.
    pub fn with_bandwidth(mut self, bps: u64) -> Self {
        self.bandwidth_bps = Some(bps);
        self
    }

    /// Removes the bandwidth cap.
    pub fn without_bandwidth(mut self) -> Self {
        self.bandwidth_bps = None;
        self
    }

    /// Bounds the queue in front of the bandwidth cap (`0` is unlimited).
    pub fn with_queue_limit(mut self, bytes: usize) -> Self {
        self.queue_limit_bytes = bytes;
        self
    }

    /// Sets the cut flag.
    pub fn with_cut(mut self, cut: bool) -> Self {
        self.cut = cut;
        self
    }

    /// Checks that probabilities are finite and in `[0, 1]`, that a
    /// bandwidth cap is positive and that durations are at most
    /// [`MAX_DURATION`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, p) in [
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(ConfigError {
                    field,
                    message: format!("probability {p} is not in [0, 1]"),
                });
            }
        }
        for (field, d) in [
            ("delay", self.delay),
            ("jitter", self.jitter),
            ("reorder_extra", self.reorder_extra),
        ] {
            if d > MAX_DURATION {
                return Err(ConfigError {
                    field,
                    message: format!("{d:?} is longer than {MAX_DURATION:?}"),
                });
            }
        }
        if self.bandwidth_bps == Some(0) {
            return Err(ConfigError {
                field: "bandwidth_bps",
                message: "a bandwidth cap must be at least 1 bit/s (use None for unlimited)".into(),
            });
        }
        Ok(())
    }

    /// The nearest valid configuration: probabilities clamped to `[0, 1]`
    /// (NaN becomes 0), durations to [`MAX_DURATION`], a zero bandwidth to
    /// 1 bit/s. Used by the emulator so that an invalid runtime change
    /// cannot make it panic.
    pub fn sanitized(&self) -> Self {
        fn prob(p: f64) -> f64 {
            if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
        }
        Self {
            loss: prob(self.loss),
            delay: self.delay.min(MAX_DURATION),
            jitter: self.jitter.min(MAX_DURATION),
            reorder: prob(self.reorder),
            reorder_extra: self.reorder_extra.min(MAX_DURATION),
            duplicate: prob(self.duplicate),
            bandwidth_bps: self.bandwidth_bps.map(|b| b.max(1)),
            queue_limit_bytes: self.queue_limit_bytes,
            cut: self.cut,
        }
    }
}

impl fmt::Display for LinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loss {} delay {:?} jitter {:?} reorder {} (+{:?}) duplicate {} bandwidth ",
            self.loss, self.delay, self.jitter, self.reorder, self.reorder_extra, self.duplicate
        )?;
        match self.bandwidth_bps {
            Some(bps) => write!(f, "{bps} bit/s")?,
            None => f.write_str("unlimited")?,
        }
        f.write_str(" queue ")?;
        if self.queue_limit_bytes == 0 {
            f.write_str("unlimited")?;
        } else {
            write!(f, "{} B", self.queue_limit_bytes)?;
        }
        if self.cut {
            f.write_str(" CUT")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_values() {
        assert!(LinkConfig::rural().validate().is_ok());
        assert_eq!(LinkConfig::rural().delay, Duration::from_millis(150));
        let e = LinkConfig::default().with_loss(1.5).validate().unwrap_err();
        assert_eq!(e.field, "loss");
        assert!(e.to_string().contains("not in [0, 1]"), "{e}");
        assert!(LinkConfig::default().with_loss(-0.1).validate().is_err());
        assert!(
            LinkConfig::default()
                .with_duplicate(f64::NAN)
                .validate()
                .is_err()
        );
        assert!(LinkConfig::default().with_bandwidth(0).validate().is_err());
        assert!(
            LinkConfig::default()
                .with_delay(Duration::from_secs(7200))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn sanitized_is_valid() {
        let c = LinkConfig {
            loss: f64::NAN,
            reorder: 3.0,
            duplicate: -1.0,
            delay: Duration::MAX,
            jitter: Duration::MAX,
            reorder_extra: Duration::MAX,
            bandwidth_bps: Some(0),
            queue_limit_bytes: 1,
            cut: true,
        }
        .sanitized();
        assert!(c.validate().is_ok(), "{c:?}");
        assert_eq!((c.loss, c.reorder, c.duplicate), (0.0, 1.0, 0.0));
    }
}
