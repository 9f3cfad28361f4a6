//! The scenarios: `run` (the WORKLOAD.md phases for each N and link),
//! `attachment` (a large file over a slow, cut link) and `recovery`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use lienthong::store::Store;
use lienthong::store::documents::DocKind;
use lienthong_tests::linkemu::LinkConfig;
use lienthong_tests::syncbench;

use crate::measure::{bare_connection, load_average, machine, measured_session};
use crate::phases::{Phase, identities, session};
use crate::report::{Row, kb, table, targets, write_section};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
pub(crate) enum Link {
    Loopback,
    /// 150 ms each way (RTT 300 ms), no loss.
    Rural,
    #[value(name = "rural-1")]
    Rural1,
    #[value(name = "rural-5")]
    Rural5,
    #[value(name = "rural-20")]
    Rural20,
    /// WORKLOAD.md's bandwidth run: RTT 300 ms, 384 kbit/s each way, a
    /// 64 KiB queue in front of the link (a modem's buffer: 1.4 s of it;
    /// what does not fit is dropped).
    #[value(name = "rural-384k")]
    Rural384k,
}

impl Link {
    pub(crate) fn config(self) -> Option<LinkConfig> {
        let rural = LinkConfig::rural();
        match self {
            Link::Loopback => None,
            Link::Rural => Some(rural),
            Link::Rural1 => Some(rural.with_loss(0.01)),
            Link::Rural5 => Some(rural.with_loss(0.05)),
            Link::Rural20 => Some(rural.with_loss(0.20)),
            Link::Rural384k => Some(rural.with_bandwidth(384_000).with_queue_limit(64 << 10)),
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Link::Loopback => "loopback",
            Link::Rural => "rural, 300 ms RTT",
            Link::Rural1 => "rural, 300 ms RTT, 1% loss",
            Link::Rural5 => "rural, 300 ms RTT, 5% loss",
            Link::Rural20 => "rural, 300 ms RTT, 20% loss",
            Link::Rural384k => "rural, 300 ms RTT, 384 kbit/s",
        }
    }
}

pub(crate) async fn run(ns: Vec<usize>, links: Vec<Link>, out: Option<PathBuf>) -> Result<()> {
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
                sink_stored: stored_size(&sink),
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
                sink_stored: stored_size(&sink),
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
                sink_stored: stored_size(&sink),
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

/// A store's size on disk: the database file and its WAL, if any.
fn stored_size(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(PathBuf::from(name)).ok()
        })
        .map(|m| m.len())
        .sum()
}

pub(crate) async fn attachment(megabytes: usize, out: Option<PathBuf>) -> Result<()> {
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

pub(crate) async fn recovery(runs: usize, out: Option<PathBuf>) -> Result<()> {
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
