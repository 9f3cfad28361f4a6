//! The sync benchmark of `../shared/bench/WORKLOAD.md`.
//!
//! ```sh
//! cargo run --release -p lienthong-tests --bin syncbench -- run                # N = 1,000 and 10,000, loopback
//! cargo run --release -p lienthong-tests --bin syncbench -- run --link rural --link rural-5 --n 1000
//! cargo run --release -p lienthong-tests --bin syncbench -- attachment         # 20 MB over 384 kbit/s with cuts (~8 min)
//! ```
//! `run` and `attachment` start the source and the sink as two processes of
//! this binary (`serve`), put the link emulator between them when the link
//! is not loopback, and print markdown tables (`--out FILE` also writes
//! them between markers in FILE).

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
    /// One side of a session (used by `run`).
    Serve {
        #[arg(long, value_enum)]
        role: Side,
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        identity: PathBuf,
        #[arg(long)]
        peer: NodeId,
        #[arg(long)]
        connect: Option<SocketAddr>,
        #[arg(long, default_value_t = 3600)]
        deadline: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
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

struct Row {
    n: usize,
    link: Link,
    phase: &'static str,
    source: SideReport,
    sink: SideReport,
    note: String,
}

fn kb(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.2} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| N | link | phase | seconds | source → sink | sink → source | waits for the peer (sink/source) | ≈ RTTs | peak RSS source / sink | notes |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {} | {:.2} | {} | {} | {} / {} | {} | {:.0} / {:.0} MB | {} |\n",
            r.n,
            r.link.label(),
            r.phase,
            r.sink.seconds,
            kb(r.source.udp_tx),
            kb(r.sink.udp_tx),
            r.sink.turns,
            r.source.turns,
            if r.link == Link::Loopback {
                "—".to_string()
            } else {
                format!("{:.1}", r.sink.seconds / 0.3)
            },
            r.source.peak_rss_mb,
            r.sink.peak_rss_mb,
            r.note
        );
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
    format!("{cores} cores, {cpu}")
}

async fn run(ns: Vec<usize>, links: Vec<Link>, out: Option<PathBuf>) -> Result<()> {
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
            let (s, k) = session(&pair, &source, &sink, link.config(), &[]).await?;
            let same = syncbench::all_heads(&source)? == syncbench::all_heads(&sink)?;
            if !same || !k.synced {
                bail!("the sink does not hold the source's documents after the initial sync");
            }
            let ratio = s.udp_tx as f64 / saved as f64;
            rows.push(Row {
                n,
                link: *link,
                phase: "initial",
                note: format!("saved documents {}; wire/saved {:.2}", kb(saved), ratio),
                source: s,
                sink: k,
            });
            let new_changes = syncbench::apply_phase2(&source, n)?;
            eprintln!("{n} dossiers, {}: incremental", link.label());
            let (s, k) = session(&pair, &source, &sink, link.config(), &[]).await?;
            if syncbench::all_heads(&source)? != syncbench::all_heads(&sink)? {
                bail!("the sink does not hold the phase-2 changes");
            }
            let wire = s.udp_tx + k.udp_tx;
            rows.push(Row {
                n,
                link: *link,
                phase: "incremental (1%)",
                note: format!(
                    "new changes {}; wire/changes {:.2}",
                    kb(new_changes),
                    wire as f64 / new_changes as f64
                ),
                source: s,
                sink: k,
            });
            eprintln!("{n} dossiers, {}: idle reconnect", link.label());
            let (s, k) = session(&pair, &source, &sink, link.config(), &[]).await?;
            let idle_cost = s.udp_tx + k.udp_tx;
            if let Some(incremental) = rows.last_mut() {
                let wire = incremental.source.udp_tx + incremental.sink.udp_tx;
                incremental.note += &format!(
                    " ({:.2} without the {} any reconnect costs)",
                    wire.saturating_sub(idle_cost) as f64 / new_changes as f64,
                    kb(idle_cost)
                );
            }
            rows.push(Row {
                n,
                link: *link,
                phase: "idle reconnect",
                note: format!(
                    "{} in all, QUIC handshake included",
                    kb(s.udp_tx + k.udp_tx)
                ),
                source: s,
                sink: k,
            });
        }
    }
    let body = format!(
        "Machine: {}. Seconds are the sink's, from its first connection attempt until it knows both directions are in sync (its store durable, the source's acknowledgements in). Bytes are UDP payload bytes on the wire (QUIC, TLS handshake, framing and zstd included). \"Waits for the peer\" counts the times a side's session received after sending (pipelined flights count each, so it overstates round trips on long transfers); \"≈ RTTs\" is the time divided by the 300 ms round trip, handshake included.\n\n{}",
        machine(),
        table(&rows)
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

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::Run { n, links, out } => runtime.block_on(run(n, links, out)),
        Cmd::Attachment { megabytes, out } => runtime.block_on(attachment(megabytes, out)),
        Cmd::Serve {
            role,
            store,
            identity,
            peer,
            connect,
            deadline,
        } => runtime.block_on(async {
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
