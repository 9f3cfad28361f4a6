//! `lienthong demo`: the main command on a fresh machine.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::daemon::{init_logging, runtime, shutdown_signal};
use crate::demo::words::DemoMsg;
use crate::demo::{self, DemoOptions};
use crate::i18n::Lang;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Put the network's data directories here (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Leave the network running afterwards, to explore with the other commands (Ctrl-C stops it).
    #[arg(long)]
    pub keep: bool,
    /// Show the nodes' logs.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    if args.verbose {
        init_logging();
    }
    if let Some(dir) = &args.dir
        && demo::looks_like_node(dir)
    {
        bail!(
            "{}",
            crate::i18n::fill(
                DemoMsg::IsNode.text(Lang::from_env()),
                &[("dir", &dir.display().to_string())]
            )
        );
    }
    let runtime = runtime()?;
    let dir = runtime.block_on(demo::run(
        DemoOptions {
            dir: args.dir.clone(),
            keep: args.keep,
        },
        shutdown_signal(),
    ))?;
    if args.keep || args.dir.is_some() {
        let said = DemoMsg::DataLeft.text(Lang::from_env());
        println!(
            "\n{}",
            crate::i18n::fill(said, &[("dir", &dir.display().to_string())])
        );
    }
    Ok(())
}
