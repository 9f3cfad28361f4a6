//! The sync benchmark of `../shared/bench/WORKLOAD.md`.
//!
//! ```sh
//! cargo run --release -p lienthong-tests --bin syncbench -- run                # N = 1,000 and 10,000, loopback
//! cargo run --release -p lienthong-tests --bin syncbench -- run --link rural --link rural-5 --n 1000
//! cargo run --release -p lienthong-tests --bin syncbench -- attachment         # 20 MB over 384 kbit/s with cuts (~8 min)
//! cargo run --release -p lienthong-tests --bin syncbench -- recovery --runs 3  # kill -9, cuts, stop, idle bytes (~1 min a run)
//! ```
//! `run` and `attachment` start the source and the sink as two processes of
//! this binary (`serve`), put the link emulator between them when the link
//! is not loopback, and print markdown tables (`--out FILE` also writes
//! them between markers in FILE).
//!
//! By hand (to profile one side, say):
//! ```sh
//! syncbench prepare --dir D --n 10000             # D/source.db (N dossiers), D/sink.db (empty), identities
//! syncbench serve --dir D --role source           # prints LISTEN <addr>, then a JSON report
//! syncbench serve --dir D --role sink --connect <addr>
//! syncbench phase2 --dir D                        # the 1% change, at the source
//! syncbench verify --dir D                        # same documents and heads on both sides?
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use lienthong::store::Store;
use lienthong::store::documents::DocKind;
use lienthong_sync::transport::driver::Role;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_tests::linkemu::{LinkConfig, LinkEmulator};
use lienthong_tests::syncbench::{self, SideReport};

#[derive(Parser)]
#[command(
    about = "The WORKLOAD.md sync benchmark: source and sink nodes, loopback or an emulated rural link"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Link {
    Loopback,
    /// 150 ms each way (RTT 300 ms), no loss.
    Rural,
    #[value(name = "rural-1")]
    Rural1,
    #[value(name = "rural-5")]
    Rural5,
    #[value(name = "rural-20")]
    Rural20,
}

impl Link {
    fn config(self) -> Option<LinkConfig> {
        let rural = LinkConfig::rural();
        match self {
            Link::Loopback => None,
            Link::Rural => Some(rural),
            Link::Rural1 => Some(rural.with_loss(0.01)),
            Link::Rural5 => Some(rural.with_loss(0.05)),
            Link::Rural20 => Some(rural.with_loss(0.20)),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Link::Loopback => "loopback",
            Link::Rural => "rural, 300 ms RTT",
            Link::Rural1 => "rural, 300 ms RTT, 1% loss",
            Link::Rural5 => "rural, 300 ms RTT, 5% loss",
            Link::Rural20 => "rural, 300 ms RTT, 20% loss",
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// The three phases (initial, incremental, idle reconnect) for each N and link.
    Run {
        #[arg(long = "n", default_values_t = vec![1000usize, 10000])]
        n: Vec<usize>,
        #[arg(long = "link", value_enum, default_values_t = vec![Link::Loopback])]
        links: Vec<Link>,
        /// Also write the tables into this markdown file, between markers.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A 20 MB attachment over a 384 kbit/s, 300 ms link, cut twice.
    Attachment {
        #[arg(long, default_value_t = 20)]
        megabytes: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recovery (issue 11): sync again after a kill -9 of either daemon and
    /// after cuts of 20 s and 6 s, stop time with an unreachable peer, idle
    /// bytes an hour; `lienthong run` child processes (the binary next to
    /// this one, or `$LIENTHONG_BIN`).
    Recovery {
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Build D/source.db with N workload dossiers, an empty D/sink.db, and
    /// the two node identities (D/source-id, D/sink-id).
    Prepare {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        n: usize,
    },
    /// Phase 2 at D/source.db: one more event on every hundredth dossier.
    Phase2 {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Check that D/sink.db holds D/source.db's documents with the same heads.
    Verify {
        #[arg(long)]
        dir: PathBuf,
    },
    /// One side of a session (used by `run`): `--dir D` (a `prepare`d
    /// directory) or `--store`, `--identity` and `--peer`.
    Serve {
        #[arg(long, value_enum)]
        role: Side,
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, required_unless_present = "dir")]
        store: Option<PathBuf>,
        #[arg(long, required_unless_present = "dir")]
        identity: Option<PathBuf>,
        #[arg(long, required_unless_present = "dir")]
        peer: Option<NodeId>,
        #[arg(long)]
        connect: Option<SocketAddr>,
        #[arg(long, default_value_t = 3600)]
        deadline: u64,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Side {
    Source,
    Sink,
}

struct Pair {
    source_id: NodeId,
    sink_id: NodeId,
    source_identity: PathBuf,
    sink_identity: PathBuf,
}

fn identities(dir: &Path) -> Result<Pair> {
    let source = NodeIdentity::generate("source")?;
    let sink = NodeIdentity::generate("sink")?;
    let (source_identity, sink_identity) = (dir.join("source-id"), dir.join("sink-id"));
    source.save(&source_identity)?;
    sink.save(&sink_identity)?;
    Ok(Pair {
        source_id: source.node_id(),
        sink_id: sink.node_id(),
        source_identity,
        sink_identity,
    })
}

/// `syncbench prepare`: the layout `serve --dir` and `run` use.
fn prepare_dir(dir: &Path, n: usize) -> Result<u64> {
    std::fs::create_dir_all(dir)?;
    for file in ["source.db", "sink.db", "source.db-wal", "sink.db-wal"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    identities(dir)?;
    let source = dir.join("source.db");
    let saved = syncbench::prepare_source(&source, n)?;
    Store::open(&source)?
        .connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Store::create(&dir.join("sink.db"))?;
    std::fs::write(
        dir.join("prepared.json"),
        serde_json::json!({ "n": n, "saved_bytes": saved }).to_string(),
    )?;
    Ok(saved)
}

fn prepared_n(dir: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(dir.join("prepared.json"))
        .context("no prepared.json: run `syncbench prepare` first")?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    value["n"]
        .as_u64()
        .map(|n| n as usize)
        .context("prepared.json without n")
}

/// The bytes of a bare QUIC connection on loopback, with the benchmark's
/// identities and transport settings: connect, let the handshake settle
/// (HANDSHAKE_DONE, connection ids, acknowledgements), close, drain.
/// Returns (dialer's UDP bytes sent, listener's UDP bytes sent).
async fn bare_connection() -> Result<(u64, u64)> {
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

fn spawn_side(args: &[String]) -> Result<Child> {
    Command::new(std::env::current_exe()?)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting a side")
}

/// Read lines from a side until its JSON report; `on_listen` gets the
/// LISTEN address line first.
fn read_report(child: &mut Child, mut on_listen: impl FnMut(SocketAddr)) -> Result<SideReport> {
    let stdout = child.stdout.take().context("side stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(addr) = line.strip_prefix("LISTEN ") {
            on_listen(addr.trim().parse()?);
        } else if line.starts_with('{') {
            return Ok(serde_json::from_str(&line)?);
        }
    }
    bail!("a side ended without a report")
}

/// Run one session between the source and a sink store, through `link`.
async fn session(
    pair: &Pair,
    source_store: &Path,
    sink_store: &Path,
    link: Option<LinkConfig>,
    cuts: &[(Duration, Duration)],
) -> Result<(SideReport, SideReport)> {
    let mut source = spawn_side(&[
        "--role".into(),
        "source".into(),
        "--store".into(),
        source_store.display().to_string(),
        "--identity".into(),
        pair.source_identity.display().to_string(),
        "--peer".into(),
        pair.sink_id.to_string(),
    ])?;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let source_thread = std::thread::spawn(move || {
        let report = read_report(&mut source, |addr| {
            let _ = addr_tx.send(addr);
        });
        let _ = source.wait();
        report
    });
    let source_addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .context("the source did not start")?;
    let emulator = match link {
        Some(config) => Some(std::sync::Arc::new(
            LinkEmulator::start(
                "127.0.0.1:0".parse()?,
                source_addr,
                config.clone(),
                config,
                20260105,
            )
            .await?,
        )),
        None => None,
    };
    let target = emulator.as_ref().map_or(source_addr, |e| e.local_addr());
    let mut sink = spawn_side(&[
        "--role".into(),
        "sink".into(),
        "--store".into(),
        sink_store.display().to_string(),
        "--identity".into(),
        pair.sink_identity.display().to_string(),
        "--peer".into(),
        pair.source_id.to_string(),
        "--connect".into(),
        target.to_string(),
    ])?;
    // Scheduled cuts: (start after, length).
    let cutter = emulator.clone().map(|emulator| {
        let started = Instant::now();
        let mut plan = cuts.to_vec();
        plan.sort();
        tokio::spawn(async move {
            for (at, length) in plan {
                tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
                emulator.set_cut(true);
                tokio::time::sleep(length).await;
                emulator.set_cut(false);
            }
        })
    });
    let sink_report = tokio::task::spawn_blocking(move || {
        let report = read_report(&mut sink, |_| {});
        let _ = sink.wait();
        report
    })
    .await??;
    if let Some(cutter) = cutter {
        cutter.abort();
        let _ = cutter.await;
    }
    let source_report = tokio::task::spawn_blocking(move || source_thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("source reader panicked"))??;
    if let Some(emulator) = emulator.and_then(|e| std::sync::Arc::try_unwrap(e).ok()) {
        emulator.shutdown().await;
    }
    Ok((source_report, sink_report))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Initial,
    Incremental,
    Idle,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Initial => "initial",
            Phase::Incremental => "incremental (1%)",
            Phase::Idle => "idle reconnect",
        }
    }
}

struct Row {
    n: usize,
    link: Link,
    phase: Phase,
    source: SideReport,
    sink: SideReport,
    /// CPU seconds the orchestrating process (the link emulator, if any) used.
    emulator_cpu: f64,
    /// CPU seconds the rest of the machine used during the phase.
    others_cpu: f64,
    /// Initial: the saved documents; incremental: the new changes.
    reference: u64,
}

impl Row {
    /// UDP payload bytes, both directions (each side counts what it sent).
    fn wire(&self) -> u64 {
        self.source.udp_tx + self.sink.udp_tx
    }

    /// The protocol's frames, both directions, before zstd.
    fn frames(&self) -> u64 {
        self.source.frame_bytes_sent + self.sink.frame_bytes_sent
    }

    /// QUIC handshake + the sink's waits for the source.
    fn round_trips(&self) -> u64 {
        self.sink.turns + 1
    }
}

fn kb(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.2} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}

fn table(rows: &[Row], bare: u64) -> String {
    let mut out = String::from(
        "| N | link | phase | seconds | CPU seconds source / sink / link emulator / other processes meanwhile | source → sink | sink → source | protocol frames (before zstd) source → sink / sink → source | round trips: handshake + waits, sink / source | ≈ RTTs | peak RSS source / sink | notes |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let note = match r.phase {
            Phase::Initial => format!(
                "saved documents {}; wire ÷ saved {:.2} (source → sink), {:.2} (both ways)",
                kb(r.reference),
                r.source.udp_tx as f64 / r.reference as f64,
                r.wire() as f64 / r.reference as f64
            ),
            Phase::Incremental => format!(
                "new changes {} B; wire (both ways) ÷ changes {:.2}; without a bare connection's {} B: {:.2}; frames ÷ changes {:.2}",
                r.reference,
                r.wire() as f64 / r.reference as f64,
                bare,
                r.wire().saturating_sub(bare) as f64 / r.reference as f64,
                r.frames() as f64 / r.reference as f64
            ),
            Phase::Idle => format!(
                "{} B in all; {} B beyond a bare connection; protocol frames {} B",
                r.wire(),
                r.wire() as i64 - bare as i64,
                r.frames()
            ),
        };
        let bytes = |b: u64| {
            if r.phase == Phase::Initial {
                kb(b)
            } else {
                format!("{b} B")
            }
        };
        out += &format!(
            "| {} | {} | {} | {:.2} | {:.2} / {:.2} / {:.2} / {:.2} | {} | {} | {} / {} | 1 + {} / 1 + {} | {} | {:.0} / {:.0} MB | {} |\n",
            r.n,
            r.link.label(),
            r.phase.label(),
            r.sink.seconds,
            r.source.cpu_seconds,
            r.sink.cpu_seconds,
            r.emulator_cpu,
            r.others_cpu,
            bytes(r.source.udp_tx),
            bytes(r.sink.udp_tx),
            bytes(r.source.frame_bytes_sent),
            bytes(r.sink.frame_bytes_sent),
            r.sink.turns,
            r.source.turns,
            if r.link == Link::Loopback {
                "—".to_string()
            } else {
                format!("{:.1}", r.sink.seconds / 0.3)
            },
            r.source.peak_rss_mb,
            r.sink.peak_rss_mb,
            note
        );
    }
    out
}

/// The targets, met or not, from the rows at hand.
fn targets(rows: &[Row], bare: u64) -> String {
    let find = |n: usize, link: Link, phase: Phase| {
        rows.iter()
            .find(|r| r.n == n && r.link == link && r.phase == phase)
    };
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let mut out = String::from("| target | measured | |\n|---|---|---|\n");
    if let Some(r) = find(10_000, Link::Loopback, Phase::Initial) {
        out += &format!(
            "| initial sync of 10,000 dossiers on loopback under 3 s | {:.2} s | {} |\n",
            r.sink.seconds,
            verdict(r.sink.seconds < 3.0)
        );
        let ratio = r.wire() as f64 / r.reference as f64;
        out += &format!(
            "| … moving no more than 1.2× the saved documents | {:.2}× ({} both ways for {} saved) | {} |\n",
            ratio,
            kb(r.wire()),
            kb(r.reference),
            verdict(ratio <= 1.2)
        );
    }
    for n in [1_000, 10_000] {
        if let Some(r) = find(n, Link::Loopback, Phase::Incremental) {
            let ratio = r.wire() as f64 / r.reference as f64;
            out += &format!(
                "| incremental bytes under 2× the new changes, N = {n} | {:.2}× ({} B for {} B of changes); {:.2}× without a bare connection's {} B; {:.2}× in protocol frames | {} |\n",
                ratio,
                r.wire(),
                r.reference,
                r.wire().saturating_sub(bare) as f64 / r.reference as f64,
                bare,
                r.frames() as f64 / r.reference as f64,
                verdict(ratio < 2.0)
            );
        }
    }
    let idle: Vec<&Row> = [1_000, 10_000]
        .into_iter()
        .filter_map(|n| find(n, Link::Loopback, Phase::Idle))
        .collect();
    for r in &idle {
        out += &format!(
            "| idle reconnect in at most 3 round trips, N = {} | {} (QUIC handshake + {} Hello exchange) | {} |\n",
            r.n,
            r.round_trips(),
            r.sink.turns,
            verdict(r.round_trips() <= 3)
        );
        out += &format!(
            "| … under 4 KB, N = {} | {} B in all ({} B beyond a bare QUIC connection's {} B; {} B of protocol frames) | {} |\n",
            r.n,
            r.wire(),
            r.wire() as i64 - bare as i64,
            bare,
            r.frames(),
            verdict(r.wire() < 4_000)
        );
    }
    if let [a, b] = idle[..] {
        let same_frames = a.frames() == b.frames();
        let same_trips = a.round_trips() == b.round_trips();
        out += &format!(
            "| … the same at N = 1,000 and 10,000 | {} B / {} B on the wire, {} B / {} B of frames, {} / {} round trips | {} |\n",
            a.wire(),
            b.wire(),
            a.frames(),
            b.frames(),
            a.round_trips(),
            b.round_trips(),
            verdict(same_frames && same_trips && a.wire().abs_diff(b.wire()) < 200)
        );
    }
    if let Some(r) = find(1_000, Link::Rural, Phase::Initial) {
        out += &format!(
            "| rural (300 ms RTT), no loss: 1,000 dossiers under 3 s | {:.2} s | {} |\n",
            r.sink.seconds,
            verdict(r.sink.seconds < 3.0)
        );
        if let Some(lossy) = find(1_000, Link::Rural5, Phase::Initial) {
            let ratio = lossy.sink.seconds / r.sink.seconds;
            out += &format!(
                "| … 5% loss within 1.5× of the loss-free time | {:.2} s ({:.2}×) | {} |\n",
                lossy.sink.seconds,
                ratio,
                verdict(ratio <= 1.5)
            );
        }
    }
    out
}

fn write_section(out: &Path, marker: &str, body: &str) -> Result<()> {
    let begin = format!("<!-- {marker}: begin -->");
    let end = format!("<!-- {marker}: end -->");
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let section = format!("{begin}\n{body}\n{end}");
    let updated = match (text.find(&begin), text.find(&end)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{}{}", &text[..a], section, &text[b + end.len()..])
        }
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(out, updated)?;
    Ok(())
}

fn machine() -> String {
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
fn machine_busy_seconds() -> f64 {
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
async fn measured_session(
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

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

async fn run(ns: Vec<usize>, links: Vec<Link>, out: Option<PathBuf>) -> Result<()> {
    let load_before = load_average();
    let (bare_dialer, bare_listener) = bare_connection().await?;
    let bare = bare_dialer + bare_listener;
    let mut rows = Vec::new();
    for n in ns {
        let dir = tempfile::tempdir()?;
        eprintln!("preparing {n} workload dossiers…");
        let prepared = dir.path().join("prepared.db");
        let saved = syncbench::prepare_source(&prepared, n)?;
        Store::open(&prepared)?
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        for link in &links {
            let run_dir = dir.path().join(format!("{link:?}"));
            std::fs::create_dir_all(&run_dir)?;
            let pair = identities(&run_dir)?;
            let source = run_dir.join("source.db");
            std::fs::copy(&prepared, &source)?;
            let sink = run_dir.join("sink.db");
            Store::create(&sink)?;
            eprintln!("{n} dossiers, {}: initial", link.label());
            let (s, k, emulator_cpu, others_cpu) =
                measured_session(&pair, &source, &sink, link.config()).await?;
            let heads = syncbench::all_heads(&source)?;
            if heads.len() != n || heads != syncbench::all_heads(&sink)? || !k.synced {
                bail!("the sink does not hold the source's documents after the initial sync");
            }
            rows.push(Row {
                n,
                link: *link,
                phase: Phase::Initial,
                source: s,
                sink: k,
                emulator_cpu,
                others_cpu,
                reference: saved,
            });
            let new_changes = syncbench::apply_phase2(&source, n)?;
            eprintln!("{n} dossiers, {}: incremental", link.label());
            let (s, k, emulator_cpu, others_cpu) =
                measured_session(&pair, &source, &sink, link.config()).await?;
            if syncbench::all_heads(&source)? != syncbench::all_heads(&sink)? || !k.synced {
                bail!("the sink does not hold the phase-2 changes");
            }
            rows.push(Row {
                n,
                link: *link,
                phase: Phase::Incremental,
                source: s,
                sink: k,
                emulator_cpu,
                others_cpu,
                reference: new_changes,
            });
            eprintln!("{n} dossiers, {}: idle reconnect", link.label());
            let (s, k, emulator_cpu, others_cpu) =
                measured_session(&pair, &source, &sink, link.config()).await?;
            if !k.synced || s.offered + k.offered != 0 {
                bail!("the idle reconnect did not end in sync with nothing offered");
            }
            rows.push(Row {
                n,
                link: *link,
                phase: Phase::Idle,
                source: s,
                sink: k,
                emulator_cpu,
                others_cpu,
                reference: 0,
            });
        }
    }
    let load_after = load_average();
    let body = format!(
        "Machine: {}; load average (1 min) {load_before} when the run started, {load_after} when it ended (other work on the machine slows the wall times; CPU seconds are less affected). Release build; source and sink are separate processes (restarted for every phase; the idle reconnect reopens the same stores).\n\n\
         - **seconds**: the sink's, from its first connection attempt (QUIC handshake included) until it knows both directions are in sync: every offered document committed durably (SQLite) and the source's acknowledgements of its own feed in. Process start-up and store opening before the dial are not counted.\n\
         - **bytes**: UDP payload bytes each side sent (`quinn::ConnectionStats::udp_tx`; QUIC, TLS handshake, the stream's zstd, framing and the closing CONNECTION_CLOSE included). **Protocol frames**: the session's frames as encoded, before zstd (`SessionStats::bytes_sent`).\n\
         - **bare QUIC connection** on loopback with the same identities and settings (connect, 100 ms for the handshake to settle, close): {bare_dialer} B dialer → listener + {bare_listener} B back = {bare} B; most of it is the RFC 9000 padding of the first flights to 1,200 bytes.\n\
         - **round trips**: 1 for the QUIC handshake plus the times a side's session received a frame after having sent (`SessionStats::turns`). Exact for small exchanges; on long pipelined transfers each pause in the flow counts, so it overstates. On rural links \"≈ RTTs\" is the time divided by the 300 ms round trip.\n\
         - **CPU seconds**: user + system time of each whole process (start-up and store opening included), from `getrusage`; the link emulator runs in the orchestrating process (its CPU is that process's); \"other processes meanwhile\" is the machine's busy time during the phase (`/proc/stat`) minus those three: when it is not near zero, the wall seconds are inflated by other work.\n\
         - **peak RSS**: `VmHWM` of each process.\n\n\
         {}\n\
         Against the targets:\n\n{}",
        machine(),
        table(&rows, bare),
        targets(&rows, bare)
    );
    println!("{body}");
    if let Some(out) = out {
        write_section(&out, "syncbench", &body)?;
    }
    Ok(())
}

async fn attachment(megabytes: usize, out: Option<PathBuf>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pair = identities(dir.path())?;
    let source = dir.path().join("source.db");
    let sink = dir.path().join("sink.db");
    let size = megabytes * 1_000_000;
    // Seeded, incompressible content (like a scanned PDF).
    use rand::{RngCore, SeedableRng};
    let mut content = vec![0u8; size];
    rand_chacha::ChaCha8Rng::seed_from_u64(20260105).fill_bytes(&mut content);
    {
        let mut store = Store::create(&source)?;
        store.write(|w| -> Result<(), anyhow::Error> {
            let hashed = w.put_blob(content.as_slice(), "application/pdf")?;
            let doc = lienthong_tests::workload::build_document(
                &lienthong_tests::workload::generate(0, lienthong_tests::workload::DEFAULT_SEED),
                syncbench::actor_of(0),
            );
            let key = syncbench::key_of(0);
            w.save_document(&key, DocKind::Opaque, &doc, &[])?;
            w.set_scope(&key, &["*".to_string()].into_iter().collect())?;
            w.set_blob_refs(
                &key,
                &[lienthong_shared::dossier::AttachmentRef {
                    hash: lienthong_shared::dossier::attachment::hex(&hashed.content),
                    size: hashed.size,
                    media_type: "application/pdf".into(),
                    name: "scan.pdf".into(),
                    chunks_root: lienthong_shared::dossier::attachment::hex(&hashed.root),
                }],
            )?;
            Ok(())
        })?;
    }
    drop(content);
    // The sink holds the dossier (and so wants its attachment) but not the file.
    {
        std::fs::copy(&source, &sink)?;
        let store = Store::open(&sink)?;
        store
            .connection()
            .execute_batch("DELETE FROM blob_chunks; DELETE FROM blobs;")?;
    }
    let bandwidth = 384_000u64;
    let link = LinkConfig::rural().with_bandwidth(bandwidth);
    let floor = (size as f64 * 8.0) / bandwidth as f64;
    // One short cut the connection rides out, one long enough for it to time out.
    let cuts = [
        (
            Duration::from_secs_f64(floor * 0.3),
            Duration::from_secs(10),
        ),
        (
            Duration::from_secs_f64(floor * 0.6),
            Duration::from_secs(75),
        ),
    ];
    let cut_total: f64 = cuts.iter().map(|(_, l)| l.as_secs_f64()).sum();
    eprintln!(
        "sending {megabytes} MB at 384 kbit/s (floor {floor:.0} s) with cuts of 10 s and 75 s…"
    );
    let (s, k) = session(&pair, &source, &sink, Some(link), &cuts).await?;
    let hash: Vec<u8> =
        rusqlite::Connection::open(&source)?
            .query_row("SELECT hash FROM blobs", [], |r| r.get(0))?;
    let hash: [u8; 32] = hash.as_slice().try_into().context("blob hash")?;
    let arrived = Store::open(&sink)?.read(|r| r.blob(&hash))?;
    let complete = arrived.is_some_and(|b| b.complete);
    let link_up = k.seconds - cut_total;
    let resent = s.blob_bytes_sent.saturating_sub(size as u64);
    let body = format!(
        "Machine: {}. {megabytes} MB of incompressible content over 384 kbit/s each way, 150 ms each way, cut twice (10 s at 30% of the floor time: the QUIC connection rides it out; 75 s at 60%: the connection times out and the sink redials).\n\n| measure | value |\n|---|---:|\n| arrived complete and verified | {} |\n| wall time | {:.0} s |\n| time with the link up (wall − {cut_total:.0} s of cuts) | {:.0} s |\n| physical floor (bytes × 8 ÷ 384 kbit/s) | {floor:.0} s |\n| link-up time ÷ floor | {:.2} |\n| attachment bytes sent | {} |\n| bytes sent twice | {} ({:.1}%) |\n| chunks refetched after failing verification | {} |\n| sessions (reconnections + 1) | {} |\n| UDP bytes source → sink | {} |\n",
        machine(),
        complete,
        k.seconds,
        link_up,
        link_up / floor,
        kb(s.blob_bytes_sent),
        kb(resent),
        resent as f64 * 100.0 / size as f64,
        k.blob_chunks_refetched,
        k.sessions,
        kb(s.udp_tx),
    );
    println!("{body}");
    if let Some(out) = out {
        write_section(&out, "syncbench-attachment", &body)?;
    }
    Ok(())
}

async fn recovery(runs: usize, out: Option<PathBuf>) -> Result<()> {
    use lienthong_tests::chaos::recovery;
    let load_before = load_average();
    let (mut figures, mut stops) = (Vec::new(), Vec::new());
    // Interleaved: a stop, then a recovery run, `runs` times.
    for run in 1..=runs {
        eprintln!("run {run} of {runs}: stop time…");
        let (took, status, log) = recovery::stop_time().await.map_err(anyhow::Error::msg)?;
        if !status.success() {
            bail!("the daemon exited with {status}: {log}");
        }
        stops.push(took);
        eprintln!("run {run} of {runs}: kills, cuts and the idle link (about 100 s)…");
        figures.push(recovery::measure().await.map_err(anyhow::Error::msg)?);
    }
    let body = format!(
        "Machine: {}; load average (1 min) {load_before} when the run started, {} when it ended. `lienthong run` child processes (`{}`), the commune's link through the emulator (20 ms each way, 400 kbit/s up).\n\n{}",
        machine(),
        load_average(),
        lienthong_tests::chaos::process::lienthong_bin().display(),
        recovery::table(&figures, &stops)
    );
    println!("{body}");
    if let Some(out) = out {
        write_section(&out, "syncbench-recovery", &body)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Both sides log to stderr with `SYNCBENCH_LOG` (e.g. `lienthong_sync=debug`).
    if let Ok(filter) = std::env::var("SYNCBENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::Run { n, links, out } => runtime.block_on(run(n, links, out)),
        Cmd::Attachment { megabytes, out } => runtime.block_on(attachment(megabytes, out)),
        Cmd::Recovery { runs, out } => runtime.block_on(recovery(runs, out)),
        Cmd::Prepare { dir, n } => runtime.block_on(async {
            let saved = prepare_dir(&dir, n)?;
            println!("{}", serde_json::json!({ "n": n, "saved_bytes": saved }));
            Ok(())
        }),
        Cmd::Phase2 { dir } => {
            let n = prepared_n(&dir)?;
            let bytes = syncbench::apply_phase2(&dir.join("source.db"), n)?;
            println!(
                "{}",
                serde_json::json!({ "n": n, "new_change_bytes": bytes })
            );
            Ok(())
        }
        Cmd::Verify { dir } => {
            let source = syncbench::all_heads(&dir.join("source.db"))?;
            let sink = syncbench::all_heads(&dir.join("sink.db"))?;
            println!(
                "{}",
                serde_json::json!({ "source": source.len(), "sink": sink.len(), "same": source == sink })
            );
            if source != sink {
                bail!("the sink's documents or heads differ from the source's");
            }
            Ok(())
        }
        Cmd::Serve {
            role,
            dir,
            store,
            identity,
            peer,
            connect,
            deadline,
        } => runtime.block_on(async {
            let (name, other) = match role {
                Side::Source => ("source", "sink"),
                Side::Sink => ("sink", "source"),
            };
            let (store, identity, peer) = match dir {
                Some(dir) => (
                    dir.join(format!("{name}.db")),
                    dir.join(format!("{name}-id")),
                    NodeIdentity::load(&dir.join(format!("{other}-id")))?.node_id(),
                ),
                None => (
                    store.context("--store")?,
                    identity.context("--identity")?,
                    peer.context("--peer")?,
                ),
            };
            let report = syncbench::serve(syncbench::Serve {
                role: match role {
                    Side::Source => Role::Listener,
                    Side::Sink => Role::Dialer,
                },
                store: &store,
                identity: &identity,
                peer,
                connect,
                deadline: Duration::from_secs(deadline),
                on_listen: &|addr| {
                    println!("LISTEN {addr}");
                    let _ = std::io::stdout().flush();
                },
            })
            .await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }),
    }
}
