//! The congestion controller of sync connections: quinn's BBR, with its
//! initial window an operator can set, and without the start-up stall.
//!
//! **The stall.** quinn-proto's BBR (0.11) counts the 10 s after which it
//! probes for a lower RTT (`ProbeRtt`: the window cut to ¾ of the measured
//! bandwidth × RTT for 200 ms and a round trip) from the last such probe,
//! and with none yet it takes the time as already expired. So the first
//! acknowledgement that finds the sender using its window sends the
//! connection into `ProbeRtt` at once — a round trip into the transfer,
//! with a bandwidth sample of one round trip's data: at RTT 300 ms the
//! window fell from 241 kB to 43 kB for 0.5 s and start-up began again
//! from there (`docs/benchmarks.md`, "Start-up without the stall"). msquic
//! fixed the same defect (microsoft/msquic#6118: ProbeRtt refreshes an RTT
//! estimate; with none yet it is of no use). [`SyncBbrConfig`] builds quinn's
//! controller and starts that first probe when the connection is created,
//! before anything is sent: with nothing in flight and no bandwidth sample
//! its window is the initial window, it ends at the first round trip past
//! 200 ms — the handshake's, on any path slower than 200 ms — and the next
//! one comes 10 s later, as quinn schedules them. On a shorter path the
//! probe outlasts the handshake: for the rest of those 200 ms the window is
//! ¾ of what the first samples measured, as it was before, only sooner
//! (loopback 10,000 measured no slower).
//!
//! **The initial window.** quinn's BBR starts with 200 datagrams (240 kB),
//! not RFC 9002's 10 (the cap of Chromium's BBR, from which quinn's is
//! ported). [`InitialWindow`] keeps that default and lets the operator
//! lower it (down to RFC 9002's 10) or raise it, within bounds. It is
//! paced: once the handshake has measured the RTT, quinn's pacer spreads a
//! window over a round trip (the window × 5/4 per RTT, bursts of at most
//! 10 datagrams), so the first flight is not one burst
//! (`docs/operations.md`, "The initial congestion window").

use std::sync::Arc;
use std::time::Instant;

use quinn::congestion::{BbrConfig, Controller, ControllerFactory};

/// The datagram size quinn counts initial windows in (its
/// `BASE_DATAGRAM_SIZE`, QUIC's minimum: our endpoints never send larger
/// ones, MTU discovery being off).
pub const DATAGRAM_BYTES: u64 = 1200;

/// A connection's initial congestion window, in datagrams of
/// [`DATAGRAM_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialWindow(u32);

/// Why an initial window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "initial congestion window of {0} datagrams is out of range: give {min} to {max} \
     (RFC 9002's 10 is the most cautious, {default} the default; see docs/operations.md)",
    min = InitialWindow::MIN.0,
    max = InitialWindow::MAX.0,
    default = InitialWindow::DEFAULT.0
)]
pub struct InitialWindowError(pub u32);

impl InitialWindow {
    /// RFC 9002 §7.2's ten datagrams.
    pub const MIN: InitialWindow = InitialWindow(10);
    /// quinn's BBR default, 240 kB: what sync connections always used.
    pub const DEFAULT: InitialWindow = InitialWindow(200);
    /// 480 kB. Past it a first round trip would put more on a link than
    /// any of ours carries in one (a 2 Mbit/s link at RTT 300 ms holds
    /// 75 kB), for nothing but a shorter start-up on fast ones.
    pub const MAX: InitialWindow = InitialWindow(400);

    pub fn new(datagrams: u32) -> Result<Self, InitialWindowError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&datagrams) {
            Ok(InitialWindow(datagrams))
        } else {
            Err(InitialWindowError(datagrams))
        }
    }

    pub fn datagrams(self) -> u32 {
        self.0
    }

    pub fn bytes(self) -> u64 {
        u64::from(self.0) * DATAGRAM_BYTES
    }
}

impl Default for InitialWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The factory of quinn's BBR controllers with their first `ProbeRtt`
/// moved to the connection's creation (see the module documentation).
#[derive(Debug, Clone)]
pub struct SyncBbrConfig {
    bbr: Arc<BbrConfig>,
}

impl SyncBbrConfig {
    pub fn new(initial: InitialWindow) -> Self {
        SyncBbrConfig {
            bbr: quinn_bbr(initial),
        }
    }
}

impl Default for SyncBbrConfig {
    fn default() -> Self {
        Self::new(InitialWindow::DEFAULT)
    }
}

impl ControllerFactory for SyncBbrConfig {
    fn build(self: Arc<Self>, now: Instant, current_mtu: u16) -> Box<dyn Controller> {
        let mut bbr = self.bbr.clone().build(now, current_mtu);
        // quinn's BBR takes "no ProbeRtt yet" for "the last one expired":
        // the first acknowledgement sent without being application-limited
        // starts one. Here it starts now, with nothing in flight and no
        // bandwidth sample, so its window is the initial window; it ends at
        // the first round trip 200 ms on, and the next is due in 10 s.
        bbr.on_end_acks(now, 0, false, None);
        bbr
    }
}

/// Quinn's own BBR with the same initial window, for comparisons
/// (`syncbench` with `SYNCBENCH_CONGESTION=quinn-bbr`): the start-up stall
/// included.
pub fn quinn_bbr(initial: InitialWindow) -> Arc<BbrConfig> {
    let mut bbr = BbrConfig::default();
    bbr.initial_window(initial.bytes());
    Arc::new(bbr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_window_bounds_and_error() {
        assert_eq!(InitialWindow::default().bytes(), 240_000);
        assert_eq!(InitialWindow::new(10).unwrap().bytes(), 12_000);
        assert_eq!(InitialWindow::new(400).unwrap().datagrams(), 400);
        for bad in [0, 9, 401, u32::MAX] {
            let error = InitialWindow::new(bad).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(&format!("{bad} datagrams")), "{text}");
            assert!(text.contains("give 10 to 400"), "{text}");
        }
    }

    #[test]
    fn the_controller_starts_with_the_configured_window() {
        let now = Instant::now();
        for datagrams in [10, 200, 400] {
            let initial = InitialWindow::new(datagrams).unwrap();
            let controller = Arc::new(SyncBbrConfig::new(initial)).build(now, 1200);
            assert_eq!(controller.initial_window(), initial.bytes());
            assert_eq!(controller.window(), initial.bytes());
        }
    }
}
