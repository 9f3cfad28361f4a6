//! The consolidated report as a tree of localities: each office with
//! dossiers below it is a collapsible `<details>` whose summary carries its
//! subtotal; its own desk's line and its children sit inside.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::messages::DashMsg;
use crate::console::page::Ui;
use crate::report::{Counts, ReportRow};

/// One office in the tree: its subtotal line (if anything lies below it),
/// its own line (if its own desk has dossiers), its children.
#[derive(Debug)]
pub struct Branch<'a> {
    pub subtotal: Option<&'a ReportRow>,
    pub own: Option<&'a ReportRow>,
    pub children: Vec<Branch<'a>>,
}

impl<'a> Branch<'a> {
    fn first(&self) -> &'a ReportRow {
        self.subtotal.or(self.own).expect("a branch has a line")
    }
}

/// Nest the report's lines (in the tree's order, with depths) into branches.
pub fn nest(rows: &[ReportRow]) -> Vec<Branch<'_>> {
    let mut roots: Vec<Branch<'_>> = Vec::new();
    let mut stack: Vec<Branch<'_>> = Vec::new();
    fn close<'a>(stack: &mut Vec<Branch<'a>>, roots: &mut Vec<Branch<'a>>) {
        let done = stack.pop().expect("something to close");
        match stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => roots.push(done),
        }
    }
    for row in rows {
        // The own line right after the same office's subtotal.
        if !row.subtotal
            && let Some(top) = stack.last_mut()
            && top.first().office == row.office
            && top.own.is_none()
        {
            top.own = Some(row);
            continue;
        }
        while stack
            .last()
            .is_some_and(|top| top.first().depth >= row.depth)
        {
            close(&mut stack, &mut roots);
        }
        // An office the tree does not know sits at depth 0, apart.
        if row.depth == 0 && row.level.is_empty() {
            while !stack.is_empty() {
                close(&mut stack, &mut roots);
            }
        }
        stack.push(Branch {
            subtotal: row.subtotal.then_some(row),
            own: (!row.subtotal).then_some(row),
            children: Vec::new(),
        });
    }
    while !stack.is_empty() {
        close(&mut stack, &mut roots);
    }
    roots
}

/// When the last change arrived, per office and per subtree.
pub struct Freshness<'a> {
    pub own: &'a BTreeMap<String, DateTime<Utc>>,
    pub subtree: &'a BTreeMap<String, DateTime<Utc>>,
    /// Offices this node serves: their data is written here.
    pub here: &'a dyn Fn(&str) -> bool,
}

/// The header of the tree's grid.
pub fn head(ui: &Ui<'_>) -> Markup {
    let cols = [
        DashMsg::ColReceived,
        DashMsg::ColInProgress,
        DashMsg::ColSupplement,
        DashMsg::ColResolved,
        DashMsg::ColReturned,
        DashMsg::ColRefused,
        DashMsg::ColStopped,
        DashMsg::ColEarly,
        DashMsg::ColOnTime,
        DashMsg::ColLate,
        DashMsg::ColOverdue,
        DashMsg::ColOnTimeShare,
    ];
    html! {
        div.line.head {
            span.name { (ui.t(DashMsg::ColOffice)) }
            @for col in cols { span.num { (ui.t(col)) } }
            span.fresh { (ui.t(DashMsg::ColFresh)) }
        }
    }
}

/// The numbers of one line, in the header's order.
pub fn numbers(ui: &Ui<'_>, c: &Counts) -> Markup {
    let share = c
        .on_time_percent()
        .map_or_else(|| "—".to_string(), |p| format!("{p} %"));
    let share = match ui.lang() {
        crate::i18n::Lang::Vi => share.replace('.', ","),
        crate::i18n::Lang::En => share,
    };
    html! {
        @for (class, n) in [
            ("received", c.received),
            ("in_progress", c.in_progress),
            ("awaiting_supplement", c.awaiting_supplement),
            ("resolved", c.resolved),
            ("returned", c.returned),
            ("refused", c.refused),
            ("stopped", c.stopped),
            ("early", c.early),
            ("on_time", c.on_time),
            ("late", c.late),
            ("overdue", c.overdue),
        ] {
            span.num data-col=(class) .overdue[class == "overdue" && n > 0] { (n) }
        }
        span.num data-col="on_time_percent" { (share) }
    }
}

fn fresh(ui: &Ui<'_>, office: &str, at: Option<&DateTime<Utc>>, here: bool) -> Markup {
    html! {
        span.fresh data-office=(office) {
            @match (at, here) {
                (Some(at), _) => (ui.l.datetime(*at)),
                (None, true) => (ui.s(DashMsg::FreshHere)),
                (None, false) => (ui.s(DashMsg::FreshNever)),
            }
        }
    }
}

fn line(ui: &Ui<'_>, row: &ReportRow, label: Markup, fresh_at: Markup) -> Markup {
    html! {
        div.line data-office=(row.office) data-subtotal=(row.subtotal) {
            span.name style={ "padding-left: " (row.depth + usize::from(!row.subtotal && row.depth > 0)) "rem" } { (label) }
            (numbers(ui, &row.counts))
            (fresh_at)
        }
    }
}

fn office_name(ui: &Ui<'_>, row: &ReportRow) -> String {
    if row.level.is_empty() {
        format!("{} {}", row.office, ui.s(DashMsg::Unknown))
    } else {
        row.name.clone()
    }
}

/// One branch: a `<details>` when it has children, a line otherwise.
pub fn branch(ui: &Ui<'_>, b: &Branch<'_>, fresh_of: &Freshness<'_>) -> Markup {
    let first = b.first();
    let name = office_name(ui, first);
    let here = (fresh_of.here)(&first.office);
    if b.children.is_empty() && b.subtotal.is_none() {
        let own = b.own.expect("a leaf has its own line");
        return line(
            ui,
            own,
            html! { (name) },
            fresh(ui, &own.office, fresh_of.own.get(&own.office), here),
        );
    }
    let subtotal = b.subtotal.unwrap_or(first);
    html! {
        details.branch open[first.depth < 2] {
            summary {
                (line(ui, subtotal, html! { strong { (name) } },
                    fresh(ui, &subtotal.office, fresh_of.subtree.get(&subtotal.office), here)))
            }
            div.children {
                @if let Some(own) = b.own {
                    (line(ui, own, html! { (ui.t(DashMsg::OwnDesk)) },
                        fresh(ui, &own.office, fresh_of.own.get(&own.office), here)))
                }
                @for child in &b.children {
                    (branch(ui, child, fresh_of))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::arrange;

    #[test]
    fn branches_follow_the_tree_with_own_lines_inside() {
        let tree = lienthong_shared::builtin::quang_nam_3tier().offices;
        let c = |received| Counts {
            received,
            ..Counts::default()
        };
        let by_office = BTreeMap::from([
            ("commune:dien-ban/dien-phuong".to_string(), c(2)),
            ("commune:duy-xuyen/duy-son".to_string(), c(3)),
            ("district:duy-xuyen".to_string(), c(1)),
            ("commune:nowhere/none".to_string(), c(5)),
        ]);
        let (rows, _) = arrange(&tree, &by_office, false);
        let roots = nest(&rows);
        assert_eq!(roots.len(), 2, "{roots:#?}");
        let province = &roots[0];
        assert_eq!(province.subtotal.unwrap().counts.received, 6);
        assert!(province.own.is_none());
        assert_eq!(province.children.len(), 2);
        let duy_xuyen = &province.children[1];
        assert_eq!(duy_xuyen.subtotal.unwrap().office, "district:duy-xuyen");
        assert_eq!(duy_xuyen.subtotal.unwrap().counts.received, 4);
        assert_eq!(duy_xuyen.own.unwrap().counts.received, 1);
        assert_eq!(duy_xuyen.children.len(), 1);
        assert_eq!(duy_xuyen.children[0].own.unwrap().counts.received, 3);
        assert_eq!(roots[1].own.unwrap().office, "commune:nowhere/none");
    }
}
