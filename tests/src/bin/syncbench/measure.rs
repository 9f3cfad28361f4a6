//! Measurement around the sessions: a bare QUIC connection's bytes, CPU
//! seconds of this process and of the rest of the machine, load, machine.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use lienthong_sync::transport::identity::NodeIdentity;
use lienthong_tests::linkemu::LinkConfig;
use lienthong_tests::syncbench::{self, SideReport};

use crate::phases::{Pair, session};

/// The bytes of a bare QUIC connection on loopback, with the benchmark's
/// identities and the nodes' default transport settings (not the
/// `SYNCBENCH_*` start-up overrides, which a handshake does not meet): connect, let the handshake settle
/// (HANDSHAKE_DONE, connection ids, acknowledgements), close, drain.
/// Returns (dialer's UDP bytes sent, listener's UDP bytes sent).
pub(crate) async fn bare_connection() -> Result<(u64, u64)> {
    use lienthong_sync::transport::endpoint::Endpoint;
    use lienthong_sync::transport::tls::{PinnedPeers, default_transport_config};
    let (source, sink) = (
        NodeIdentity::generate("source")?,
        NodeIdentity::generate("sink")?,
    );
    let local: SocketAddr = "127.0.0.1:0".parse()?;
    let transport = std::sync::Arc::new(default_transport_config());
    let listener = Endpoint::bind(
        local,
        &source,
        PinnedPeers::new([sink.node_id()]),
        transport.clone(),
    )?;
    let dialer = Endpoint::bind(
        local,
        &sink,
        PinnedPeers::new([source.node_id()]),
        transport,
    )?;
    let addr = listener.local_addr()?;
    let accepting = {
        let listener = listener.clone();
        tokio::spawn(async move {
            let incoming = listener.accept().await.context("no incoming")?;
            let connection = incoming.await?;
            connection.closed().await;
            let _ = tokio::time::timeout(Duration::from_secs(2), listener.wait_idle()).await;
            anyhow::Ok(connection.stats())
        })
    };
    let connection = dialer.connect(addr, &source.node_id()).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    connection.close(0u32.into(), b"done");
    let _ = tokio::time::timeout(Duration::from_secs(2), dialer.wait_idle()).await;
    let dialer_stats = connection.stats();
    let listener_stats = accepting.await??;
    Ok((dialer_stats.udp_tx.bytes, listener_stats.udp_tx.bytes))
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {:.0} GiB RAM", kb / 1048576.0));
    format!("{cores} cores ({cpu}){memory}")
}

/// Busy CPU seconds of the whole machine so far (`/proc/stat`).
pub(crate) fn machine_busy_seconds() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<f64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|f| f.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
            Some(fields.iter().take(8).sum::<f64>() - fields.get(3)? - fields.get(4)?)
        })
        .map_or(0.0, |ticks| ticks / hz)
}

/// A session, the CPU seconds this process (the link emulator) used, and
/// those the rest of the machine used meanwhile.
pub(crate) async fn measured_session(
    pair: &Pair,
    source: &Path,
    sink: &Path,
    link: Option<LinkConfig>,
) -> Result<(SideReport, SideReport, f64, f64)> {
    let before = machine_busy_seconds();
    let ours_before = syncbench::cpu_seconds();
    let (s, k) = session(pair, source, sink, link, &[]).await?;
    let ours = syncbench::cpu_seconds() - ours_before;
    let others = machine_busy_seconds() - before - s.cpu_seconds - k.cpu_seconds - ours;
    Ok((s, k, ours, others.max(0.0)))
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
