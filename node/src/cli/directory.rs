//! `lienthong directory` (the province keeps the node directory, issue 8);
//! `lienthong identity rotate` is in `rotate.rs`.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use lienthong_shared::OfficeId;
use lienthong_sync::transport::identity::NodeId;

use super::args::{DataArgs, parse_time};
use crate::node::Node;
use crate::replication::directory_file;

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// List the node directory: which node serves which office, from when until when.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// At the province: a node serves an office (from now, or from --from).
    Add {
        #[command(flatten)]
        data: DataArgs,
        /// The node's id (`lienthong id --data DIR` on that node).
        #[arg(long, value_name = "ID")]
        node: NodeId,
        /// The office it serves (one with a node of its own).
        #[arg(long, value_name = "OFFICE")]
        office: OfficeId,
        /// Valid from this time (local `YYYY-MM-DD HH:MM` or RFC 3339);
        /// default: since ever (its changes written before count too).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
    },
    /// At the province: a node's entries end (now, or at --at): what it writes after is refused everywhere.
    End {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_name = "ID")]
        node: NodeId,
        /// When its key stopped being trusted (for a stolen key: the time
        /// of the compromise). Default: now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

fn time(node: &Node, text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_time(t, node.calendar.timezone()))
        .transpose()
}

fn shown(node: &Node, at: Option<DateTime<Utc>>, none: &str) -> String {
    at.map_or(none.to_string(), |t| {
        t.with_timezone(&node.calendar.timezone())
            .format("%d/%m/%Y %H:%M")
            .to_string()
    })
}

pub fn run(command: &DirectoryCommand) -> Result<()> {
    match command {
        DirectoryCommand::List { data } => {
            let node = Node::open(&data.data)?;
            let entries = node.network.directory_entries();
            if entries.is_empty() {
                println!(
                    "The network file names no node: each node trusts its pinned peers only (`lienthong directory add` at the province names them)."
                );
            }
            let now = Utc::now();
            for e in entries {
                let state = if e.has_ended(now) {
                    "ended"
                } else if e.from.is_some_and(|f| f > now) {
                    "not yet"
                } else {
                    "in force"
                };
                println!(
                    "{:<8} {:<64} {:<36} from {:<16} until {}",
                    state,
                    e.node_id,
                    e.office.to_string(),
                    shown(&node, e.from, "ever"),
                    shown(&node, e.until, "-")
                );
            }
        }
        DirectoryCommand::Add {
            data,
            node: id,
            office,
            from,
        } => {
            let mut node = Node::open(&data.data)?;
            let first = node.network.directory_entries().is_empty();
            let from = time(&node, from.as_deref())?;
            let entry = directory_file::add_entry(&mut node, id, office, from)?;
            println!(
                "added: node {} serves {} from {}; published to the network (nodes apply it at their next session)",
                entry.node_id,
                entry.office,
                shown(&node, entry.from, "ever")
            );
            if first {
                eprintln!(
                    "This is the directory's first entry: from now on a node not in it is refused beyond the node that pinned it. Add every node (`lienthong directory list` shows the entries)."
                );
            }
        }
        DirectoryCommand::End { data, node: id, at } => {
            let mut node = Node::open(&data.data)?;
            let at = time(&node, at.as_deref())?.unwrap_or_else(Utc::now);
            let ended = directory_file::end_entry(&mut node, id, at)?;
            println!(
                "ended {ended} entr{} of node {id} at {}: what it writes after is refused everywhere, what it wrote before stays valid; published to the network",
                if ended == 1 { "y" } else { "ies" },
                shown(&node, Some(at), "")
            );
        }
    }
    Ok(())
}
