//! `lienthong report`: the consolidated status per office.

use anyhow::Result;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::{Args, ValueEnum};

use super::args::{DataArgs, parse_time};
use super::render;
use crate::i18n::{Lang, Msg};
use crate::node::Node;
use crate::report::{self, Counts, GroupBy, Report, ReportOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    /// The office that received each dossier (the locality).
    Origin,
    /// The office holding each dossier now.
    Holder,
}

const ABOUT: &str = "Counts of received, in progress, awaiting \
supplement, resolved, returned, refused, stopped and overdue dossiers, and for finished dossiers \
early / on time / late (RULES D6) with the share on time ((early + on time) / finished).

At the province node this is the consolidated status of every locality; at any other node it \
covers the dossiers that node holds. Offices appear in the order of the network file, indented \
under their parent, with their Vietnamese names; an office with dossiers below it gets a subtotal \
line (Σ) over its whole subtree, at any depth. Offices with no dossiers are left out unless --all.

\"received\" counts every dossier taken in at a desk in the period, refused ones included: \
received = in progress + supplement + resolved + returned + refused + stopped. \"in progress\" is \
received, processing, awaiting payment or withdrawal requested; \"overdue\" is unfinished, clock \
running (not waiting for a supplement) and past its due time at --now. A dossier asked more than \
once for a supplement counts as late (D3). Computed from the index; documents are not loaded.";

const EXAMPLES: &str = "Examples:\n  lienthong report --data DIR\n  lienthong report --data DIR --from 2026-01-01 --to 2026-03-31 --csv > q1.csv\n  lienthong report --data DIR --by holder --now '2026-03-20 17:00' --json";

#[derive(Debug, Args)]
#[command(
    after_help = EXAMPLES,
    after_long_help = format!("{ABOUT}\n\n{EXAMPLES}")
)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Group by the receiving office (the locality) or the current holder.
    #[arg(long, value_enum, default_value = "origin")]
    pub by: By,
    /// Judge "overdue" at this time instead of now (local `YYYY-MM-DD HH:MM` or RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Only dossiers received on or after this date (or time).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Only dossiers received up to this date, inclusive (or before this time).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Also list offices with no dossiers.
    #[arg(long)]
    pub all: bool,
    /// Print JSON: one object per line of the report (counts flattened,
    /// with `office`, `name`, `path`, `depth`, `subtotal`), plus `total`.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV (RFC 4180, header line first, a `total` line last).
    #[arg(long)]
    pub csv: bool,
}

/// `--to`: a bare date includes that whole day; a time is the exclusive end.
fn period_end(text: &str, tz: Tz) -> Result<DateTime<Utc>> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(date) => {
            let next = date
                .checked_add_days(Days::new(1))
                .ok_or_else(|| anyhow::anyhow!("`{text}` is too far in the future"))?;
            parse_time(&next.format("%Y-%m-%d").to_string(), tz)
        }
        Err(_) => parse_time(text, tz),
    }
}

pub fn report(args: &ReportArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let tz = node.calendar.timezone();
    let options = ReportOptions {
        group_by: match args.by {
            By::Origin => GroupBy::Origin,
            By::Holder => GroupBy::Holder,
        },
        now: match &args.now {
            Some(text) => parse_time(text, tz)?,
            None => Utc::now(),
        },
        from: args
            .from
            .as_deref()
            .map(|t| parse_time(t, tz))
            .transpose()?,
        to: args.to.as_deref().map(|t| period_end(t, tz)).transpose()?,
    };
    if let (Some(from), Some(to)) = (options.from, options.to)
        && from >= to
    {
        anyhow::bail!("--from must be before --to");
    }
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

fn cells(label: String, c: &Counts) -> Vec<String> {
    let mut cells = vec![label];
    cells.extend(
        [
            c.received,
            c.in_progress,
            c.awaiting_supplement,
            c.resolved,
            c.returned,
            c.refused,
            c.stopped,
            c.overdue,
            c.early,
            c.on_time,
            c.late,
        ]
        .map(|n| n.to_string()),
    );
    cells.push(
        c.on_time_percent()
            .map(|p| format!("{p:.1}"))
            .unwrap_or_else(|| "—".into()),
    );
    cells
}

/// The human table (also printed at the end of the demo).
pub fn print_table(node: &Node, report: &Report) {
    let l = node.locale(Lang::from_env());
    let now = l.datetime(report.now);
    let office = l.office(node.office());
    let mut heading = l.f(
        match report.group_by {
            GroupBy::Origin => Msg::ReportByOrigin,
            GroupBy::Holder => Msg::ReportByHolder,
        },
        &[("office", &office), ("now", &now)],
    );
    match (report.from, report.to) {
        (None, None) => {}
        (from, to) => {
            heading += &l.f(
                Msg::ReportPeriod,
                &[
                    (
                        "from",
                        &from.map_or(l.t(Msg::ReportFromStart).into(), |t| l.datetime(t)),
                    ),
                    (
                        "to",
                        &to.map_or(l.t(Msg::ReportUntilNow).into(), |t| l.datetime(t)),
                    ),
                ],
            )
        }
    }
    println!("{heading}");
    let mut table = render::table(&[
        l.t(Msg::RepOffice),
        l.t(Msg::RepReceived),
        l.t(Msg::RepInProgress),
        l.t(Msg::RepSupplement),
        l.t(Msg::RepResolved),
        l.t(Msg::RepReturned),
        l.t(Msg::RepRefused),
        l.t(Msg::RepStopped),
        l.t(Msg::RepOverdue),
        l.t(Msg::RepEarly),
        l.t(Msg::RepOnTime),
        l.t(Msg::RepLate),
        l.t(Msg::RepOnTimePercent),
    ]);
    let mut previous: Option<&report::ReportRow> = None;
    for row in &report.rows {
        // An office's own line under its subtotal is one of the parts of
        // that subtotal, like its children: indented as they are.
        let own_under_subtotal =
            !row.subtotal && previous.is_some_and(|p| p.subtotal && p.office == row.office);
        let label = format!(
            "{}{}{}{}",
            "  ".repeat(row.depth + usize::from(own_under_subtotal)),
            if row.subtotal { "Σ " } else { "" },
            row.name,
            if own_under_subtotal {
                l.t(Msg::RepOwn)
            } else {
                ""
            }
        );
        table.add_row(cells(label, &row.counts));
        previous = Some(row);
    }
    table.add_row(cells(l.t(Msg::RepTotal).into(), &report.total));
    println!("{table}");
    println!("{}", l.t(Msg::RepLegend));
    if report.total.submitted > 0 {
        println!(
            "{}",
            l.f(
                Msg::RepSubmitted,
                &[("n", &report.total.submitted.to_string())]
            )
        );
    }
}
