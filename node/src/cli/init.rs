//! `init`, `id` and `peer`: setting a node up.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use lienthong_shared::{OfficeId, builtin};
use lienthong_sync::transport::identity::NodeId;

use super::args::DataArgs;
use crate::config::{PeerConfig, PeerRole};
use crate::node::{InitSources, Node};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The data directory to create (must not hold a node yet).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The office this node serves (an id from the network file).
    #[arg(
        long,
        value_name = "OFFICE",
        required_unless_present = "join",
        conflicts_with = "join"
    )]
    pub office: Option<OfficeId>,
    /// The network file (office tree, calendar, rule sets); `builtin:quang-nam-3tier`
    /// and `builtin:da-nang-2tier` name the shipped examples.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "join",
        conflicts_with = "join"
    )]
    pub network: Option<String>,
    /// The procedure catalogue; default: the shipped one.
    #[arg(long, value_name = "FILE", conflicts_with = "join")]
    pub catalogue: Option<PathBuf>,
    /// Join a network with an invitation code from the parent's
    /// `lienthong invite`: the office, network and catalogue come from the
    /// parent, and both nodes pin each other.
    #[arg(long, value_name = "CODE")]
    pub join: Option<String>,
    /// Address to listen on for peers.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// This office had a node before (lost, replaced): until the new node
    /// is in sync with its parent, its dossier codes for today and earlier
    /// come from the recovery range, so none repeats one the old node issued.
    #[arg(long)]
    pub reinstall: bool,
}

/// Fence the dossier codes of a node reinstalled for an office that had one
/// (`store/codes.rs`): through the local day of `now`, until it is in sync
/// with its parent.
pub fn fence_reinstalled(node: &mut Node, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let through = node.calendar.local_date(now);
    node.store.write(|w| {
        w.set_code_fence(&crate::store::codes::CodeFence {
            through,
            reason: "reinstalled".into(),
        })
    })?;
    Ok(())
}

fn read_source(name: &str) -> Result<(String, PathBuf)> {
    match name {
        "builtin:quang-nam-3tier" => {
            Ok((builtin::QUANG_NAM_3TIER.to_string(), PathBuf::from(name)))
        }
        "builtin:da-nang-2tier" => Ok((builtin::DA_NANG_2TIER.to_string(), PathBuf::from(name))),
        path => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the network file {path}"))?;
            Ok((text, PathBuf::from(path)))
        }
    }
}

pub fn init(args: &InitArgs) -> Result<()> {
    if let Some(code) = &args.join {
        return super::invite::join(code, args);
    }
    let (Some(office), Some(network)) = (&args.office, &args.network) else {
        bail!("give --office and --network, or --join CODE");
    };
    let (network, network_name) = read_source(network)?;
    let (catalogue, catalogue_name) = match &args.catalogue {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the catalogue {}", path.display()))?,
            path.clone(),
        ),
        None => (
            builtin::CATALOGUE.to_string(),
            PathBuf::from("builtin:catalogue"),
        ),
    };
    let mut node = Node::init(
        &args.data,
        office,
        InitSources {
            network: (&network, &network_name),
            catalogue: (&catalogue, &catalogue_name),
        },
    )?;
    if let Some(listen) = args.listen {
        node.config.listen = listen;
        node.config.save(&node.dir.config_file())?;
    }
    if args.reinstall {
        fence_reinstalled(&mut node, chrono::Utc::now())?;
        println!(
            "Reinstalled: until this node is in sync with its parent, dossier codes for today and earlier come from the recovery range (…-9001 upward)."
        );
    }
    let office = node
        .network
        .offices
        .get(node.office())
        .map(|o| o.name.clone())
        .unwrap_or_default();
    println!(
        "Initialised {} for {} ({office})",
        args.data.display(),
        node.office()
    );
    println!("node id {}", node.node_id());
    println!("Give this id to the operators of the peers that must accept this node.");
    Ok(())
}

pub fn id(args: &DataArgs) -> Result<()> {
    let node = Node::open(&args.data)?;
    println!("{}", node.node_id());
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Pin a peer: this node will accept it (and dial it if it has an address).
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_parser = parse_role, value_name = "parent|child|extra")]
        role: PeerRole,
        /// The office the peer's node serves.
        #[arg(long, value_name = "OFFICE")]
        office: OfficeId,
        /// The peer's node id (`lienthong id --data DIR` on the peer).
        #[arg(long, value_name = "ID")]
        node_id: NodeId,
        /// host:port to dial (parent and extra peers).
        #[arg(long, value_name = "HOST:PORT")]
        address: Option<String>,
    },
    /// Unpin a peer.
    Remove {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_name = "ID")]
        node_id: NodeId,
    },
    /// List pinned peers.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

fn parse_role(s: &str) -> Result<PeerRole, String> {
    match s {
        "parent" => Ok(PeerRole::Parent),
        "child" => Ok(PeerRole::Child),
        "extra" => Ok(PeerRole::Extra),
        _ => Err(format!("`{s}` is not a role: use parent, child or extra")),
    }
}

pub fn peer(command: &PeerCommand) -> Result<()> {
    match command {
        PeerCommand::Add {
            data,
            role,
            office,
            node_id,
            address,
        } => {
            let mut node = Node::open(&data.data)?;
            if node.network.offices.get(office).is_none() {
                bail!("office {office} is not in this node's network file");
            }
            if *node_id == node.node_id() {
                bail!("{node_id} is this node's own id");
            }
            if node.config.peer(node_id).is_some() {
                bail!("{node_id} is already pinned; remove it first to change it");
            }
            if *role == PeerRole::Parent
                && node.config.peers.iter().any(|p| p.role == PeerRole::Parent)
            {
                bail!("this node already has a parent; add the other as an `extra` peer");
            }
            if let Some(address) = address {
                use std::net::ToSocketAddrs;
                address.to_socket_addrs().with_context(|| {
                    format!("`{address}` is not a host:port this machine can resolve")
                })?;
            }
            node.config.peers.push(PeerConfig {
                role: *role,
                office: office.clone(),
                node_id: *node_id,
                address: address.clone(),
            });
            node.config.save(&node.dir.config_file())?;
            println!("pinned {role} {office} ({node_id})");
        }
        PeerCommand::Remove { data, node_id } => {
            let mut node = Node::open(&data.data)?;
            let before = node.config.peers.len();
            node.config.peers.retain(|p| &p.node_id != node_id);
            if node.config.peers.len() == before {
                bail!("{node_id} is not pinned on this node");
            }
            node.config.save(&node.dir.config_file())?;
            println!("unpinned {node_id}");
        }
        PeerCommand::List { data } => {
            let node = Node::open(&data.data)?;
            for p in &node.config.peers {
                println!(
                    "{:<6} {:<40} {} {}",
                    p.role.to_string(),
                    p.office.to_string(),
                    p.node_id,
                    p.address.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}
