//! The consolidated report (Form 06's register, aggregated): per office,
//! how many dossiers were received, are in progress, wait for a
//! supplement, are resolved, returned, refused, stopped, overdue — and how
//! the finished ones fared against their deadlines (RULES D6).
//!
//! At the province, which holds every dossier of every locality, this is
//! the consolidated status across the province. Computed from the index in
//! one query; documents are never loaded.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::Status;
use lienthong_shared::offices::OfficeTree;
use rusqlite::params;
use serde::Serialize;

use crate::store::{Reader, StoreError};

/// How dossiers are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The office that received the dossier (the locality).
    Origin,
    /// The office holding it now.
    Holder,
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub group_by: GroupBy,
    /// "Overdue" is judged at this moment.
    pub now: DateTime<Utc>,
    /// Only dossiers received in [from, to).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Counts for one office (or a subtree, or everything).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub received: u64,
    pub in_progress: u64,
    pub awaiting_supplement: u64,
    pub resolved: u64,
    pub returned: u64,
    pub refused: u64,
    pub stopped: u64,
    pub overdue: u64,
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.received += other.received;
        self.in_progress += other.in_progress;
        self.awaiting_supplement += other.awaiting_supplement;
        self.resolved += other.resolved;
        self.returned += other.returned;
        self.refused += other.refused;
        self.stopped += other.stopped;
        self.overdue += other.overdue;
        self.early += other.early;
        self.on_time += other.on_time;
        self.late += other.late;
    }

    pub fn finished(&self) -> u64 {
        self.early + self.on_time + self.late
    }

    /// Share of finished dossiers done on time or early, in percent.
    pub fn on_time_percent(&self) -> Option<f64> {
        let finished = self.finished();
        (finished > 0)
            .then(|| ((self.early + self.on_time) as f64 * 1000.0 / finished as f64).round() / 10.0)
    }

    pub fn is_empty(&self) -> bool {
        self.received == 0
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub office: String,
    pub name: String,
    /// Depth in the office tree (0 = the root).
    pub depth: usize,
    /// A subtotal over the office and everything below it.
    pub subtotal: bool,
    pub counts: Counts,
    pub on_time_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub group_by: GroupBy,
    pub now: DateTime<Utc>,
    pub rows: Vec<ReportRow>,
    pub total: Counts,
    pub total_on_time_percent: Option<f64>,
}

/// Counts per office id, straight from the index.
pub fn counts_by_office(
    r: &Reader<'_>,
    options: &ReportOptions,
) -> Result<BTreeMap<String, Counts>, StoreError> {
    let column = match options.group_by {
        GroupBy::Origin => "origin",
        GroupBy::Holder => "coalesce(holder, origin)",
    };
    let running = [
        Status::Received,
        Status::Processing,
        Status::AwaitingPayment,
        Status::WithdrawalRequested,
    ]
    .iter()
    .map(|s| s.code().to_string())
    .collect::<Vec<_>>()
    .join(",");
    let sql = format!(
        "SELECT {column},
            count(*),
            sum(status IN ({running}) AND ended_at IS NULL),
            sum(status = {supplement}),
            sum(status = {resolved}),
            sum(status = {returned}),
            sum(status = {refused}),
            sum(status = {stopped}),
            sum(ended_at IS NULL AND status IS NOT {supplement} AND due_at < ?1),
            sum(timeliness = 'early'),
            sum(timeliness = 'on_time'),
            sum(timeliness = 'late')
         FROM dossiers
         WHERE (?2 IS NULL OR received_at >= ?2) AND (?3 IS NULL OR received_at < ?3)
         GROUP BY 1",
        supplement = Status::AwaitingSupplement.code(),
        resolved = Status::Resolved.code(),
        returned = Status::Returned.code(),
        refused = Status::Refused.code(),
        stopped = Status::Stopped.code(),
    );
    let mut statement = r.conn().prepare(&sql)?;
    let rows = statement.query_map(
        params![
            options.now.timestamp_millis(),
            options.from.map(|t| t.timestamp_millis()),
            options.to.map(|t| t.timestamp_millis())
        ],
        |row| {
            let n = |i: usize| -> rusqlite::Result<u64> {
                Ok(row.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
            };
            Ok((
                row.get::<_, String>(0)?,
                Counts {
                    received: n(1)?,
                    in_progress: n(2)?,
                    awaiting_supplement: n(3)?,
                    resolved: n(4)?,
                    returned: n(5)?,
                    refused: n(6)?,
                    stopped: n(7)?,
                    overdue: n(8)?,
                    early: n(9)?,
                    on_time: n(10)?,
                    late: n(11)?,
                },
            ))
        },
    )?;
    let mut by_office = BTreeMap::new();
    for row in rows {
        let (office, counts) = row?;
        by_office.insert(office, counts);
    }
    Ok(by_office)
}

/// Arrange per-office counts along the office tree: each office with
/// dossiers below it gets a subtotal line over its subtree (at any depth),
/// then its own line if its own desk has dossiers. Offices the tree does not
/// know come last. Empty offices are left out unless `all`.
pub fn arrange(
    tree: &OfficeTree,
    by_office: &BTreeMap<String, Counts>,
    all: bool,
) -> (Vec<ReportRow>, Counts) {
    let mut rows = Vec::new();
    let mut total = Counts::default();
    for counts in by_office.values() {
        total.add(counts);
    }
    let own = |id: &OfficeId| by_office.get(id.as_str()).copied().unwrap_or_default();
    for office in tree.iter() {
        let depth = tree.depth(&office.id).unwrap_or(0);
        let descendants = tree.descendants(&office.id);
        let mut subtree = own(&office.id);
        for d in &descendants {
            subtree.add(&own(&d.id));
        }
        let below: u64 = subtree.received - own(&office.id).received;
        let row = |counts: Counts, subtotal: bool| ReportRow {
            office: office.id.to_string(),
            name: office.name.clone(),
            depth,
            subtotal,
            on_time_percent: counts.on_time_percent(),
            counts,
        };
        if below > 0 {
            rows.push(row(subtree, true));
        }
        if !own(&office.id).is_empty() || (all && below == 0) {
            rows.push(row(own(&office.id), false));
        }
    }
    for (office, counts) in by_office {
        let known = office
            .parse::<OfficeId>()
            .ok()
            .is_some_and(|id| tree.get(&id).is_some());
        if !known {
            rows.push(ReportRow {
                office: office.clone(),
                name: "(not in this node's office tree)".into(),
                depth: 0,
                subtotal: false,
                counts: *counts,
                on_time_percent: counts.on_time_percent(),
            });
        }
    }
    (rows, total)
}

/// The whole report.
pub fn build(
    r: &Reader<'_>,
    tree: &OfficeTree,
    options: &ReportOptions,
    all: bool,
) -> Result<Report, StoreError> {
    let by_office = counts_by_office(r, options)?;
    let (rows, total) = arrange(tree, &by_office, all);
    Ok(Report {
        group_by: options.group_by,
        now: options.now,
        rows,
        total_on_time_percent: total.on_time_percent(),
        total,
    })
}

/// The report as CSV (RFC 4180).
pub fn to_csv(report: &Report) -> String {
    fn field(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }
    let mut out = String::from(
        "office,name,subtotal,received,in_progress,awaiting_supplement,resolved,returned,refused,stopped,overdue,early,on_time,late,on_time_percent\r\n",
    );
    let line = |office: &str, name: &str, subtotal: bool, c: &Counts| {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            field(office),
            field(name),
            subtotal,
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
            c.on_time_percent()
                .map(|p| p.to_string())
                .unwrap_or_default()
        )
    };
    for row in &report.rows {
        out += &line(&row.office, &row.name, row.subtotal, &row.counts);
    }
    out += &line("total", "", true, &report.total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let report = Report {
            group_by: GroupBy::Origin,
            now: Utc::now(),
            rows: vec![ReportRow {
                office: "commune:a/b".into(),
                name: "Xã \"Điện\", Bàn".into(),
                depth: 2,
                subtotal: false,
                counts: Counts {
                    received: 3,
                    early: 1,
                    late: 1,
                    ..Counts::default()
                },
                on_time_percent: Some(50.0),
            }],
            total: Counts::default(),
            total_on_time_percent: None,
        };
        let csv = to_csv(&report);
        let line = csv.lines().nth(1).unwrap();
        assert!(
            line.starts_with("commune:a/b,\"Xã \"\"Điện\"\", Bàn\",false,3,"),
            "{line}"
        );
        assert!(line.ends_with(",50"), "{line}");
    }

    #[test]
    fn subtotals_follow_the_tree_at_any_depth() {
        let tree = lienthong_shared::builtin::quang_nam_3tier().offices;
        let mut by_office = BTreeMap::new();
        let c = |n| Counts {
            received: n,
            ..Counts::default()
        };
        by_office.insert("commune:dien-ban/dien-phuong".to_string(), c(2));
        by_office.insert("commune:duy-xuyen/duy-son".to_string(), c(3));
        by_office.insert("district:duy-xuyen".to_string(), c(1));
        let (rows, total) = arrange(&tree, &by_office, false);
        assert_eq!(total.received, 6);
        let find = |office: &str, subtotal: bool| {
            rows.iter()
                .find(|r| r.office == office && r.subtotal == subtotal)
                .map(|r| r.counts.received)
        };
        assert_eq!(find("province:quang-nam", true), Some(6));
        assert_eq!(find("province:quang-nam", false), None);
        assert_eq!(find("district:dien-ban", true), Some(2));
        assert_eq!(find("district:duy-xuyen", true), Some(4));
        assert_eq!(find("district:duy-xuyen", false), Some(1));
        assert_eq!(find("commune:dien-ban/dien-minh", false), None);
        // Subtotal lines come before the lines they sum.
        let province = rows
            .iter()
            .position(|r| r.office == "province:quang-nam")
            .unwrap();
        let commune = rows
            .iter()
            .position(|r| r.office == "commune:dien-ban/dien-phuong")
            .unwrap();
        assert!(province < commune);
    }
}
