//! `procedures` and `offices`: what a node knows of its catalogue and tree.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use lienthong_shared::catalogue::ProcessingTime;

use super::render;
use crate::node::Node;

#[derive(Debug, Args)]
pub struct ProceduresArgs {
    /// A node's data directory.
    #[arg(long, value_name = "DIR", env = "LIENTHONG_DATA")]
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OfficesArgs {
    /// A node's data directory.
    #[arg(
        long,
        value_name = "DIR",
        env = "LIENTHONG_DATA",
        conflicts_with = "network"
    )]
    pub data: Option<PathBuf>,
    /// A network file (or builtin:quang-nam-3tier, builtin:da-nang-2tier).
    #[arg(long, value_name = "FILE")]
    pub network: Option<String>,
}

pub fn procedures(args: &ProceduresArgs) -> Result<()> {
    let catalogue = match &args.data {
        Some(dir) => Node::open(dir)?.catalogue,
        None => lienthong_shared::builtin::catalogue(),
    };
    if args.json {
        let list: Vec<_> = catalogue
            .iter()
            .map(|p| {
                serde_json::json!({
                    "code": p.code, "name": p.name, "field": p.field, "level": p.level,
                    "processing": match p.processing {
                        ProcessingTime::WorkingDays(d) => format!("{d} working days"),
                        ProcessingTime::SameDay { cutoff } => format!("same day (cut-off {})", cutoff.format("%H:%M")),
                    },
                    "fee_vnd": p.fee_vnd, "result": p.result, "route_steps": p.route.len(),
                })
            })
            .collect();
        return render::print_json(&list);
    }
    println!("Catalogue {}", catalogue.version);
    let mut table = render::table(&["code", "procedure", "field", "time", "fee (VND)", "route"]);
    for p in catalogue.iter() {
        let time = match p.processing {
            ProcessingTime::WorkingDays(d) => format!("{d} days"),
            ProcessingTime::SameDay { cutoff } => format!("same day <{}", cutoff.format("%H:%M")),
        };
        table.add_row(vec![
            p.code.clone(),
            p.name.clone(),
            p.field.clone(),
            time,
            p.fee_vnd.to_string(),
            if p.route.is_empty() {
                "—".into()
            } else {
                format!("{} steps", p.route.len())
            },
        ]);
    }
    println!("{table}");
    Ok(())
}

pub fn offices(args: &OfficesArgs) -> Result<()> {
    let network = match (&args.data, &args.network) {
        (Some(dir), _) => Node::open(dir)?.network,
        (None, Some(name)) => {
            match lienthong_shared::builtin::network(name.trim_start_matches("builtin:")) {
                Some(network) if name.starts_with("builtin:") => network,
                _ => lienthong_shared::offices::NetworkConfig::load(std::path::Path::new(name))?,
            }
        }
        (None, None) => lienthong_shared::builtin::quang_nam_3tier(),
    };
    println!("{}", network.name);
    let tree = &network.offices;
    for office in tree.iter() {
        let depth = tree.depth(&office.id).unwrap_or(0);
        let served = if office.served_by != office.id {
            format!("  (served by {})", office.served_by)
        } else {
            String::new()
        };
        println!(
            "{}{}  {}  [{} {}]{served}",
            "  ".repeat(depth),
            office.id,
            office.name,
            office.level,
            office.agency_code
        );
    }
    Ok(())
}
