//! `lienthong export --format portal --from … --to …`: the national
//! portal's records for a period, one JSON object a line (`crate::portal`).

use anyhow::{Result, bail};
use clap::Args;

use super::args::{DataArgs, parse_time};
use crate::node::Node;

const EXAMPLES: &str = "Examples:\n  lienthong export --data DIR --format portal --from '2026-03-01 00:00' --to '2026-04-01 00:00' > march.jsonl";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The export's format: `portal` (the national public-service portal, docs/portal.md).
    #[arg(long, value_name = "FORMAT")]
    pub format: String,
    /// Start of the period, included (local `YYYY-MM-DD HH:MM` or RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End of the period, excluded.
    #[arg(long, value_name = "TIME")]
    pub to: String,
}

pub fn export(args: &ExportArgs) -> Result<()> {
    if args.format != "portal" {
        bail!(
            "unknown export format {:?}: the only format is `portal` (--format portal)",
            args.format
        );
    }
    let mut node = Node::open(&args.data.data)?;
    let tz = node.calendar.timezone();
    let from = parse_time(&args.from, tz)?;
    let to = parse_time(&args.to, tz)?;
    if to <= from {
        bail!(
            "--to ({}) must be after --from ({}); nothing was written",
            args.to,
            args.from
        );
    }
    let tree = node.network.offices.clone();
    let records = node
        .store
        .read(|r| crate::portal::export(r, &tree, tz, from, to))?;
    let mut out = std::io::stdout().lock();
    for record in &records {
        serde_json::to_writer(&mut out, record)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    }
    Ok(())
}
