//! Orchestration: the two sides as processes of this binary, their
//! identities and prepared stores, and one session between them (through
//! the link emulator when the link is not loopback).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lienthong::store::Store;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_tests::linkemu::{LinkConfig, LinkEmulator};
use lienthong_tests::syncbench::{self, SideReport};

pub(crate) struct Pair {
    pub(crate) source_id: NodeId,
    pub(crate) sink_id: NodeId,
    pub(crate) source_identity: PathBuf,
    pub(crate) sink_identity: PathBuf,
}

pub(crate) fn identities(dir: &Path) -> Result<Pair> {
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
pub(crate) fn prepare_dir(dir: &Path, n: usize) -> Result<u64> {
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

pub(crate) fn prepared_n(dir: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(dir.join("prepared.json"))
        .context("no prepared.json: run `syncbench prepare` first")?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    value["n"]
        .as_u64()
        .map(|n| n as usize)
        .context("prepared.json without n")
}

pub(crate) fn spawn_side(args: &[String]) -> Result<Child> {
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
pub(crate) fn read_report(
    child: &mut Child,
    mut on_listen: impl FnMut(SocketAddr),
) -> Result<SideReport> {
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
pub(crate) async fn session(
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
pub(crate) enum Phase {
    Initial,
    Incremental,
    Idle,
}

impl Phase {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Phase::Initial => "initial",
            Phase::Incremental => "incremental (1%)",
            Phase::Idle => "idle reconnect",
        }
    }
}
