//! `lienthong directory` (the province keeps the node directory, issue 8)
//! and `lienthong identity rotate` (a node replaces its key).

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use lienthong_shared::OfficeId;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};

use super::args::{DataArgs, parse_time};
use crate::daemon::{HEARTBEAT_INTERVAL, daemon_heartbeat};
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

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Replace this node's key (node stopped): prints the new id and what the operators do next.
    Rotate {
        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn identity(command: &IdentityCommand) -> Result<()> {
    match command {
        IdentityCommand::Rotate { data } => rotate(&data.data),
    }
}

/// A new Ed25519 identity for the node in `dir`; the old node id is kept in
/// the store for reference, the old private key removed.
pub fn rotate(dir: &std::path::Path) -> Result<()> {
    let node = Node::open(dir)?;
    let now = Utc::now();
    if let Some((beat, pid)) = daemon_heartbeat(&node.store)
        && (now - beat).to_std().unwrap_or_default() < HEARTBEAT_INTERVAL * 3
    {
        bail!(
            "the daemon is running on {} (pid {pid}); stop it first, then rotate the key (nothing was changed)",
            dir.display()
        );
    }
    let old = node.node_id();
    let identity_dir = node.dir.identity_dir();
    let fresh = NodeIdentity::generate(node.office().as_str())?;
    let staged = dir.join("identity.rotating");
    if staged.exists() {
        std::fs::remove_dir_all(&staged).with_context(|| {
            format!(
                "cannot clear {} (left by an interrupted rotation)",
                staged.display()
            )
        })?;
    }
    fresh
        .save(&staged)
        .with_context(|| format!("cannot write the new key into {}", staged.display()))?;
    node.store
        .record_previous_identity(&old.to_string(), now)
        .context("cannot record the old node id in the store; nothing was changed")?;
    let retired = dir.join("identity.retired");
    if retired.exists() {
        std::fs::remove_dir_all(&retired)
            .with_context(|| format!("cannot clear {}", retired.display()))?;
    }
    std::fs::rename(&identity_dir, &retired)
        .with_context(|| format!("cannot move the old key aside ({})", identity_dir.display()))?;
    std::fs::rename(&staged, &identity_dir).with_context(|| {
        format!(
            "cannot put the new key in place ({})",
            identity_dir.display()
        )
    })?;
    // The old key signs nothing more: it goes (its public id stays, above).
    std::fs::remove_dir_all(&retired)
        .with_context(|| format!("the new key is in place, but the old one could not be removed from {}; remove it by hand", retired.display()))?;
    let new = fresh.node_id();
    let office = node.office();
    println!("new node id {new}");
    println!("old node id {old} (kept in the store for reference; its key is removed)");
    println!("Next steps:");
    println!(
        "  1. at the province: lienthong directory end --node {old} --at <when the old key stopped being trusted, default now>"
    );
    println!("     and:            lienthong directory add --node {new} --office {office}");
    println!(
        "  2. at the parent and each child: lienthong peer remove --node-id {old}, then lienthong peer add … --office {office} --node-id {new}"
    );
    println!(
        "  3. start this node (lienthong run). Changes signed by the old key before its end stay valid everywhere."
    );
    Ok(())
}
