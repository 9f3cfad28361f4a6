//! `lienthong report`: the consolidated status per office.

use anyhow::Result;
use chrono::Utc;
use clap::{Args, ValueEnum};

use super::args::{DataArgs, parse_time};
use super::render;
use crate::node::Node;
use crate::report::{self, GroupBy, Report, ReportOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    /// The office that received each dossier (the locality).
    Origin,
    /// The office holding each dossier now.
    Holder,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Group by the receiving office (locality) or the current holder.
    #[arg(long, value_enum, default_value = "origin")]
    pub by: By,
    /// Judge "overdue" at this time instead of now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Only dossiers received from this time…
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// …and before this time.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Also list offices with no dossiers.
    #[arg(long)]
    pub all: bool,
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    #[arg(long)]
    pub csv: bool,
}

pub fn report(args: &ReportArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let tz = node.calendar.timezone();
    let time = |t: &Option<String>| t.as_ref().map(|t| parse_time(t, tz)).transpose();
    let options = ReportOptions {
        group_by: match args.by {
            By::Origin => GroupBy::Origin,
            By::Holder => GroupBy::Holder,
        },
        now: time(&args.now)?.unwrap_or_else(Utc::now),
        from: time(&args.from)?,
        to: time(&args.to)?,
    };
    let tree = node.network.offices.clone();
    let report = node
        .store
        .read(|r| report::build(r, &tree, &options, args.all))?;
    if args.json {
        return render::print_json(&report);
    }
    if args.csv {
        print!("{}", report::to_csv(&report));
        return Ok(());
    }
    print_table(&node, &report);
    Ok(())
}

/// The human table (also printed at the end of the demo).
pub fn print_table(node: &Node, report: &Report) {
    let tz = node.calendar.timezone();
    println!(
        "Dossiers by {} office, overdue judged at {}",
        match report.group_by {
            GroupBy::Origin => "receiving",
            GroupBy::Holder => "holding",
        },
        render::local(report.now, tz)
    );
    let mut table = render::table(&[
        "office",
        "received",
        "in progress",
        "supplement",
        "resolved",
        "returned",
        "refused/stopped",
        "overdue",
        "early",
        "on time",
        "late",
        "on time %",
    ]);
    let percent = |p: Option<f64>| p.map(|p| format!("{p}")).unwrap_or_else(|| "—".into());
    for row in &report.rows {
        let c = &row.counts;
        let label = format!(
            "{}{}{}",
            "  ".repeat(row.depth),
            if row.subtotal { "Σ " } else { "" },
            row.name
        );
        table.add_row(vec![
            label,
            c.received.to_string(),
            c.in_progress.to_string(),
            c.awaiting_supplement.to_string(),
            c.resolved.to_string(),
            c.returned.to_string(),
            format!("{}/{}", c.refused, c.stopped),
            c.overdue.to_string(),
            c.early.to_string(),
            c.on_time.to_string(),
            c.late.to_string(),
            percent(row.on_time_percent),
        ]);
    }
    let c = &report.total;
    table.add_row(vec![
        "Total".to_string(),
        c.received.to_string(),
        c.in_progress.to_string(),
        c.awaiting_supplement.to_string(),
        c.resolved.to_string(),
        c.returned.to_string(),
        format!("{}/{}", c.refused, c.stopped),
        c.overdue.to_string(),
        c.early.to_string(),
        c.on_time.to_string(),
        c.late.to_string(),
        percent(report.total_on_time_percent),
    ]);
    println!("{table}");
}
