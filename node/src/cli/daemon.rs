//! `lienthong run`: the node daemon in the foreground.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::daemon::{Daemon, DaemonOptions};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", env = "LIENTHONG_DATA")]
    pub data: PathBuf,
    /// Node configuration to use instead of DIR/node.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen here instead of node.toml's `listen` (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

/// Logs to stderr; `LIENTHONG_LOG` (e.g. `debug`, `lienthong=debug,quinn=warn`) filters.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIENTHONG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,quinn=warn,rustls=warn"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    init_logging();
    let runtime = runtime()?;
    runtime.block_on(async {
        let options = DaemonOptions {
            listen: args.listen,
            config: args.config.clone(),
            ..DaemonOptions::default()
        };
        let daemon = Daemon::start(&args.data, options).await?;
        eprintln!(
            "lienthong: node {} listening on {} (Ctrl-C to stop)",
            daemon.node_id(),
            daemon.local_addr()
        );
        shutdown_signal().await;
        tracing::info!("stopping");
        daemon.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}
