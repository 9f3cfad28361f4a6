//! `invite` (at the parent) and `init --join` (at the new node):
//! enrolment in one step (`enrol/`).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use lienthong_shared::OfficeId;

use super::args::DataArgs;
use super::init::{InitArgs, fence_reinstalled};
use crate::enrol::{self, InvitationCode};
use crate::node::Node;

#[derive(Debug, Args)]
pub struct InviteArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The office the new node will serve (a child of this node's office).
    #[arg(long, value_name = "OFFICE")]
    pub office: OfficeId,
    /// How long the code works: `30m`, `24h`, `7d`.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub expires: Duration,
    /// host:port at which the new node reaches this one; default: `listen`
    /// from node.toml (required when that is a wildcard like 0.0.0.0).
    #[arg(long, value_name = "HOST:PORT")]
    pub address: Option<String>,
}

/// `30m`, `24h`, `7d` (at most 30 days: an invitation is for now, not for later).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: use e.g. 30m, 24h or 7d");
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if seconds == 0 || seconds > 30 * 86_400 {
        return Err(format!(
            "`{text}`: an invitation lasts between 1 minute and 30 days"
        ));
    }
    Ok(Duration::from_secs(seconds))
}

pub fn invite(args: &InviteArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let address = match &args.address {
        Some(a) => a.clone(),
        None if node.config.listen.ip().is_unspecified() => bail!(
            "this node listens on {} (every interface): say which address the new node dials with --address HOST:PORT",
            node.config.listen
        ),
        None => node.config.listen.to_string(),
    };
    let now = chrono::Utc::now();
    let expires_at = now + chrono::Duration::from_std(args.expires)?;
    let code = enrol::invite(&mut node, &args.office, &address, now, expires_at)?;
    println!("{}", code.encode());
    eprintln!(
        "Invitation for {} — works once, until {} (UTC). On the new node run:\n  lienthong init --data DIR --join CODE\nThe daemon here must be running (lienthong run) and reachable at {address}.",
        args.office,
        expires_at.format("%d/%m/%Y %H:%M")
    );
    Ok(())
}

pub fn join(code: &str, args: &InitArgs) -> Result<()> {
    let code = InvitationCode::decode(code)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let joined = runtime.block_on(enrol::join(&code, &args.data, args.listen))?;
    let mut node = joined.node;
    if args.reinstall {
        fence_reinstalled(&mut node, chrono::Utc::now())?;
    }
    println!(
        "Joined: {} serves {}, pinned to its parent {} ({}) at {}",
        args.data.display(),
        node.office(),
        joined.parent_office,
        code.parent,
        code.address
    );
    println!("node id {}", node.node_id());
    println!(
        "Start it with: lienthong run --data {}",
        args.data.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_say_why() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert!(parse_duration("0h").unwrap_err().contains("between"));
        assert!(parse_duration("90d").unwrap_err().contains("between"));
        assert!(parse_duration("soon").unwrap_err().contains("30m, 24h"));
        assert!(parse_duration("5y").unwrap_err().contains("30m, 24h"));
    }
}
