//! `lienthong report` at the province: dossiers received at communes, a
//! district and the province's own desk, built through the library and
//! brought to the province as sync would; counts per office, D6 buckets,
//! overdue at a given time, subtotals along the tree, JSON and CSV.

#[path = "support/desk.rs"]
mod desk;

use std::path::Path;
use std::process::Command;

use desk::*;
use lienthong::node::Node;
use lienthong::report::{self, Counts, GroupBy, Report, ReportOptions};
use lienthong_shared::dossier::Action;

/// The province node after a week of work across the province (see the
/// comments for what each dossier is). `now` for overdue: Wed 4 March 10:00.
fn province_with_a_week_of_work(root: &Path) -> Node {
    // Received Monday 2 March 09:00: due Tuesday 3 March 09:00.
    let monday = at(2, 9, 0);

    let mut phuong = node(root, DIEN_PHUONG);
    let a = receive(&mut phuong, DIEN_PHUONG, monday, "Nguyễn Văn A");
    start(&mut phuong, &a, DIEN_PHUONG, at(2, 9, 10));
    resolve(&mut phuong, &a, DIEN_PHUONG, at(2, 10, 0)); // early
    act(
        &mut phuong,
        &a,
        None,
        at(2, 11, 0),
        Action::Returned {
            channel: lienthong_shared::dossier::Channel::Direct,
        },
    );
    let b = receive(&mut phuong, DIEN_PHUONG, monday, "Nguyễn Văn B");
    start(&mut phuong, &b, DIEN_PHUONG, at(2, 9, 10));
    resolve(&mut phuong, &b, DIEN_PHUONG, at(3, 8, 30)); // on the due day: on time
    let c = receive(&mut phuong, DIEN_PHUONG, monday, "Nguyễn Văn C");
    start(&mut phuong, &c, DIEN_PHUONG, at(2, 9, 10));
    resolve(&mut phuong, &c, DIEN_PHUONG, at(4, 8, 0)); // the day after the due day: late (D6)
    let d = receive(&mut phuong, DIEN_PHUONG, monday, "Nguyễn Văn D");
    start(&mut phuong, &d, DIEN_PHUONG, at(2, 9, 10)); // still processing: overdue

    let mut minh = node(root, DIEN_MINH);
    let e = receive(&mut minh, DIEN_MINH, monday, "Trần Thị E");
    supplement(&mut minh, &e, at(2, 9, 30), Some(at(2, 10, 0)));
    supplement(&mut minh, &e, at(2, 10, 30), Some(at(2, 11, 0)));
    start(&mut minh, &e, DIEN_MINH, at(2, 13, 30));
    resolve(&mut minh, &e, DIEN_MINH, at(2, 14, 0)); // before the due time, but asked twice: late
    let f = receive(&mut minh, DIEN_MINH, monday, "Trần Thị F");
    supplement(&mut minh, &f, at(2, 9, 30), None); // waiting for the applicant: not overdue
    let g = submit(&mut minh, DIEN_MINH, monday, "Trần Thị G");
    act(
        &mut minh,
        &g,
        None,
        at(2, 9, 10),
        Action::Refused {
            reason: "Không thuộc thẩm quyền".into(),
        },
    );

    let mut son = node(root, DUY_SON);
    let h = receive(&mut son, DUY_SON, monday, "Lê Văn H");
    start(&mut son, &h, DUY_SON, at(2, 9, 10));
    act(
        &mut son,
        &h,
        None,
        at(2, 10, 0),
        Action::Stopped {
            reason: "Người nộp rút hồ sơ".into(),
        },
    ); // stopped before the due day: early

    let mut duy_xuyen = node(root, DUY_XUYEN);
    receive(&mut duy_xuyen, DUY_XUYEN, at(4, 8, 0), "Lê Văn I"); // due Thursday: in time

    let mut province = node(root, PROVINCE);
    let j = receive(&mut province, PROVINCE, monday, "Phạm Văn J");
    start(&mut province, &j, PROVINCE, at(2, 9, 10));
    resolve(&mut province, &j, PROVINCE, at(2, 15, 0)); // early
    submit(&mut province, PROVINCE, monday, "Phạm Văn K"); // not yet taken in
    let l = receive(&mut province, PROVINCE, monday, "Phạm Văn L");
    act(
        &mut province,
        &l,
        Some(PROVINCE),
        at(2, 9, 10),
        Action::Forwarded {
            to: id(SO_TU_PHAP),
            task: "Thẩm định".into(),
            days: 1,
        },
    );
    act(
        &mut province,
        &l,
        Some(SO_TU_PHAP),
        at(2, 9, 20),
        Action::Accepted,
    ); // at the department, overdue

    for from in [&mut phuong, &mut minh, &mut son, &mut duy_xuyen] {
        absorb_all(&mut province, from);
    }
    province
}

fn options(group_by: GroupBy) -> ReportOptions {
    ReportOptions {
        group_by,
        now: at(4, 10, 0),
        from: None,
        to: None,
    }
}

fn build(node: &mut Node, options: &ReportOptions, all: bool) -> Report {
    let tree = node.network.offices.clone();
    node.store
        .read(|r| report::build(r, &tree, options, all))
        .unwrap()
}

fn row<'a>(report: &'a Report, office: &str, subtotal: bool) -> &'a Counts {
    &report
        .rows
        .iter()
        .find(|r| r.office == office && r.subtotal == subtotal)
        .unwrap_or_else(|| panic!("no {office} (subtotal {subtotal}) in {:#?}", report.rows))
        .counts
}

fn has_row(report: &Report, office: &str, subtotal: bool) -> bool {
    report
        .rows
        .iter()
        .any(|r| r.office == office && r.subtotal == subtotal)
}

#[allow(clippy::too_many_arguments)]
fn counts(
    received: u64,
    in_progress: u64,
    awaiting_supplement: u64,
    resolved: u64,
    returned: u64,
    refused: u64,
    stopped: u64,
    overdue: u64,
    [early, on_time, late]: [u64; 3],
) -> Counts {
    Counts {
        received,
        in_progress,
        awaiting_supplement,
        resolved,
        returned,
        refused,
        stopped,
        overdue,
        early,
        on_time,
        late,
        submitted: 0,
    }
}

#[test]
fn the_province_reports_every_locality_with_district_subtotals() {
    let root = tempfile::tempdir().unwrap();
    let mut province = province_with_a_week_of_work(root.path());
    let report = build(&mut province, &options(GroupBy::Origin), false);

    assert_eq!(
        row(&report, DIEN_PHUONG, false),
        &counts(4, 1, 0, 2, 1, 0, 0, 1, [1, 1, 1])
    );
    assert_eq!(
        row(&report, DIEN_MINH, false),
        &counts(3, 0, 1, 1, 0, 1, 0, 0, [0, 0, 1])
    );
    assert_eq!(
        row(&report, DIEN_BAN, true),
        &counts(7, 1, 1, 3, 1, 1, 0, 1, [1, 1, 2])
    );
    assert!(
        !has_row(&report, DIEN_BAN, false),
        "the district's own desk received nothing"
    );
    assert_eq!(
        row(&report, DUY_SON, false),
        &counts(1, 0, 0, 0, 0, 0, 1, 0, [1, 0, 0])
    );
    assert_eq!(
        row(&report, DUY_XUYEN, false),
        &counts(1, 1, 0, 0, 0, 0, 0, 0, [0, 0, 0])
    );
    assert_eq!(
        row(&report, DUY_XUYEN, true),
        &counts(2, 1, 0, 0, 0, 0, 1, 0, [1, 0, 0])
    );
    let own = row(&report, PROVINCE, false);
    assert_eq!((own.received, own.submitted), (2, 1));
    assert_eq!(
        own,
        &Counts {
            submitted: 1,
            ..counts(2, 1, 0, 1, 0, 0, 0, 1, [1, 0, 0])
        }
    );
    let total = Counts {
        submitted: 1,
        ..counts(11, 3, 1, 4, 1, 1, 1, 2, [3, 1, 2])
    };
    assert_eq!(report.total, total);
    assert_eq!(row(&report, PROVINCE, true), &total);
    assert_eq!(report.total.finished(), 6);
    assert_eq!(report.total.on_time_percent(), Some(66.7));
    assert_eq!(row(&report, DIEN_BAN, true).on_time_percent(), Some(50.0));
    // The buckets add up to what was received.
    for r in &report.rows {
        let c = &r.counts;
        assert_eq!(
            c.received,
            c.in_progress + c.awaiting_supplement + c.resolved + c.returned + c.refused + c.stopped,
            "{}",
            r.office
        );
    }

    // Along the tree: communes under their district, one level deeper,
    // after the district's subtotal; offices without dossiers left out.
    let order: Vec<(&str, bool, usize)> = report
        .rows
        .iter()
        .map(|r| (r.office.as_str(), r.subtotal, r.depth))
        .collect();
    assert_eq!(
        order,
        [
            (PROVINCE, true, 0),
            (PROVINCE, false, 0),
            (DIEN_BAN, true, 1),
            (DIEN_PHUONG, false, 2),
            (DIEN_MINH, false, 2),
            (DUY_XUYEN, true, 1),
            (DUY_XUYEN, false, 1),
            (DUY_SON, false, 2),
        ]
    );
    let phuong = report
        .rows
        .iter()
        .find(|r| r.office == DIEN_PHUONG)
        .unwrap();
    assert_eq!(phuong.name, "Ủy ban nhân dân phường Điện Phương");
    assert_eq!(phuong.path, [PROVINCE, DIEN_BAN, DIEN_PHUONG]);

    // Overdue depends on when it is judged: on Monday nothing was.
    let monday = build(
        &mut province,
        &ReportOptions {
            now: at(2, 17, 0),
            ..options(GroupBy::Origin)
        },
        false,
    );
    assert_eq!(monday.total.overdue, 0);
    assert_eq!(monday.total.received, 11);

    // --all lists every office of the tree.
    let all = build(&mut province, &options(GroupBy::Origin), true);
    for office in province.network.offices.iter() {
        assert!(
            all.rows.iter().any(|r| r.office == office.id.as_str()),
            "{}",
            office.id
        );
    }
    assert_eq!(all.total, report.total);
}

#[test]
fn by_holder_and_by_period() {
    let root = tempfile::tempdir().unwrap();
    let mut province = province_with_a_week_of_work(root.path());

    let by_holder = build(&mut province, &options(GroupBy::Holder), false);
    assert_eq!(
        row(&by_holder, SO_TU_PHAP, false),
        &counts(1, 1, 0, 0, 0, 0, 0, 1, [0, 0, 0])
    );
    let own = row(&by_holder, PROVINCE, false);
    assert_eq!((own.received, own.resolved, own.submitted), (1, 1, 1));
    assert_eq!(
        by_holder.total,
        build(&mut province, &options(GroupBy::Origin), false).total
    );

    // Received on Wednesday only: the district's own dossier.
    let wednesday = build(
        &mut province,
        &ReportOptions {
            from: Some(at(4, 0, 0)),
            to: Some(at(5, 0, 0)),
            ..options(GroupBy::Origin)
        },
        false,
    );
    assert_eq!(wednesday.total.received, 1);
    assert_eq!(
        wednesday.total.submitted, 0,
        "no receipt time: outside any period"
    );
    assert_eq!(row(&wednesday, DUY_XUYEN, false).received, 1);
    assert!(!has_row(&wednesday, DIEN_BAN, true));
    // Monday: the rest, the refused one included (refused at intake on Monday).
    let monday = build(
        &mut province,
        &ReportOptions {
            from: Some(at(2, 0, 0)),
            to: Some(at(3, 0, 0)),
            ..options(GroupBy::Origin)
        },
        false,
    );
    assert_eq!((monday.total.received, monday.total.refused), (10, 1));
}

fn lienthong(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .env_remove(lienthong::i18n::LANG_ENV)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lienthong {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_command_prints_a_table_json_and_csv() {
    let root = tempfile::tempdir().unwrap();
    let province = province_with_a_week_of_work(root.path());
    let dir = province.dir.root().to_path_buf();
    drop(province);
    let d = dir.to_str().unwrap();
    let now = "2026-03-04 10:00";

    let table = lienthong(&["report", "--data", d, "--now", now]);
    assert!(
        table.contains("Σ Ủy ban nhân dân thị xã Điện Bàn"),
        "{table}"
    );
    assert!(
        table.contains("    Ủy ban nhân dân phường Điện Phương"),
        "{table}"
    );
    assert!(table.contains("66.7"), "{table}");
    // In Vietnamese by default, with the time local.
    assert!(
        table.contains("1 hồ sơ nộp trực tuyến hoặc qua bưu chính chưa được tiếp nhận"),
        "{table}"
    );
    assert!(
        table.contains("quá hạn tính đến 04/03/2026 10:00") && table.contains("% đúng hạn"),
        "{table}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&lienthong(&["report", "--data", d, "--now", now, "--json"])).unwrap();
    assert_eq!(json["group_by"], "origin");
    assert_eq!(json["total"]["received"], 11);
    assert_eq!(json["total"]["finished"], 6);
    assert_eq!(json["total"]["on_time_percent"], 66.7);
    let rows = json["rows"].as_array().unwrap();
    let district = rows
        .iter()
        .find(|r| r["office"] == DIEN_BAN && r["subtotal"] == true)
        .unwrap();
    for field in [
        "office",
        "name",
        "level",
        "parent",
        "path",
        "depth",
        "subtotal",
        "received",
        "in_progress",
        "awaiting_supplement",
        "resolved",
        "returned",
        "refused",
        "stopped",
        "overdue",
        "early",
        "on_time",
        "late",
        "finished",
        "on_time_percent",
        "submitted",
    ] {
        assert!(district.get(field).is_some(), "no `{field}` in {district}");
    }
    assert_eq!(district["received"], 7);
    assert_eq!(district["late"], 2);
    assert_eq!(district["parent"], PROVINCE);

    let csv = lienthong(&["report", "--data", d, "--now", now, "--csv"]);
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines[0], report::CSV_HEADER);
    let columns = lines[0].split(',').count();
    for line in &lines {
        assert_eq!(line.split(',').count(), columns, "{line}");
    }
    assert!(
        lines.contains(&"commune:dien-ban/dien-phuong,Ủy ban nhân dân phường Điện Phương,commune,district:dien-ban,2,false,4,1,0,2,1,0,0,1,1,1,1,3,66.7,0"),
        "{csv}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        "total,,,,,true,11,3,1,4,1,1,1,2,3,1,2,6,66.7,1"
    );

    // A bare --to date includes that day.
    let wednesday: serde_json::Value = serde_json::from_str(&lienthong(&[
        "report",
        "--data",
        d,
        "--now",
        now,
        "--from",
        "2026-03-04",
        "--to",
        "2026-03-04",
        "--json",
    ]))
    .unwrap();
    assert_eq!(wednesday["total"]["received"], 1);
    let holder: serde_json::Value = serde_json::from_str(&lienthong(&[
        "report", "--data", d, "--now", now, "--by", "holder", "--json",
    ]))
    .unwrap();
    assert_eq!(holder["group_by"], "holder");
    assert!(
        holder["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["office"] == SO_TU_PHAP)
    );
}
