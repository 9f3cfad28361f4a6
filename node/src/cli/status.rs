//! `lienthong status`: this node and each peer link.

use anyhow::Result;
use chrono::Utc;
use clap::Args;

use super::args::DataArgs;
use super::render;
use crate::i18n::{Lang, Locale};
use crate::node::Node;
use crate::service::status::{PeerStatus, human_bytes, node_status};
use crate::store::quarantine::Quarantined;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn status(args: &StatusArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let status = node_status(&mut node, Utc::now())?;
    if args.json {
        return render::print_json(&status);
    }
    let l = node.locale(Lang::from_env());
    println!("Node    {}", status.node_id);
    println!("Office  {} ({})", status.office, status.office_name);
    println!(
        "Daemon  {}",
        if status.daemon_running {
            format!(
                "running (pid {}), listening on {}",
                status.daemon_pid.unwrap_or(0),
                status.listen
            )
        } else {
            "not running (start it with `lienthong run --data DIR`)".into()
        }
    );
    println!(
        "Store   {} dossiers, feed at {}",
        status.dossiers, status.feed_seq
    );
    println!(
        "Disk    {} free, floor {}{}",
        status.disk.free_bytes.map_or("?".into(), human_bytes),
        human_bytes(status.disk.floor_bytes),
        if status.disk.under_floor {
            " — UNDER THE FLOOR: nothing is accepted from peers until space is freed"
        } else {
            ""
        }
    );
    print_quarantine(&status.quarantined, &l);
    if status.peers.is_empty() {
        println!("Peers   none pinned (`lienthong peer add` pins one)");
        return Ok(());
    }
    let mut table = render::table(&[
        "peer",
        "role",
        "link",
        "last sync",
        "to send",
        "to receive",
        "attachments out/in",
        "last error",
    ]);
    for p in &status.peers {
        table.add_row(vec![
            format!("{}\n{}", p.office, &p.node_id[..p.node_id.len().min(13)]),
            p.role.clone(),
            if p.connected {
                "connected".into()
            } else {
                "down".into()
            },
            l.datetime_opt(p.last_success),
            p.waiting_to_send.to_string(),
            p.waiting_to_receive.to_string(),
            format!(
                "{} / {}",
                human_bytes(p.attachment_bytes_to_send),
                human_bytes(p.attachment_bytes_to_receive)
            ),
            match (&p.last_error, p.last_error_at) {
                (Some(e), Some(at)) => format!("{} {e}", l.datetime(at)),
                (Some(e), None) => e.clone(),
                _ => String::new(),
            },
        ]);
    }
    println!("{table}");
    for p in &status.peers {
        print_peer_limits(p, &l);
    }
    for t in &status.transfers {
        println!(
            "Receiving attachment {}…: {} of {} ({}%)",
            t.attachment.chars().take(12).collect::<String>(),
            human_bytes(t.received_bytes),
            human_bytes(t.size),
            t.percent
        );
    }
    Ok(())
}

fn print_quarantine(list: &[Quarantined], l: &Locale) {
    if list.is_empty() {
        return;
    }
    println!(
        "Quarantined {} document(s): kept as they are, not sent to peers (`lienthong show` explains)",
        list.len()
    );
    for q in list {
        println!(
            "  {} {} since {}: {}",
            q.code.as_deref().unwrap_or("(no code)"),
            q.id,
            l.datetime(q.since),
            q.problem
        );
    }
}

/// Refusals and limits of one peer, when there is anything to say.
fn print_peer_limits(p: &PeerStatus, l: &Locale) {
    if p.refused > 0 {
        println!(
            "{}: {} document(s) refused{}",
            p.office,
            p.refused,
            match (&p.last_refusal, p.last_refusal_at) {
                (Some(reason), Some(at)) => format!(", last {}: {reason}", l.datetime(at)),
                (Some(reason), None) => format!(", last: {reason}"),
                _ => String::new(),
            }
        );
    }
    if let Some(limit) = &p.limit {
        let state = match (limit.lifted_at, limit.until) {
            (Some(lifted), _) => format!("lifted {}", l.datetime(lifted)),
            (None, Some(until)) => format!("in force until {}", l.datetime(until)),
            (None, None) if limit.kind == crate::store::limits::LimitKind::Directory => {
                "in force until the province's node directory changes".into()
            }
            (None, None) => "in force until disk space is freed".into(),
        };
        println!(
            "{}: limit {} hit since {} ({state}); today {} new documents, {}",
            p.office,
            limit.kind.as_str(),
            l.datetime(limit.since),
            p.today.documents,
            human_bytes(p.today.bytes)
        );
    }
}
