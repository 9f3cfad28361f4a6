//! The consolidated report (Form 06's register, aggregated): per office,
//! how many dossiers were received, are in progress, wait for a
//! supplement, are resolved, returned, refused, stopped, overdue — and how
//! the finished ones fared against their deadlines (RULES D6).
//!
//! At the province, which holds every dossier of every locality, this is
//! the consolidated status across the province; at any other node it covers
//! what that node holds. Computed from the index in one grouped query (one
//! result row per office, whatever the number of dossiers); documents are
//! never loaded.
//!
//! The buckets add up: `received = in_progress + awaiting_supplement +
//! resolved + returned + refused + stopped`. Dossiers filed online or by
//! post and not yet checked at a desk (status 1) are counted apart, as
//! `submitted`. `early + on_time + late = finished` counts the finished
//! dossiers that had a due time (a dossier refused at intake has none).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::offices::OfficeTree;
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
    /// Only dossiers received (or refused at intake) in [from, to). With a
    /// period, dossiers not yet taken in at a desk (status 1) are left out:
    /// they have no receipt time.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub use crate::store::reports::Counts;

/// One line of the report: an office's own dossiers, or (`subtotal`) the
/// office and everything below it in the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub office: String,
    /// Vietnamese display name from the network file.
    pub name: String,
    /// Level label (`province`, `district`, `commune`, `agency`, …).
    pub level: String,
    pub parent: Option<String>,
    /// Office ids from the root down to this office (inclusive).
    pub path: Vec<String>,
    /// Depth in the office tree (0 = the root).
    pub depth: usize,
    /// A subtotal over the office and everything below it.
    pub subtotal: bool,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub group_by: GroupBy,
    pub now: DateTime<Utc>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub rows: Vec<ReportRow>,
    /// Every dossier in the report, once.
    pub total: Counts,
}

/// Counts per office id as stored in the index, in one grouped query.
pub fn counts_by_office(
    r: &Reader<'_>,
    options: &ReportOptions,
) -> Result<BTreeMap<String, Counts>, StoreError> {
    r.counts_by_office(
        options.group_by == GroupBy::Holder,
        options.now,
        options.from,
        options.to,
    )
}

/// Arrange per-office counts along the office tree, in the tree's order:
/// each office with dossiers below it gets a subtotal line over its subtree
/// (at any depth), followed by its own line if its own desk has dossiers,
/// then its children. A former office id (an alias, after a merger) counts
/// for the office that took it over. Ids the tree does not know come last,
/// at depth 0. Empty offices are left out unless `all`.
pub fn arrange(
    tree: &OfficeTree,
    by_office: &BTreeMap<String, Counts>,
    all: bool,
) -> (Vec<ReportRow>, Counts) {
    let mut total = Counts::default();
    let mut own: BTreeMap<&OfficeId, Counts> = BTreeMap::new();
    let mut subtree: BTreeMap<&OfficeId, Counts> = BTreeMap::new();
    let mut unknown: Vec<(&String, &Counts)> = Vec::new();
    for (id, counts) in by_office {
        total.add(counts);
        let office = id.parse::<OfficeId>().ok().and_then(|id| tree.resolve(&id));
        let Some(office) = office else {
            unknown.push((id, counts));
            continue;
        };
        own.entry(&office.id).or_default().add(counts);
        subtree.entry(&office.id).or_default().add(counts);
        for ancestor in tree.ancestors(&office.id) {
            subtree.entry(&ancestor.id).or_default().add(counts);
        }
    }
    let mut rows = Vec::new();
    for office in tree.iter() {
        let own = own.get(&office.id).copied().unwrap_or_default();
        let subtree = subtree.get(&office.id).copied().unwrap_or_default();
        let has_below = subtree != own;
        let mut path: Vec<String> = tree
            .ancestors(&office.id)
            .iter()
            .rev()
            .map(|o| o.id.to_string())
            .collect();
        path.push(office.id.to_string());
        let row = |counts: Counts, subtotal: bool| ReportRow {
            office: office.id.to_string(),
            name: office.name.clone(),
            level: office.level.clone(),
            parent: office.parent.as_ref().map(|p| p.to_string()),
            path: path.clone(),
            depth: path.len() - 1,
            subtotal,
            counts,
        };
        if has_below {
            rows.push(row(subtree, true));
        }
        if !own.is_empty() || (all && !has_below) {
            rows.push(row(own, false));
        }
    }
    for (office, counts) in unknown {
        rows.push(ReportRow {
            office: office.clone(),
            name: "(not in this node's office tree)".into(),
            level: String::new(),
            parent: None,
            path: vec![office.clone()],
            depth: 0,
            subtotal: false,
            counts: *counts,
        });
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
        from: options.from,
        to: options.to,
        rows,
        total,
    })
}

/// The CSV header (the column names are stable, as are the JSON fields).
pub const CSV_HEADER: &str = "office,name,level,parent,depth,subtotal,received,in_progress,awaiting_supplement,resolved,returned,refused,stopped,overdue,early,on_time,late,finished,on_time_percent,submitted";

/// The report as CSV (RFC 4180: CRLF line ends, fields with a comma, quote
/// or line break quoted, quotes doubled). The last line is the total, with
/// `total` in the office column.
pub fn to_csv(report: &Report) -> String {
    fn field(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }
    let line = |office: &str,
                name: &str,
                level: &str,
                parent: &str,
                depth: &str,
                subtotal: bool,
                c: &Counts| {
        let numbers = [
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
            c.finished(),
        ]
        .map(|n| n.to_string())
        .join(",");
        format!(
            "{},{},{},{},{},{},{},{},{}\r\n",
            field(office),
            field(name),
            field(level),
            field(parent),
            depth,
            subtotal,
            numbers,
            c.on_time_percent()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            c.submitted,
        )
    };
    let mut out = format!("{CSV_HEADER}\r\n");
    for row in &report.rows {
        out += &line(
            &row.office,
            &row.name,
            &row.level,
            row.parent.as_deref().unwrap_or(""),
            &row.depth.to_string(),
            row.subtotal,
            &row.counts,
        );
    }
    out += &line("total", "", "", "", "", true, &report.total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(received: u64) -> Counts {
        Counts {
            received,
            ..Counts::default()
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let report = Report {
            group_by: GroupBy::Origin,
            now: Utc::now(),
            from: None,
            to: None,
            rows: vec![ReportRow {
                office: "commune:a/b".into(),
                name: "Xã \"Điện\", Bàn\nmới".into(),
                level: "commune".into(),
                parent: Some("district:a".into()),
                path: vec!["district:a".into(), "commune:a/b".into()],
                depth: 1,
                subtotal: false,
                counts: Counts {
                    received: 3,
                    early: 1,
                    late: 1,
                    ..Counts::default()
                },
            }],
            total: Counts::default(),
        };
        let csv = to_csv(&report);
        assert!(csv.starts_with(&format!("{CSV_HEADER}\r\n")));
        assert!(csv.ends_with("\r\n"));
        let body = &csv[CSV_HEADER.len() + 2..];
        assert!(
            body.starts_with(
                "commune:a/b,\"Xã \"\"Điện\"\", Bàn\nmới\",commune,district:a,1,false,3,"
            ),
            "{body}"
        );
        let line = body.split("\r\n").next().unwrap();
        assert!(line.ends_with(",1,0,1,2,50,0"), "{line}");
        let total = body.split("\r\n").nth(1).unwrap();
        assert_eq!(total, "total,,,,,true,0,0,0,0,0,0,0,0,0,0,0,0,,0");
        assert_eq!(
            CSV_HEADER.split(',').count(),
            line.split(',').count() - 1,
            "one comma inside the quoted name"
        );
    }

    #[test]
    fn subtotals_follow_the_tree_at_any_depth() {
        let tree = lienthong_shared::builtin::quang_nam_3tier().offices;
        let mut by_office = BTreeMap::new();
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
        assert_eq!(find("district:dien-ban", false), None);
        assert_eq!(find("district:duy-xuyen", true), Some(4));
        assert_eq!(find("district:duy-xuyen", false), Some(1));
        assert_eq!(find("commune:dien-ban/dien-phuong", true), None);
        assert_eq!(find("commune:dien-ban/dien-minh", false), None);
        // Subtotal lines come before the lines they sum; communes sit one
        // level below their district.
        let position = |office: &str| rows.iter().position(|r| r.office == office).unwrap();
        assert!(position("province:quang-nam") < position("district:dien-ban"));
        assert!(position("district:dien-ban") < position("commune:dien-ban/dien-phuong"));
        let commune = &rows[position("commune:dien-ban/dien-phuong")];
        assert_eq!(commune.depth, 2);
        assert_eq!(commune.parent.as_deref(), Some("district:dien-ban"));
        assert_eq!(
            commune.path,
            [
                "province:quang-nam",
                "district:dien-ban",
                "commune:dien-ban/dien-phuong"
            ]
        );
    }

    #[test]
    fn two_tier_networks_subtotal_only_the_province() {
        let tree = lienthong_shared::builtin::da_nang_2tier().offices;
        let commune = tree
            .iter()
            .find(|o| o.level == "commune")
            .unwrap()
            .id
            .to_string();
        let by_office = BTreeMap::from([(commune.clone(), c(4))]);
        let (rows, total) = arrange(&tree, &by_office, false);
        assert_eq!(total.received, 4);
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert!(rows[0].subtotal && rows[0].depth == 0);
        assert_eq!(
            (rows[1].office.as_str(), rows[1].depth),
            (commune.as_str(), 1)
        );
    }

    #[test]
    fn all_lists_empty_offices_and_unknown_ids_come_last() {
        let tree = lienthong_shared::builtin::quang_nam_3tier().offices;
        let by_office = BTreeMap::from([
            ("commune:dien-ban/dien-phuong".to_string(), c(1)),
            ("commune:nowhere/none".to_string(), c(2)),
        ]);
        let (rows, total) = arrange(&tree, &by_office, false);
        assert_eq!(total.received, 3);
        let last = rows.last().unwrap();
        assert_eq!(
            (last.office.as_str(), last.counts.received),
            ("commune:nowhere/none", 2)
        );
        let (all_rows, _) = arrange(&tree, &by_office, true);
        assert!(all_rows.len() > rows.len());
        assert!(
            all_rows
                .iter()
                .any(|r| r.office == "commune:dien-ban/dien-minh"
                    && !r.subtotal
                    && r.counts.is_empty())
        );
        // Every office of the tree appears at least once.
        for office in tree.iter() {
            assert!(all_rows.iter().any(|r| r.office == office.id.as_str()));
        }
    }

    #[test]
    fn counts_serialise_with_finished_and_share() {
        let counts = Counts {
            received: 4,
            early: 1,
            on_time: 1,
            late: 1,
            ..Counts::default()
        };
        let json = serde_json::to_value(counts).unwrap();
        assert_eq!(json["finished"], 3);
        assert_eq!(json["on_time_percent"], 66.7);
        assert_eq!(
            serde_json::to_value(Counts::default()).unwrap()["on_time_percent"],
            serde_json::Value::Null
        );
    }
}
