//! `lienthong run`: the node daemon in the foreground.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::console::Console;
use crate::daemon::{Daemon, DaemonOptions};
use crate::node::Node;
use crate::replication::Clock;

/// Which node: its data directory and, optionally, another node.toml.
#[derive(Debug, Args)]
pub struct NodeDir {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", env = "LIENTHONG_DATA")]
    pub data: PathBuf,
    /// Node configuration to use instead of DIR/node.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub node: NodeDir,
    /// Listen here instead of node.toml's `listen` (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve the officers' console here instead of node.toml's `[console] listen`.
    #[arg(long, value_name = "ADDR")]
    pub console: Option<SocketAddr>,
}

/// `lienthong console`: the officers' console alone, for a node whose
/// daemon is not running (or runs elsewhere on the same data directory).
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub node: NodeDir,
    /// Listen here instead of node.toml's `[console] listen` (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

/// Logs to stderr; `LIENTHONG_LOG` (e.g. `debug`, `lienthong=debug,quinn=warn`)
/// filters; `LIENTHONG_LOG_FORMAT=json` writes one JSON object per line
/// (with the current span — `link` with the peer, `dial` — and its parents),
/// for journald or a log collector; `text` (the default) is for people.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIENTHONG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,quinn=warn,rustls=warn"));
    use std::io::IsTerminal;
    match log_format(std::env::var("LIENTHONG_LOG_FORMAT").ok().as_deref()) {
        Ok(LogFormat::Json) => {
            let _ = tracing_subscriber::fmt()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
        }
        format => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .try_init();
            if let Err(e) = format {
                tracing::warn!("{e}");
            }
        }
    }
}

/// How logs are written (`LIENTHONG_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Read `LIENTHONG_LOG_FORMAT`; unset or empty is text.
pub fn log_format(value: Option<&str>) -> Result<LogFormat, String> {
    match value.map(str::trim) {
        None | Some("") | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(format!(
            "LIENTHONG_LOG_FORMAT=`{other}` is not a log format: use `json` or `text`; logging as text"
        )),
    }
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

fn open_node(data: &Path, config: Option<&Path>) -> Result<Node> {
    Ok(match config {
        Some(path) => Node::open_with_config(data, path)?,
        None => Node::open(data)?,
    })
}

/// Start the console for the node in `data` (its own store connection).
async fn start_console(
    data: &Path,
    config: Option<&Path>,
    listen: Option<SocketAddr>,
) -> Result<Console> {
    let node = open_node(data, config)?;
    let listen = listen.unwrap_or(node.config.console.listen);
    Ok(Console::start(node, listen, Clock::system()).await?)
}

pub fn run(args: &RunArgs) -> Result<()> {
    init_logging();
    let runtime = runtime()?;
    runtime.block_on(async {
        let options = DaemonOptions {
            listen: args.listen,
            config: args.node.config.clone(),
            ..DaemonOptions::default()
        };
        let daemon = Daemon::start(&args.node.data, options).await?;
        let console =
            match start_console(&args.node.data, args.node.config.as_deref(), args.console).await {
                Ok(console) => console,
                Err(e) => {
                    daemon.shutdown().await;
                    return Err(e);
                }
            };
        eprintln!(
            "lienthong: node {} listening on {}; console at {} (Ctrl-C to stop)",
            daemon.node_id(),
            daemon.local_addr(),
            console.url()
        );
        shutdown_signal().await;
        tracing::info!("stopping");
        console.shutdown().await;
        daemon.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}

pub fn console(args: &ConsoleArgs) -> Result<()> {
    init_logging();
    let runtime = runtime()?;
    runtime.block_on(async {
        let console =
            start_console(&args.node.data, args.node.config.as_deref(), args.listen).await?;
        eprintln!(
            "{}",
            crate::i18n::fill(
                super::messages::CliMsg::ConsoleAt.text(crate::i18n::Lang::from_env()),
                &[("url", &console.url())]
            )
        );
        shutdown_signal().await;
        console.shutdown().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_format_is_read_with_a_clear_error() {
        assert_eq!(log_format(None), Ok(LogFormat::Text));
        assert_eq!(log_format(Some("json")), Ok(LogFormat::Json));
        let error = log_format(Some("xml")).unwrap_err();
        assert!(error.contains("use `json` or `text`"), "{error}");
    }
}
