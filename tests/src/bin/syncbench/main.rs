//! The sync benchmark of `../shared/bench/WORKLOAD.md`.
//!
//! ```sh
//! cargo run --release -p lienthong-tests --bin syncbench -- run                # N = 1,000 and 10,000, loopback
//! cargo run --release -p lienthong-tests --bin syncbench -- run --link rural --link rural-5 --n 1000
//! cargo run --release -p lienthong-tests --bin syncbench -- attachment         # 20 MB over 384 kbit/s with cuts (~8 min)
//! cargo run --release -p lienthong-tests --bin syncbench -- recovery --runs 3  # kill -9, cuts, stop, idle bytes (~1 min a run)
//! cargo run --release -p lienthong-tests --bin syncbench -- province --cache /tmp/province-1m  # 1,000,000 dossiers, 100 peers
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
//!
//! The modules by job: `phases` (the two sides as processes and one
//! session between them), `measure` (CPU, machine, a bare connection's
//! bytes), `report` (the markdown tables and targets), `scenarios` (`run`,
//! `attachment`, `recovery`), `province` with `province_nodes` and
//! `province_sides` (issue 11's province under load).

mod measure;
mod phases;
mod province;
mod province_nodes;
mod province_sides;
mod report;
mod scenarios;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use lienthong_sync::transport::driver::Role;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_tests::syncbench;

use phases::{prepare_dir, prepared_n};
use scenarios::{Link, attachment, recovery, run};

#[derive(Parser)]
#[command(
    about = "The WORKLOAD.md sync benchmark: source and sink nodes, loopback or an emulated rural link"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
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
    /// A province under load (issue 11): N real dossiers, P communes;
    /// reconnect storm, new communes, memory, the consolidated report
    /// (`province.rs`). The stores are built once into `--cache`.
    Province {
        #[arg(long)]
        cache: PathBuf,
        #[arg(long = "n", default_value_t = 1_000_000)]
        n: usize,
        #[arg(long, default_value_t = 100)]
        peers: usize,
        /// Restarts of the province measured.
        #[arg(long, default_value_t = 3)]
        storms: usize,
        /// Seconds a peer may take to get in sync before the run fails.
        #[arg(long, default_value_t = 600)]
        deadline: u64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The province's process of `province` (internal).
    #[command(hide = true)]
    ProvinceServe {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        cache: PathBuf,
        #[arg(long)]
        listen: SocketAddr,
    },
    /// The peers' process of `province` (internal).
    #[command(hide = true)]
    ProvincePeers {
        #[arg(long)]
        cache: PathBuf,
        #[arg(long)]
        stores: PathBuf,
        #[arg(long, value_delimiter = ',')]
        peers: Vec<usize>,
        #[arg(long)]
        deadline: u64,
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
        Cmd::Province {
            cache,
            n,
            peers,
            storms,
            deadline,
            out,
        } => province::province(province::Options {
            cache,
            n,
            peers,
            storms,
            out,
            deadline: Duration::from_secs(deadline),
        }),
        Cmd::ProvinceServe { dir, cache, listen } => {
            runtime.block_on(province_sides::serve_province(&dir, &cache, listen))
        }
        Cmd::ProvincePeers {
            cache,
            stores,
            peers,
            deadline,
        } => runtime.block_on(province_sides::serve_peers(
            &cache,
            &stores,
            &peers,
            Duration::from_secs(deadline),
        )),
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
