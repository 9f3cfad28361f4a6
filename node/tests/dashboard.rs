//! The province's dashboard on a real server (127.0.0.1, OS-chosen port)
//! with a real client: the page's numbers are `report::build`'s, line for
//! line; the tree carries subtotals in `<details>`; the CSV is the report's
//! CSV with the page's numbers; the charts are well-formed inline SVG; a
//! locality's freshness is when its last change arrived; the period filter
//! and its errors.

#[path = "support/desk.rs"]
mod desk;
#[path = "support/http.rs"]
mod http;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use desk::*;
use http::Served;
use lienthong::console::dashboard::{self, Period};
use lienthong::node::Node;
use lienthong::report::{self, Report};
use lienthong::service::{accounts, sessions};
use lienthong_shared::dossier::Action;

fn now() -> DateTime<Utc> {
    at(4, 10, 0)
}

fn dir_of(root: &Path, office: &str) -> PathBuf {
    root.join(office.replace([':', '/'], "_"))
}

/// The province after two localities and its own desk worked a few days;
/// changes from Điện Phương "arrived" at known times.
fn province(root: &Path) -> (Node, DateTime<Utc>) {
    let monday = at(2, 9, 0);
    let mut phuong = node(root, DIEN_PHUONG);
    let a = receive(&mut phuong, DIEN_PHUONG, monday, "Nguyễn Văn A");
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
    resolve(&mut phuong, &b, DIEN_PHUONG, at(3, 16, 30)); // on the due day: on time
    receive(&mut phuong, DIEN_PHUONG, monday, "Nguyễn Văn C"); // overdue at `now`
    let mut son = node(root, DUY_SON);
    let d = receive(&mut son, DUY_SON, monday, "Lê Văn D");
    resolve(&mut son, &d, DUY_SON, at(4, 8, 0)); // the day after: late
    receive(&mut son, DUY_SON, at(3, 9, 0), "Lê Văn E"); // due Wednesday 09:00: overdue
    let mut province = node(root, PROVINCE);
    receive(&mut province, PROVINCE, at(3, 9, 0), "Phạm Văn F");
    absorb_all(&mut province, &mut phuong);
    absorb_all(&mut province, &mut son);
    let arrived = at(3, 17, 45);
    province
        .store
        .write(|w| {
            w.note_arrival(DIEN_PHUONG, at(2, 11, 0))?;
            w.note_arrival(DIEN_PHUONG, arrived)?;
            w.note_arrival(DIEN_PHUONG, at(3, 8, 0)) // older: kept the latest
        })
        .unwrap();
    (province, arrived)
}

fn build(node: &mut Node, period: Period) -> Report {
    let options = period.options(node.calendar.timezone(), now());
    let tree = node.network.offices.clone();
    node.store
        .read(|r| report::build(r, &tree, &options, false))
        .unwrap()
}

/// The numbers of the page's line for (office, subtotal), by column.
fn page_numbers(html: &str, office: &str, subtotal: bool) -> Vec<(String, String)> {
    line_numbers(
        html,
        &format!("data-office=\"{office}\" data-subtotal=\"{subtotal}\""),
    )
}

/// The numbers of the line starting at `marker`.
fn line_numbers(html: &str, marker: &str) -> Vec<(String, String)> {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no line {marker} on the page"));
    let line = &html[start..];
    let line = &line[..line.find("</div>").unwrap()];
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("data-col=\"") {
        rest = &rest[i + 10..];
        let name = rest[..rest.find('"').unwrap()].to_string();
        let open = rest.find('>').unwrap();
        let value = rest[open + 1..open + 1 + rest[open + 1..].find('<').unwrap()].to_string();
        out.push((name, value));
    }
    out
}

fn numbers_of(counts: &report::Counts) -> Vec<(String, String)> {
    [
        ("received", counts.received),
        ("in_progress", counts.in_progress),
        ("awaiting_supplement", counts.awaiting_supplement),
        ("resolved", counts.resolved),
        ("returned", counts.returned),
        ("refused", counts.refused),
        ("stopped", counts.stopped),
        ("early", counts.early),
        ("on_time", counts.on_time),
        ("late", counts.late),
        ("overdue", counts.overdue),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([(
        "on_time_percent".to_string(),
        counts
            .on_time_percent()
            .map_or("—".to_string(), |p| format!("{p} %").replace('.', ",")),
    )])
    .collect()
}

/// A small check that an SVG fragment is well-formed XML: tags nest and
/// close, attribute values are quoted, `&` only starts an entity.
fn assert_well_formed(svg: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        assert_entities(text);
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("an unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "in {svg}");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        assert!(!name.is_empty(), "an empty tag in {svg}");
        let attributes = &tag[name.len()..];
        assert_eq!(attributes.matches('"').count() % 2, 0, "quotes in <{tag}>");
        for part in attributes.split('"').step_by(2) {
            assert!(!part.contains(['<', '&']), "<{tag}>");
        }
        for value in attributes.split('"').skip(1).step_by(2) {
            assert_entities(value);
        }
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

fn assert_entities(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |j| i + j + 1)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
            "a bare & in {text}"
        );
    }
}

struct World {
    _root: tempfile::TempDir,
    dir: PathBuf,
    served: Served,
    cookie: String,
    arrived: DateTime<Utc>,
    gathered: dashboard::Dashboard,
}

fn world() -> World {
    let root = tempfile::tempdir().unwrap();
    let (mut node, arrived) = province(root.path());
    accounts::add(
        &mut node,
        "hoa",
        "Trần Thị Hoa",
        accounts::Role::Leader,
        "mat-khau-rat-dai-1",
        now(),
    )
    .unwrap();
    let session = sessions::open(&mut node, "hoa", "mat-khau-rat-dai-1", now()).unwrap();
    let gathered = dashboard::gather(&mut node, Period::default(), now()).unwrap();
    let dir = dir_of(root.path(), PROVINCE);
    let served = Served::start(node, now());
    World {
        _root: root,
        dir,
        served,
        cookie: format!("lt_session={}", session.token),
        arrived,
        gathered,
    }
}

#[test]
fn the_page_shows_the_reports_numbers_as_a_tree_with_subtotals() {
    let w = world();
    let (status, _, _) = w.served.get("/dashboard", &[]);
    assert_eq!(status, 303, "signed out: to the sign-in page");
    let (status, kind, html) = w.served.get("/dashboard", &[("Cookie", &w.cookie)]);
    assert_eq!(status, 200, "{html}");
    assert!(kind.starts_with("text/html"));
    // Kept for a look in a browser (CSS from the console's own stylesheet).
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.html"),
        html.replace("/assets/console.css", "console.css"),
    )
    .unwrap();

    let mut node = Node::open(&w.dir).unwrap();
    let report = build(&mut node, Period::default());
    assert_eq!(report.total.received, 6, "precondition: {report:#?}");
    assert_eq!(
        (
            report.total.early,
            report.total.on_time,
            report.total.late,
            report.total.overdue
        ),
        (1, 1, 1, 3),
        "precondition: every D6 bucket is used"
    );
    for row in &report.rows {
        assert_eq!(
            page_numbers(&html, &row.office, row.subtotal),
            numbers_of(&row.counts),
            "{} (subtotal {})",
            row.office,
            row.subtotal
        );
    }
    assert_eq!(
        line_numbers(&html, "data-office=\"total\">"),
        numbers_of(&report.total)
    );
    // Subtotals: the province and both districts, in collapsible branches.
    for office in [PROVINCE, DIEN_BAN, DUY_XUYEN] {
        assert!(
            report.rows.iter().any(|r| r.office == office && r.subtotal),
            "precondition: {office} has a subtotal"
        );
        assert!(html.contains(&format!("data-office=\"{office}\" data-subtotal=\"true\"")));
    }
    assert!(html.matches("<details").count() >= 3);
    assert!(html.contains("Huyện Điện Bàn") || html.contains("Điện Bàn"));
    for word in ["Sớm hạn", "Đúng hạn", "Trễ hạn", "Quá hạn"] {
        assert!(html.contains(word), "{word}");
    }
    // The overdue list: every overdue dossier, by office name, local due time.
    assert_eq!(html.matches("<tr data-code=").count(), 3);
    assert!(
        html.contains("04/03/2026 09:00"),
        "due local, dd/mm/yyyy HH:MM"
    );

    // Freshness: Điện Phương's last change arrived at `arrived` (local time),
    // and so did its district's; Duy Sơn's never came from a peer here.
    let local = w
        .arrived
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%d/%m/%Y %H:%M")
        .to_string();
    assert_eq!(local, "03/03/2026 17:45");
    for office in [DIEN_PHUONG, DIEN_BAN] {
        let marker = format!("<span class=\"fresh\" data-office=\"{office}\">{local}</span>");
        assert!(html.contains(&marker), "{marker}");
    }
    assert!(html.contains(&format!(
        "<span class=\"fresh\" data-office=\"{DUY_SON}\">chưa nhận</span>"
    )));

    // In English once switched: the same page, English first.
    let english = format!("{}; lt_lang=en", w.cookie);
    let (status, _, en) = w.served.get("/dashboard", &[("Cookie", &english)]);
    assert_eq!(status, 200);
    assert!(en.contains("<html lang=\"en\""));
    assert!(
        en.contains("<h1>Dossier processing overview"),
        "English first"
    );
    assert!(en.contains(&format!(
        "<span class=\"fresh\" data-office=\"{DUY_SON}\">none yet</span>"
    )));
    assert!(en.contains("data-col=\"on_time_percent\">66.7 %<"));

    // Charts: two inline SVGs, well-formed, one bar group per district.
    let svgs: Vec<&str> = html
        .match_indices("<svg")
        .map(|(i, _)| &html[i..i + html[i..].find("</svg>").unwrap() + 6])
        .collect();
    assert_eq!(svgs.len(), 2);
    for svg in &svgs {
        assert_well_formed(svg);
    }
    assert_eq!(svgs[0].matches("<g>").count(), 2, "{}", svgs[0]);
    assert_eq!(svgs[1].matches("<g>").count(), dashboard::WEEKS as usize);
    // The weeks: everything was received and finished in the last one.
    let (_, last) = w.gathered.weeks.last().unwrap();
    assert_eq!(last.received, report.total.received);
    assert_eq!(last.finished, report.total.finished());
    assert!(
        w.gathered.weeks[..w.gathered.weeks.len() - 1]
            .iter()
            .all(|(_, c)| c.received == 0 && c.finished == 0)
    );
}

#[test]
fn the_csv_is_the_reports_csv_with_the_pages_numbers() {
    let w = world();
    let (status, kind, csv) = w.served.get("/dashboard.csv", &[("Cookie", &w.cookie)]);
    assert_eq!(status, 200, "{csv}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let mut node = Node::open(&w.dir).unwrap();
    let report = build(&mut node, Period::default());
    assert_eq!(csv, report::to_csv(&report));
    let (_, _, html) = w.served.get("/dashboard", &[("Cookie", &w.cookie)]);
    let header: Vec<&str> = report::CSV_HEADER.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut lines = 0;
    for line in csv.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields[0] == "total" {
            continue;
        }
        lines += 1;
        let page = page_numbers(&html, fields[0], fields[column("subtotal")] == "true");
        for (name, value) in page {
            // The page writes the share as 66,7 % (Vietnamese), the CSV 66.7.
            let value = value.replace(',', ".").replace(" %", "").replace('—', "");
            assert_eq!(fields[column(&name)], value, "{} {name}", fields[0]);
        }
    }
    assert_eq!(lines, report.rows.len());

    // With a period: only Tuesday on (3 March); the same numbers again.
    let (status, _, filtered) = w.served.get(
        "/dashboard.csv?from=2026-03-03&to=2026-03-04",
        &[("Cookie", &w.cookie)],
    );
    assert_eq!(status, 200);
    let period = Period::parse(&dashboard::PeriodQuery {
        from: Some("2026-03-03".into()),
        to: Some("2026-03-04".into()),
    })
    .unwrap();
    let report = build(&mut node, period);
    assert_eq!(report.total.received, 2, "precondition: {report:#?}");
    assert_eq!(filtered, report::to_csv(&report));
    let (status, _, html) = w.served.get(
        "/dashboard?from=2026-03-03&to=2026-03-04",
        &[("Cookie", &w.cookie)],
    );
    assert_eq!(status, 200);
    assert_eq!(
        page_numbers(&html, DUY_SON, false),
        numbers_of(
            &report
                .rows
                .iter()
                .find(|r| r.office == DUY_SON)
                .unwrap()
                .counts
        )
    );
    assert!(html.contains("03/03/2026"));
    assert_eq!(
        html.matches("<tr data-code=").count(),
        2,
        "the overdue list keeps to the period too"
    );

    // Bad periods: a clear page, 400.
    for query in ["from=03/03/2026", "from=2026-03-05&to=2026-03-01"] {
        let (status, _, page) = w
            .served
            .get(&format!("/dashboard?{query}"), &[("Cookie", &w.cookie)]);
        assert_eq!(status, 400, "{query}");
        assert!(page.contains("Không có gì bị thay đổi"), "{page}");
    }
}

/// How long the dashboard takes on a province's store of 100,000 dossiers
/// (index rows written directly: the dashboard reads only the index). A
/// measurement, not a check of behaviour: run it by hand,
/// `cargo test -p lienthong --test dashboard -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_the_dashboard_on_100000_dossiers() {
    use lienthong_shared::dossier::Status;
    let root = tempfile::tempdir().unwrap();
    let node = node(root.path(), PROVINCE);
    let communes: Vec<String> = node
        .network
        .offices
        .iter()
        .filter(|o| o.level == "commune")
        .map(|o| format!("'{}'", o.id))
        .collect();
    let now = now();
    let day = 86_400_000i64;
    let start = now.timestamp_millis() - 84 * day;
    let sql = format!(
        "CREATE TEMP TABLE origins (n INTEGER PRIMARY KEY, id TEXT);
         INSERT INTO origins (n, id) SELECT row_number() OVER () - 1, column1 FROM (VALUES {values});
         WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 99999)
         INSERT INTO documents (doc_id, kind, snapshot, snapshot_bytes, heads)
           SELECT CAST(printf('%016d', i) AS BLOB), 'dossier', x'00', 1, x'' FROM k;
         WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 99999)
         INSERT INTO dossiers (doc_id, code, procedure_code, procedure_name, applicant, origin, holder,
             status, received_at, due_at, ended_at, timeliness, conflicts, supplement_requests,
             open_consultations, rules, updated_seq)
           SELECT CAST(printf('%016d', i) AS BLOB), printf('X-%06d', i), '1.000894', 'Đăng ký kết hôn',
             'Nguyễn Văn A', o.id, o.id,
             CASE i % 10 WHEN 6 THEN {supplement} WHEN 7 THEN {resolved} WHEN 8 THEN {returned}
                         WHEN 9 THEN {refused} ELSE {processing} END,
             {start} + (i % 84) * {day} + (i % 7) * 3600000,
             {start} + (i % 84) * {day} + 3 * {day},
             CASE WHEN i % 10 BETWEEN 7 AND 9 THEN {start} + (i % 84) * {day} + (i % 5) * {day} END,
             CASE WHEN i % 10 BETWEEN 7 AND 8 THEN
               CASE i % 3 WHEN 0 THEN 'early' WHEN 1 THEN 'on_time' ELSE 'late' END END,
             0, 0, 0, '2018', i
           FROM k JOIN origins o ON o.n = i % {count};",
        values = communes
            .iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(","),
        count = communes.len(),
        supplement = Status::AwaitingSupplement.code(),
        resolved = Status::Resolved.code(),
        returned = Status::Returned.code(),
        refused = Status::Refused.code(),
        processing = Status::Processing.code(),
    );
    node.store.connection().execute_batch(&sql).unwrap();
    drop(node);
    let mut node = Node::open(&dir_of(root.path(), PROVINCE)).unwrap();
    let t = std::time::Instant::now();
    let gathered = dashboard::gather(&mut node, Period::default(), now).unwrap();
    let gather_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(gathered.report.total.received, 100_000);
    assert_eq!(gathered.overdue.len(), dashboard::OVERDUE_SHOWN);
    let timed = |name: &str, node: &mut Node, f: &dyn Fn(&lienthong::store::Reader<'_>)| {
        let t = std::time::Instant::now();
        node.store
            .read(|r| {
                f(r);
                Ok::<_, lienthong::store::StoreError>(())
            })
            .unwrap();
        eprintln!("{name}: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    };
    let tree = node.network.offices.clone();
    let options = Period::default().options(node.calendar.timezone(), now);
    timed("report", &mut node, &|r| {
        report::build(r, &tree, &options, false).unwrap();
    });
    timed("weeks", &mut node, &|r| {
        r.weekly_counts(dashboard::first_week(chrono_tz::Asia::Ho_Chi_Minh, now), 12)
            .unwrap();
    });
    timed("overdue", &mut node, &|r| {
        r.overdue_in(now, None, None, 100).unwrap();
    });
    timed("arrivals", &mut node, &|r| {
        r.arrivals_by_origin().unwrap();
    });
    accounts::add(
        &mut node,
        "hoa",
        "Trần Thị Hoa",
        accounts::Role::Leader,
        "mat-khau-rat-dai-1",
        now,
    )
    .unwrap();
    let session = sessions::open(&mut node, "hoa", "mat-khau-rat-dai-1", now).unwrap();
    let served = Served::start(node, now);
    let cookie = format!("lt_session={}", session.token);
    let mut pages = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let (status, _, html) = served.get("/dashboard", &[("Cookie", &cookie)]);
        assert_eq!(status, 200);
        pages.push((t.elapsed().as_secs_f64() * 1000.0, html.len()));
    }
    let t = std::time::Instant::now();
    let (status, _, csv) = served.get("/dashboard.csv", &[("Cookie", &cookie)]);
    assert_eq!(status, 200);
    let csv_ms = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "100,000 dossiers, {} communes: gather {gather_ms:.0} ms; page {:?} (ms, bytes); CSV {csv_ms:.0} ms, {} bytes",
        communes.len(),
        pages,
        csv.len()
    );
}
