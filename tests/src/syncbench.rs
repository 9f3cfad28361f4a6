//! The sync benchmark of `../shared/bench/WORKLOAD.md`: one side of a
//! session (`serve`), and the orchestration of the phases over loopback or
//! an emulated rural link (`run` in the `syncbench` binary).
//!
//! Source and sink are separate processes, so each reports its own peak
//! RSS; each prints one JSON line of figures when its session is in sync.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use automerge::ActorId;
use lienthong::replication::sync_store::NodeSyncStore;
use lienthong::store::Store;
use lienthong::store::documents::DocKind;
use lienthong_shared::OfficeId;
use lienthong_sync::protocol::AdmitAll;
use lienthong_sync::transport::driver::{DriverConfig, Role, drive};
use lienthong_sync::transport::endpoint::Endpoint;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_sync::transport::tls::{PinnedPeers, default_transport_config};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::workload::{DEFAULT_SEED, build_document, generate};

/// What one side reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SideReport {
    pub role: String,
    /// From the first connection attempt to in sync.
    pub seconds: f64,
    pub udp_tx: u64,
    pub udp_rx: u64,
    /// Times the session waited for the peer (protocol round trips).
    pub turns: u64,
    /// The protocol's own bytes: frames as the session encoded them, before
    /// the stream's zstd and QUIC (`SessionStats::bytes_sent`/`_received`).
    pub frame_bytes_sent: u64,
    pub frame_bytes_received: u64,
    pub sessions: u64,
    pub offered: u64,
    pub received: u64,
    pub blob_bytes_sent: u64,
    pub blob_bytes_received: u64,
    pub blob_chunks_refetched: u64,
    pub peak_rss_mb: f64,
    /// User + system CPU seconds of the whole process (getrusage), which
    /// a busy machine inflates less than wall seconds.
    pub cpu_seconds: f64,
    /// Bytes this process caused to be written to disk while it served
    /// (`write_bytes` of `/proc/self/io`: SQLite's WAL, its checkpoints
    /// into the database file, and anything else; page-cache writes count
    /// when they are dirtied, not when the kernel flushes them).
    #[serde(default)]
    pub disk_write_bytes: u64,
    /// Batches of received documents made durable (`SessionStats::commits`).
    #[serde(default)]
    pub commits: u64,
    pub synced: bool,
}

/// Bytes this process has caused to be written to storage so far
/// (`write_bytes` of `/proc/self/io`); 0 where the kernel does not say.
pub fn disk_write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("write_bytes:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU time of this process so far, in seconds.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Peak resident set size of this process, in MB (VmHWM).
pub fn peak_rss_mb() -> f64 {
    peak_rss_mb_of("self")
}

/// Peak resident set size (VmHWM) of process `pid` (a number, or `self`),
/// in MB; 0 when it cannot be read.
pub fn peak_rss_mb_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The document key of workload dossier `i`.
pub fn key_of(i: usize) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
    key[8] = 0xb0;
    key
}

/// Actor of the workload's source node.
pub fn actor_of(i: usize) -> ActorId {
    ActorId::from(
        &[
            0x5b,
            (i % 251) as u8,
            (i / 251 % 251) as u8,
            (i / 63001) as u8,
        ][..],
    )
}

/// Build the source store: `n` workload dossiers, 9 changes each, going to
/// every peer. Returns the total size of the saved documents.
pub fn prepare_source(path: &Path, n: usize) -> Result<u64> {
    let mut store = Store::create(path)?;
    // Build on two threads; store in one transaction per thousand.
    let half = n / 2;
    let build = |range: std::ops::Range<usize>| {
        range
            .map(|i| (i, build_document(&generate(i, DEFAULT_SEED), actor_of(i))))
            .collect::<Vec<_>>()
    };
    let other = std::thread::spawn(move || build(half..n));
    let mut docs = build(0..half);
    docs.extend(
        other
            .join()
            .map_err(|_| anyhow::anyhow!("builder thread panicked"))?,
    );
    // Issue 8's cost: `LIENTHONG_SYNCBENCH_SIGN=1` stores an attestation
    // for every change, so the source sends them and the sink verifies and
    // stores them (admission stays `AdmitAll`).
    let signer = match std::env::var_os("LIENTHONG_SYNCBENCH_SIGN") {
        Some(_) => Some(lienthong_sync::protocol::attest::Signer::new(
            NodeIdentity::generate("syncbench:author")?.attestation_key_pair()?,
        )),
        None => None,
    };
    let mut saved = 0u64;
    for batch in docs.chunks(1000) {
        store.write(|w| -> Result<(), lienthong::store::StoreError> {
            for (i, doc) in batch {
                saved += doc.save().len() as u64;
                let key = key_of(*i);
                if let Some(signer) = &signer {
                    let id = lienthong_sync::DocumentId(key);
                    let list: Vec<_> = doc
                        .get_changes_meta(&[])
                        .iter()
                        .map(|m| signer.sign(&id, &m.hash.0))
                        .collect();
                    w.put_attestations(&key, &list)?;
                }
                w.save_document(&key, DocKind::Opaque, doc, &[])?;
                w.set_scope(&key, &["*".to_string()].into_iter().collect())?;
            }
            Ok(())
        })?;
    }
    Ok(saved)
}

/// Phase 2 at the source: one more change on every hundredth dossier.
/// Returns the total size of the new changes.
pub fn apply_phase2(path: &Path, n: usize) -> Result<u64> {
    let mut store = Store::open(path)?;
    let mut bytes = 0u64;
    store.write(|w| -> Result<(), anyhow::Error> {
        for i in (0..n).filter(|i| crate::workload::is_phase2(*i)) {
            let key = key_of(i);
            let (_, mut doc) = w
                .reader()
                .load_document(&key)?
                .context("phase-2 dossier missing")?;
            doc.set_actor(actor_of(i));
            let before = doc.get_heads();
            crate::workload::apply_phase2(&mut doc, &generate(i, DEFAULT_SEED))?;
            bytes += doc
                .get_changes(&before)
                .iter()
                .map(|c| c.raw_bytes().len() as u64)
                .sum::<u64>();
            w.save_document(&key, DocKind::Opaque, &doc, &before)?;
        }
        Ok(())
    })?;
    Ok(bytes)
}

/// Heads of every document, sorted, to compare two stores.
pub fn all_heads(path: &Path) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let conn = rusqlite::Connection::open(path)?;
    let mut statement = conn.prepare("SELECT doc_id, heads FROM documents ORDER BY doc_id")?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One side's options.
pub struct Serve<'a> {
    pub role: Role,
    pub store: &'a Path,
    pub identity: &'a Path,
    pub peer: NodeId,
    /// Sink: where to dial (the source or an emulator in front of it).
    pub connect: Option<SocketAddr>,
    /// Give up after this long.
    pub deadline: Duration,
    /// Called with the listening address (source).
    pub on_listen: &'a (dyn Fn(SocketAddr) + Sync),
}

/// The production transport settings, unless `SYNCBENCH_INITIAL_WINDOW`
/// (datagrams) or `SYNCBENCH_CONGESTION=quinn-bbr` (quinn's BBR as it
/// comes, its start-up stall included: the "before" of
/// `docs/benchmarks.md`) ask for another start-up, to compare them with one
/// binary.
fn bench_transport_config() -> Result<quinn::TransportConfig> {
    use lienthong_sync::transport::congestion::{InitialWindow, quinn_bbr};
    let mut transport = default_transport_config();
    let initial = match std::env::var("SYNCBENCH_INITIAL_WINDOW") {
        Ok(datagrams) => InitialWindow::new(
            datagrams
                .parse()
                .context("SYNCBENCH_INITIAL_WINDOW: a number of datagrams")?,
        )
        .context("SYNCBENCH_INITIAL_WINDOW")?,
        Err(_) => InitialWindow::DEFAULT,
    };
    lienthong_sync::transport::tls::set_initial_window(&mut transport, initial);
    match std::env::var("SYNCBENCH_CONGESTION").as_deref() {
        Ok("quinn-bbr") => {
            transport.congestion_controller_factory(quinn_bbr(initial));
        }
        Ok(other) => anyhow::bail!("SYNCBENCH_CONGESTION={other}: only quinn-bbr is known"),
        Err(_) => {}
    }
    Ok(transport)
}

/// With `SYNCBENCH_TRACE` set, a side prints to stderr, at each change, a
/// line of what its connection and session did so far: wall-clock
/// milliseconds (the two processes share the clock), quinn's RTT and
/// congestion window, UDP bytes each way, and the session's offers,
/// received documents, commits, documents in flight and waiting — to count
/// where the round trips of a run go (`docs/benchmarks.md`).
fn trace_path(
    role: &str,
    connection: &quinn::Connection,
) -> Option<(
    tokio::sync::mpsc::UnboundedSender<lienthong_sync::transport::driver::Progress>,
    tokio::task::JoinHandle<()>,
)> {
    use lienthong_sync::transport::driver::Progress;
    std::env::var_os("SYNCBENCH_TRACE")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let role = role.to_owned();
    let connection = connection.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        let mut session = String::new();
        let mut last = String::new();
        loop {
            tokio::select! {
                progress = rx.recv() => match progress {
                    Some(Progress::Stats { stats, in_flight, waiting, queued_bytes, .. }) => {
                        session = format!(
                            "offered {} received {} commits {} turns {} frames_tx {} in_flight {in_flight} waiting {waiting} queued {queued_bytes}",
                            stats.offered, stats.received, stats.commits, stats.turns, stats.bytes_sent
                        );
                    }
                    Some(Progress::Event(_)) => continue,
                    None => break,
                },
                _ = tick.tick() => {}
            }
            let stats = connection.stats();
            let line = format!(
                "rtt {} cwnd {} tx {} rx {} lost {} blocked {}/{} | {session}",
                stats.path.rtt.as_millis(),
                stats.path.cwnd,
                stats.udp_tx.bytes,
                stats.udp_rx.bytes,
                stats.path.lost_packets,
                stats.frame_tx.stream_data_blocked,
                stats.frame_tx.data_blocked,
            );
            if line != last {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis();
                eprintln!("trace {now} {role} {line}");
                last = line;
            }
        }
    });
    Some((tx, task))
}

/// Run one side until a session ends in sync (redialling or accepting again
/// after a broken link), or the deadline passes.
pub async fn serve(options: Serve<'_>) -> Result<SideReport> {
    let written_before = disk_write_bytes();
    let identity = NodeIdentity::load(options.identity)?;
    let peer = *options.peer.as_bytes();
    let office: OfficeId = "province:quang-nam".parse()?;
    let network = lienthong_shared::builtin::quang_nam_3tier();
    let calendar = lienthong_shared::calendar::WorkingCalendar::builtin();
    let endpoint = Endpoint::bind(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        &identity,
        PinnedPeers::new([options.peer]),
        Arc::new(bench_transport_config()?),
    )?;
    (options.on_listen)(endpoint.local_addr()?);
    let mut report = SideReport {
        role: match options.role {
            Role::Dialer => "sink".into(),
            Role::Listener => "source".into(),
        },
        ..SideReport::default()
    };
    let started = Instant::now();
    // The sink decides when the exchange is over (it knows what it still
    // wants, attachments included); the source serves until the sink closes.
    let config = DriverConfig {
        exit_when_synced: options.role == Role::Dialer,
        ..DriverConfig::default()
    };
    let (_keep, shutdown) = watch::channel(false);
    while started.elapsed() < options.deadline {
        let connection = match options.role {
            Role::Listener => {
                let Some(incoming) = endpoint.accept().await else {
                    break;
                };
                match incoming.await {
                    Ok(c) => c,
                    Err(_) => continue,
                }
            }
            Role::Dialer => {
                let addr = options.connect.context("the sink needs --connect")?;
                match endpoint.connect(addr, &options.peer).await {
                    Ok(c) => c,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                }
            }
        };
        let store = NodeSyncStore::new(
            Store::open(options.store)?,
            network.clone(),
            calendar.clone(),
            [(peer, office.clone())].into_iter().collect(),
        );
        let trace = trace_path(&report.role, &connection);
        let driven = drive(
            connection.clone(),
            options.role,
            peer,
            store,
            AdmitAll,
            config.clone(),
            Arc::new(Notify::new()),
            shutdown.clone(),
            trace.as_ref().map(|(progress, _)| progress.clone()),
        )
        .await;
        drop(trace);
        // The source is done only when the sink ended the exchange; a link
        // that timed out (a long cut) leaves the sink wanting more, and it
        // will dial again.
        let sink_closed = driven.result.is_ok()
            || matches!(
                connection.close_reason(),
                Some(quinn::ConnectionError::ApplicationClosed(_))
            );
        connection.close(0u32.into(), b"done");
        // Count the CONNECTION_CLOSE too: let the endpoint send it (and the
        // connection drain) before reading the counters.
        let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
        let stats = connection.stats();
        report.sessions += 1;
        report.udp_tx += stats.udp_tx.bytes;
        report.udp_rx += stats.udp_rx.bytes;
        report.turns += driven.stats.turns;
        report.commits += driven.stats.commits;
        report.frame_bytes_sent += driven.stats.bytes_sent;
        report.frame_bytes_received += driven.stats.bytes_received;
        report.offered += driven.stats.offered;
        report.received += driven.stats.received;
        report.blob_bytes_sent += driven.stats.blob_bytes_sent;
        report.blob_bytes_received += driven.stats.blob_bytes_received;
        report.blob_chunks_refetched += driven.stats.blob_chunks_refetched;
        let done = match options.role {
            Role::Dialer => driven.synced,
            Role::Listener => driven.synced && sink_closed,
        };
        if done {
            report.synced = true;
            report.seconds = driven
                .synced_at
                .map_or_else(|| started.elapsed(), |at| at.duration_since(started))
                .as_secs_f64();
            break;
        }
        if options.role == Role::Dialer {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    if !report.synced {
        report.seconds = started.elapsed().as_secs_f64();
    }
    report.peak_rss_mb = peak_rss_mb();
    report.cpu_seconds = cpu_seconds();
    report.disk_write_bytes = disk_write_bytes().saturating_sub(written_before);
    endpoint.close("done");
    Ok(report)
}
