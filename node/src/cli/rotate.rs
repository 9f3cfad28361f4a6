//! `lienthong identity rotate` (issue 8): a node replaces its key, in one
//! step or in two (`--prepare`, then `rotate`).
//!
//! The province's key is the root of trust: configuration is accepted only
//! from a key the directory names for the root office. So where the network
//! names nodes, the province rotates in two steps: `--prepare` stages the
//! next key beside the current one (`identity.next`, key file mode 0600);
//! `directory add --node NEW --office ROOT` is written and signed with the
//! OLD key, which every node trusts, and reaches every node; then `rotate`
//! (daemon stopped) puts the staged key in place and ends the old key's
//! entry in a network document signed with the NEW key — accepted because
//! every node's directory already names NEW for the root office. `rotate`
//! at the province refuses without a staged key whose entry is published.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use lienthong_shared::OfficeId;
use lienthong_shared::offices::NetworkConfig;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};

use super::args::DataArgs;
use crate::daemon::{HEARTBEAT_INTERVAL, daemon_heartbeat};
use crate::node::Node;
use crate::replication::config_docs::{self, ConfigFile};
use crate::replication::directory_file;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Replace this node's key (node stopped): the staged key if `--prepare` made one, else a new one.
    /// Prints the new id and what the operators do next.
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// Only make the next key and keep it staged beside the current one
        /// (the daemon may run); prints its id. At the province: add it to
        /// the directory (`directory add --node NEW --office ROOT`), let it
        /// reach every node, then rotate.
        #[arg(long)]
        prepare: bool,
    },
}

pub fn identity(command: &IdentityCommand) -> Result<()> {
    match command {
        IdentityCommand::Rotate { data, prepare } => {
            if *prepare {
                prepare_next(&data.data)
            } else {
                rotate(&data.data)
            }
        }
    }
}

/// The staged key's id, if one is staged (an unreadable one is an error:
/// the operator must look at it, nothing is overwritten).
fn staged(node: &Node) -> Result<Option<NodeIdentity>> {
    let dir = node.dir.staged_identity_dir();
    if !dir.exists() {
        return Ok(None);
    }
    NodeIdentity::load(&dir).map(Some).with_context(|| {
        format!(
            "a staged key is in {} but cannot be read; nothing was changed. Remove that directory and run `lienthong identity rotate --prepare` again",
            dir.display()
        )
    })
}

/// Make the next key and keep it staged (`identity rotate --prepare`).
pub fn prepare_next(dir: &std::path::Path) -> Result<()> {
    let node = Node::open(dir)?;
    let staged_dir = node.dir.staged_identity_dir();
    if let Some(next) = staged(&node)? {
        bail!(
            "a key is staged already: node id {} (in {}); nothing was changed. Use it: add it to the directory at the province if not done yet, then `lienthong identity rotate` (daemon stopped); or, to start over, remove {} and prepare again",
            next.node_id(),
            staged_dir.display(),
            staged_dir.display()
        );
    }
    let fresh = NodeIdentity::generate(node.office().as_str())?;
    fresh
        .save(&staged_dir)
        .with_context(|| format!("cannot write the next key into {}", staged_dir.display()))?;
    let new = fresh.node_id();
    let office = node.office();
    println!(
        "next node id {new} (staged in {}; the current key stays in use)",
        staged_dir.display()
    );
    println!("Next steps:");
    println!(
        "  1. at the province: lienthong directory add --node {new} --office {office}   (signed with the current province key)"
    );
    println!(
        "     and wait until every node holds it (`lienthong directory list` there shows it in force)"
    );
    println!("  2. here, daemon stopped: lienthong identity rotate");
    Ok(())
}

/// Is `id` named for `office`, in force at `now`, in the network document
/// this node publishes (what its peers receive)?
fn published_entry(
    node: &mut Node,
    id: &NodeId,
    office: &OfficeId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let key = ConfigFile::Network.key();
    let Some((_, doc)) = node
        .store
        .read(|r| r.load_document(&key))
        .context("cannot read the published network document; nothing was changed")?
    else {
        return Ok(false);
    };
    let Some(text) = config_docs::text_of(&doc) else {
        return Ok(false);
    };
    let Ok(network) = NetworkConfig::parse(std::path::Path::new("network.toml"), &text) else {
        return Ok(false);
    };
    Ok(network.directory_entries().iter().any(|e| {
        e.node_id.parse::<NodeId>().is_ok_and(|n| n == *id)
            && e.office == *office
            && e.from.is_none_or(|f| f <= now)
            && e.until.is_none_or(|u| u > now)
    }))
}

/// Put the staged key in place (or a new one), keeping the old node id in
/// the store for reference and removing the old private key. At the
/// province of a network that names nodes: only a staged key whose entry is
/// published, and the old key's entry is then ended with the new key.
pub fn rotate(dir: &std::path::Path) -> Result<()> {
    let mut node = Node::open(dir)?;
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
    let office = node.office().clone();
    let root = node.network.offices.root().id.clone();
    let at_province = root == office;
    let names_nodes = !node.network.directory_entries().is_empty();
    let next = staged(&node)?;
    let two_steps = at_province && names_nodes;
    if two_steps {
        let Some(next) = &next else {
            bail!(
                "this is the province's node: its key is the root of trust, and the nodes accept configuration only from a key the directory names for {root}. Rotate in two steps (nothing was changed):\n  1. lienthong identity rotate --prepare --data {d}   (makes the next key, prints its id NEW)\n     lienthong directory add --data {d} --node NEW --office {root}   (signed with the current key), and let it reach every node\n  2. daemon stopped: lienthong identity rotate --data {d}",
                d = dir.display()
            );
        };
        let new = next.node_id();
        if !published_entry(&mut node, &new, &root, now)? {
            bail!(
                "the staged key {new} has no entry for {root} in force in the network document this node publishes; the nodes would refuse everything it signs. Nothing was changed. First: lienthong directory add --data {d} --node {new} --office {root} (signed with the current key), let it reach every node (`lienthong directory list` at a district shows it), then rotate again",
                d = dir.display()
            );
        }
    }
    let identity_dir = node.dir.identity_dir();
    let (fresh_dir, new) = match next {
        Some(next) => (node.dir.staged_identity_dir(), next.node_id()),
        None => {
            let fresh = NodeIdentity::generate(office.as_str())?;
            let rotating = dir.join("identity.rotating");
            if rotating.exists() {
                std::fs::remove_dir_all(&rotating).with_context(|| {
                    format!(
                        "cannot clear {} (left by an interrupted rotation)",
                        rotating.display()
                    )
                })?;
            }
            fresh
                .save(&rotating)
                .with_context(|| format!("cannot write the new key into {}", rotating.display()))?;
            (rotating, fresh.node_id())
        }
    };
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
    std::fs::rename(&fresh_dir, &identity_dir).with_context(|| {
        format!(
            "cannot put the new key in place ({}); the old key is in {}: move it back to {} to undo",
            identity_dir.display(),
            retired.display(),
            identity_dir.display()
        )
    })?;
    // The old key signs nothing more: it goes (its public id stays, above).
    std::fs::remove_dir_all(&retired)
        .with_context(|| format!("the new key is in place, but the old one could not be removed from {}; remove it by hand", retired.display()))?;
    drop(node);
    println!("new node id {new}");
    println!("old node id {old} (kept in the store for reference; its key is removed)");
    if two_steps {
        // Opened again: the node now signs with the new key, which every
        // node's directory names for the root office already.
        let mut node = Node::open(dir)?;
        let ended = directory_file::end_entry(&mut node, &old, now).with_context(|| {
            format!(
                "the new key is in place, but the old key's directory entry was not ended; run: lienthong directory end --data {} --node {old}",
                dir.display()
            )
        })?;
        println!(
            "ended {ended} directory entr{} of the old key at {}, signed with the new key; published (the nodes apply it at their next session)",
            if ended == 1 { "y" } else { "ies" },
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        println!("Next steps:");
        println!(
            "  1. at each node that pins the province (its children): lienthong peer remove --node-id {old}, then lienthong peer add --role parent --office {office} --node-id {new}"
        );
        println!(
            "  2. start this node (lienthong run). What the old key signed before its end stays valid everywhere."
        );
        return Ok(());
    }
    println!("Next steps:");
    if at_province {
        // A network that names no node: each node trusts its pinned peers.
        println!(
            "  1. at each node that pins the province (its children): lienthong peer remove --node-id {old}, then lienthong peer add --role parent --office {office} --node-id {new}"
        );
    } else {
        println!(
            "  1. at the province: lienthong directory end --node {old} --at <when the old key stopped being trusted, default now>"
        );
        println!(
            "     and, if not added before (`--prepare`): lienthong directory add --node {new} --office {office}"
        );
        println!(
            "  2. at the parent and each child: lienthong peer remove --node-id {old}, then lienthong peer add … --office {office} --node-id {new}"
        );
    }
    println!(
        "  {}. start this node (lienthong run). Changes signed by the old key before its end stay valid everywhere.",
        if at_province { 2 } else { 3 }
    );
    Ok(())
}
