//! The province's dashboard (every node has one; the province's covers
//! every locality): the consolidated report ([`crate::report`]) as a tree
//! of localities with subtotals, timeliness by D6, the overdue dossiers,
//! how fresh each locality's data is, charts drawn here as SVG, a period
//! filter, and the same numbers as CSV (`/dashboard.csv`).
//!
//! - [`tree`]: nesting the report's lines into `<details>` branches.
//! - [`svg`]: the charts.
//! - [`messages`]: the words (also the JSON API's errors).

pub mod messages;
pub mod svg;
pub mod tree;

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use lienthong_shared::OfficeId;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Officer;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::node::Node;
use crate::report::{self, GroupBy, Report, ReportOptions};
use crate::store::index::IndexRow;
use crate::store::reports::WeekCounts;
use messages::DashMsg;

/// How many weeks the weekly chart covers.
pub const WEEKS: u32 = 12;
/// How many overdue dossiers the page lists (the count covers them all).
pub const OVERDUE_SHOWN: usize = 100;

/// The period filter, as the form sends it (`YYYY-MM-DD`, local days,
/// both ends included).
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// A period in local days, both ends included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Period {
    /// Read the form's dates; a date that does not parse, or a start after
    /// the end, is refused with what to type instead.
    pub fn parse(query: &PeriodQuery) -> Result<Period, ConsoleError> {
        let day = |text: &Option<String>| -> Result<Option<NaiveDate>, ConsoleError> {
            match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        ConsoleError::refused(
                            StatusCode::BAD_REQUEST,
                            DashMsg::BadDate,
                            &[("value", t)],
                        )
                    }),
            }
        };
        let period = Period {
            from: day(&query.from)?,
            to: day(&query.to)?,
        };
        if let (Some(from), Some(to)) = (period.from, period.to)
            && from > to
        {
            return Err(ConsoleError::refused(
                StatusCode::BAD_REQUEST,
                DashMsg::BadPeriod,
                &[("from", &from.to_string()), ("to", &to.to_string())],
            ));
        }
        Ok(period)
    }

    /// The period as report options: [from 00:00, the day after `to` 00:00) local.
    pub fn options(&self, tz: Tz, now: DateTime<Utc>) -> ReportOptions {
        let midnight = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        ReportOptions {
            group_by: GroupBy::Origin,
            now,
            from: self.from.and_then(midnight),
            to: self.to.and_then(|d| d.succ_opt()).and_then(midnight),
        }
    }
}

/// Everything the dashboard shows, read in one go under the node's lock.
pub struct Dashboard {
    pub report: Report,
    /// Overdue now, in the period, most late first (at most [`OVERDUE_SHOWN`]).
    pub overdue: Vec<IndexRow>,
    /// When the last change arrived from a peer, per office and per subtree.
    pub fresh_own: BTreeMap<String, DateTime<Utc>>,
    pub fresh_subtree: BTreeMap<String, DateTime<Utc>>,
    /// The first day of each charted week, with its counts.
    pub weeks: Vec<(DateTime<Utc>, WeekCounts)>,
}

/// Read the dashboard's numbers: the same `report::build` the CLI's
/// `report` prints, so page, CSV and CLI agree.
pub fn gather(
    node: &mut Node,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Dashboard, ConsoleError> {
    let tz = node.calendar.timezone();
    let options = period.options(tz, now);
    let tree = &node.network.offices;
    let week_start = first_week(tz, now);
    let (report, overdue, arrivals, weeks) = node.store.read(|r| {
        let report = report::build(r, tree, &options, false)?;
        let overdue = r.overdue_in(now, options.from, options.to, OVERDUE_SHOWN)?;
        let arrivals = r.arrivals_by_origin()?;
        let weeks = r.weekly_counts(week_start, WEEKS)?;
        Ok::<_, crate::store::StoreError>((report, overdue, arrivals, weeks))
    })?;
    let mut fresh_own: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut fresh_subtree: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for (origin, at) in arrivals {
        let office = origin
            .parse::<OfficeId>()
            .ok()
            .and_then(|id| tree.resolve(&id));
        let Some(office) = office else {
            fresh_own.insert(origin, at);
            continue;
        };
        let bump = |map: &mut BTreeMap<String, DateTime<Utc>>, id: String| {
            let slot = map.entry(id).or_insert(at);
            *slot = (*slot).max(at);
        };
        bump(&mut fresh_own, office.id.to_string());
        bump(&mut fresh_subtree, office.id.to_string());
        for ancestor in tree.ancestors(&office.id) {
            bump(&mut fresh_subtree, ancestor.id.to_string());
        }
    }
    let weeks = weeks
        .into_iter()
        .enumerate()
        .map(|(i, counts)| (week_start + Duration::weeks(i as i64), counts))
        .collect();
    Ok(Dashboard {
        report,
        overdue,
        fresh_own,
        fresh_subtree,
        weeks,
    })
}

/// Monday 00:00 local, [`WEEKS`] − 1 weeks before this week's Monday.
pub fn first_week(tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = monday - Duration::weeks(i64::from(WEEKS) - 1);
    tz.from_local_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// `GET /dashboard`.
pub async fn page(
    State(state): State<AppState>,
    officer: Officer,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ConsoleError> {
    let period = Period::parse(&query)?;
    let now = state.now();
    let markup = state
        .run(move |node| {
            let data = gather(node, period, now)?;
            let ui = Ui::new(node, officer.lang);
            let body = render(&ui, node, &data, period, &query);
            Ok(page::shell(
                &ui,
                node,
                Some(&officer),
                ui.s(DashMsg::Title),
                body,
            ))
        })
        .await?;
    Ok(page::ok(markup))
}

/// `GET /dashboard.csv`: the same report as the page, as CSV.
pub async fn csv(
    State(state): State<AppState>,
    _officer: Officer,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ConsoleError> {
    let period = Period::parse(&query)?;
    let now = state.now();
    let (text, name) = state
        .run(move |node| {
            let tz = node.calendar.timezone();
            let tree = &node.network.offices;
            let options = period.options(tz, now);
            let text = node
                .store
                .read(|r| report::build(r, tree, &options, false))
                .map(|report| report::to_csv(&report))?;
            let name = format!(
                "attachment; filename=\"bao-cao-{}.csv\"",
                now.with_timezone(&tz).format("%Y%m%d")
            );
            Ok((text, name))
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        text,
    )
        .into_response())
}

const STYLE: &str = r#"
.dash .line { display: grid; grid-template-columns: minmax(14rem, 2.4fr) repeat(12, minmax(3.4rem, 1fr)) minmax(8rem, 1.3fr); gap: .25rem; padding: .25rem .4rem; border-bottom: 1px solid var(--line); background: #fff; align-items: baseline; }
.dash .line.head { background: #eef1f4; font-weight: 600; font-size: .85em; position: sticky; top: 0; }
.dash .line .num { text-align: right; font-variant-numeric: tabular-nums; }
.dash .line .fresh { font-size: .85em; color: var(--muted); }
.dash details > summary { list-style: none; cursor: pointer; }
.dash details > summary::-webkit-details-marker { display: none; }
.dash details > summary .name::before { content: "▸ "; }
.dash details[open] > summary .name::before { content: "▾ "; }
.dash .children { border-left: 3px solid var(--line); }
.dash .line.total { font-weight: 700; background: #f3f6f9; }
.dash .charts { display: flex; flex-wrap: wrap; gap: 1.5rem; margin: 1rem 0; }
.dash .charts figure { margin: 0; background: #fff; border: 1px solid var(--line); padding: .5rem; overflow-x: auto; }
.dash form.period { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: .75rem; }
.dash form.period label { margin: 0; }
"#;

fn render(
    ui: &Ui<'_>,
    node: &Node,
    data: &Dashboard,
    period: Period,
    query: &PeriodQuery,
) -> Markup {
    let roots = tree::nest(&data.report.rows);
    let served = node.served_ids();
    let here = |office: &str| served.iter().any(|s| s.as_str() == office);
    let fresh = tree::Freshness {
        own: &data.fresh_own,
        subtree: &data.fresh_subtree,
        here: &here,
    };
    let csv_link = format!(
        "/dashboard.csv?{}",
        serde_urlencoded::to_string([
            ("from", query.from.as_deref().unwrap_or("")),
            ("to", query.to.as_deref().unwrap_or("")),
        ])
        .unwrap_or_default()
    );
    let period_words = match (period.from, period.to) {
        (None, None) => ui.t(DashMsg::PeriodAll),
        (from, to) => {
            let day = |d: Option<NaiveDate>| {
                d.map_or("…".to_string(), |d| d.format("%d/%m/%Y").to_string())
            };
            ui.f(
                DashMsg::PeriodShown,
                &[("from", &day(from)), ("to", &day(to))],
            )
        }
    };
    html! {
        style { (maud::PreEscaped(STYLE)) }
        section.dash {
            h1 { (ui.t(DashMsg::Title)) }
            p { (ui.f(DashMsg::Scope, &[("now", &ui.l.datetime(data.report.now))])) }
            form.period method="get" action="/dashboard" {
                label { (ui.t(DashMsg::PeriodFrom)) input type="date" name="from" value=(query.from.as_deref().unwrap_or("")); }
                label { (ui.t(DashMsg::PeriodTo)) input type="date" name="to" value=(query.to.as_deref().unwrap_or("")); }
                button type="submit" { (ui.s(DashMsg::PeriodApply)) }
                a.button.secondary href="/dashboard" { (ui.s(DashMsg::PeriodClear)) }
                a.button.secondary href=(csv_link) { (ui.s(DashMsg::ExportCsv)) }
            }
            p.period { (period_words) }
            div.tree role="table" {
                (tree::head(ui))
                @for b in &roots {
                    (tree::branch(ui, b, &fresh))
                }
                div.line.total data-office="total" {
                    span.name { (ui.t(DashMsg::Total)) }
                    (tree::numbers(ui, &data.report.total))
                    span.fresh {}
                }
            }
            p.other { (ui.t(DashMsg::Timeliness)) }
            div.charts {
                figure { (charts_by_locality(ui, &data.report)) }
                figure { (chart_by_week(ui, &data.weeks)) }
            }
            (overdue(ui, data))
        }
    }
}

/// One bar group per locality: the root's children (their subtotal, or
/// their own line when nothing lies below them).
fn charts_by_locality(ui: &Ui<'_>, report: &Report) -> Markup {
    let mut groups: Vec<svg::Pair> = Vec::new();
    for row in report
        .rows
        .iter()
        .filter(|r| r.depth == 1 && !r.level.is_empty())
    {
        if groups
            .last()
            .is_some_and(|g: &svg::Pair| g.label == row.name)
        {
            continue; // the own line after a subtotal
        }
        groups.push(svg::Pair {
            label: row.name.clone(),
            received: row.counts.received,
            finished: row.counts.finished(),
        });
    }
    if groups.is_empty() {
        return html! { figcaption { (ui.t(DashMsg::ChartLocalities)) } p { (ui.t(DashMsg::ChartEmpty)) } };
    }
    let words = svg::Words {
        title: ui.s(DashMsg::ChartLocalities),
        received: ui.s(DashMsg::LegendReceived),
        finished: ui.s(DashMsg::LegendFinished),
    };
    html! {
        figcaption { (ui.t(DashMsg::ChartLocalities)) }
        (page::raw(svg::horizontal(&groups, &words)))
    }
}

fn chart_by_week(ui: &Ui<'_>, weeks: &[(DateTime<Utc>, WeekCounts)]) -> Markup {
    let groups: Vec<svg::Pair> = weeks
        .iter()
        .map(|(start, c)| svg::Pair {
            label: start.with_timezone(&ui.l.tz).format("%d/%m").to_string(),
            received: c.received,
            finished: c.finished,
        })
        .collect();
    let words = svg::Words {
        title: ui.s(DashMsg::ChartWeeks),
        received: ui.s(DashMsg::LegendReceived),
        finished: ui.s(DashMsg::LegendFinished),
    };
    html! {
        figcaption { (ui.t(DashMsg::ChartWeeks)) }
        (page::raw(svg::vertical(&groups, &words)))
    }
}

fn late_by(ui: &Ui<'_>, due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let late = now - due;
    ui.l.f(
        DashMsg::LateBy,
        &[
            ("days", &late.num_days().to_string()),
            ("hours", &(late.num_hours() % 24).to_string()),
        ],
    )
}

fn overdue(ui: &Ui<'_>, data: &Dashboard) -> Markup {
    let now = data.report.now;
    let total = data.report.total.overdue;
    html! {
        section.overdue-list {
            h2 { (ui.t(DashMsg::OverdueTitle)) }
            @if data.overdue.is_empty() {
                p { (ui.t(DashMsg::OverdueNone)) }
            } @else {
                p { (ui.f(DashMsg::OverdueShown, &[("shown", &data.overdue.len().to_string()), ("total", &total.to_string())])) }
                table.late-list {
                    thead { tr {
                        th { (ui.t(DashMsg::ColCode)) }
                        th { (ui.t(DashMsg::ColProcedure)) }
                        th { (ui.t(DashMsg::ColOrigin)) }
                        th { (ui.t(DashMsg::ColHolder)) }
                        th { (ui.t(DashMsg::ColDue)) }
                        th.num { (ui.t(DashMsg::ColLateBy)) }
                    } }
                    tbody {
                        @for row in &data.overdue {
                            tr data-code=(row.code) {
                                td { a href={ "/dossiers/" (row.code) } { (row.code) } }
                                td { (row.procedure_name) }
                                td { (ui.l.office_str(&row.origin)) }
                                td { (row.holder.as_deref().map_or_else(|| "—".to_string(), |h| ui.l.office_str(h))) }
                                td { (ui.l.datetime_opt(row.due_at)) }
                                td.num.overdue { (row.due_at.map_or_else(String::new, |due| late_by(ui, due, now))) }
                            }
                        }
                    }
                }
            }
        }
    }
}
