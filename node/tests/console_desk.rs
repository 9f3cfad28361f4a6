//! The console's desk, receive form and accounts page through a real
//! server on 127.0.0.1 and a real HTTP client (ureq): queues hold the right
//! dossiers, paging is by keyset and complete, search finds by code, name
//! (without diacritics) and ID number, a posted receipt creates the dossier
//! and a forged or unauthorised one creates nothing, accounts are the
//! administrator's.

#[path = "support/desk.rs"]
mod desk;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use desk::*;
use lienthong::console::Console;
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong::replication::Clock;
use lienthong::service::accounts::{self, Role};
use lienthong::store::desk::Slice;
use lienthong_shared::dossier::Action;
use lienthong_shared::dossier::schema::Applicant;

const PASSWORD: &str = "mat-khau-dai-du";
/// First land-use certificate: 30 working days, commune → district → province.
const LAND: &str = "1.004227";

/// 10:00 on Wednesday 4 March 2026, local time: the console's "now".
fn now() -> DateTime<Utc> {
    at(4, 10, 0)
}

struct Server {
    runtime: tokio::runtime::Runtime,
    console: Option<Console>,
    base: String,
}

impl Server {
    fn start(node: Node) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fixed = now();
        let console = runtime
            .block_on(Console::start(
                node,
                "127.0.0.1:0".parse().unwrap(),
                Clock::new(move || fixed),
            ))
            .unwrap();
        assert!(console.local_addr().ip().is_loopback());
        let base = format!("http://{}", console.local_addr());
        Server {
            runtime,
            console: Some(console),
            base,
        }
    }

    /// Sign in as `name`: a client carrying the session cookie and the
    /// session's anti-forgery token.
    fn sign_in(&self, name: &str) -> Client {
        self.sign_in_with(name, PASSWORD)
    }

    fn sign_in_with(&self, name: &str, password: &str) -> Client {
        let mut client = Client {
            agent: ureq::Agent::config_builder()
                .max_redirects(0)
                .http_status_as_error(false)
                .build()
                .into(),
            base: self.base.clone(),
            cookie: String::new(),
            csrf: String::new(),
        };
        let response = client
            .agent
            .post(format!("{}/sign-in", self.base))
            .send_form([("name", name), ("password", password)])
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "{name} signs in");
        let set = response
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap();
        client.cookie = set.split(';').next().unwrap().to_string();
        let (status, page) = client.get("/desk");
        assert_eq!(status, 200);
        client.csrf = between(&page, r#"name="csrf" value=""#, "\"")
            .expect("the page carries the session's token")
            .to_string();
        client
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(console) = self.console.take() {
            self.runtime.block_on(console.shutdown());
        }
    }
}

struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: String,
    csrf: String,
}

impl Client {
    fn get(&self, path: &str) -> (u16, String) {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// Post a form (the session's token added unless `csrf` is false):
    /// status, `Location`, body.
    fn post(&self, path: &str, fields: &[(&str, &str)], csrf: bool) -> (u16, String, String) {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if csrf {
            fields.push(("csrf", &self.csrf));
        }
        let mut response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send_form(fields)
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (
            status,
            location,
            response.body_mut().read_to_string().unwrap(),
        )
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The dossier codes a desk page lists, in order.
fn codes(page: &str) -> Vec<String> {
    page.split(r#"<a href="/dossiers/"#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The size a queue's tab shows.
fn count(page: &str, queue: &str) -> u64 {
    let tab = format!(r#"href="/desk?queue={queue}">"#);
    let rest = &page[page.find(&tab).unwrap_or_else(|| panic!("tab {queue}"))..];
    between(rest, r#"<span class="count">"#, "<")
        .unwrap()
        .parse()
        .unwrap()
}

/// The "next page" link, unescaped.
fn next_link(page: &str) -> Option<String> {
    between(page, r#"rel="next" href=""#, "\"").map(|l| l.replace("&amp;", "&"))
}

fn add_accounts(node: &mut Node) {
    for (name, display, role) in [
        ("hoa", "Trần Thị Hoa", Role::Desk),
        ("binh", "Lê Văn Bình", Role::Processing),
        ("quan", "Phạm Quân", Role::Admin),
    ] {
        accounts::add(node, name, display, role, PASSWORD, now()).unwrap();
    }
}

fn receive_with(
    node: &mut Node,
    procedure: &str,
    when: DateTime<Utc>,
    applicant: Applicant,
) -> String {
    let office = node.office().clone();
    officer::receive(
        node,
        &office,
        "Trần Thị Hoa",
        when,
        &NewDossier::at_the_desk(procedure, applicant),
    )
    .unwrap()
    .code
}

fn dossier_count(node: &mut Node) -> usize {
    let mut n = 0;
    node.store.read(|r| r.for_each_indexed(|_| n += 1)).unwrap();
    n
}

#[test]
fn a_sign_in_posted_from_another_site_opens_no_session() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    let server = Server::start(commune);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let form = [("name", "hoa"), ("password", PASSWORD)];
    let forged = agent
        .post(format!("{}/sign-in", server.base))
        .header("Origin", "http://evil.example")
        .send_form(form)
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.headers().get("set-cookie").is_none(), "no session");
    // The same form from the console's own page signs in.
    let own = agent
        .post(format!("{}/sign-in", server.base))
        .header("Origin", &server.base)
        .send_form(form)
        .unwrap();
    assert_eq!(own.status().as_u16(), 303);
    assert!(own.headers().get("set-cookie").is_some());
}

#[test]
fn queues_hold_the_right_dossiers_for_the_offices_served() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    // One working day, decided here: straight into processing at receipt.
    let overdue = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Overdue An"); // due 3/3 09:00
    let due_soon = receive(&mut commune, DIEN_PHUONG, at(4, 8, 0), "Soon Bình"); // due 5/3 08:00
    let land = receive_with(&mut commune, LAND, at(4, 8, 30), applicant("Land Chi"));
    let submitted = submit(&mut commune, DIEN_PHUONG, at(4, 9, 0), "Online Dũng");
    let waiting = receive(&mut commune, DIEN_PHUONG, at(3, 9, 0), "Supplement Em");
    supplement(&mut commune, &waiting, at(3, 10, 0), None);
    let resolved = receive(&mut commune, DIEN_PHUONG, at(3, 9, 0), "Result Giang");
    resolve(&mut commune, &resolved, DIEN_PHUONG, at(3, 11, 0));
    // A land dossier forwarded up: the district's incoming queue.
    let sent = receive_with(&mut commune, LAND, at(4, 8, 45), applicant("Sent Hải"));
    act(
        &mut commune,
        &sent,
        None,
        at(4, 9, 30),
        Action::Forwarded {
            to: id(DIEN_BAN),
            task: "Thẩm định".into(),
            days: 10,
        },
    );
    let mut district = node(root.path(), DIEN_BAN);
    add_accounts(&mut district);
    absorb_all(&mut district, &mut commune);

    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");
    let expect: [(&str, Vec<&String>); 8] = [
        ("new", vec![&submitted]),
        ("processing", vec![&overdue, &due_soon, &land, &sent]),
        ("supplement", vec![&waiting]),
        ("payment", vec![]),
        ("return", vec![&resolved]),
        ("due-soon", vec![&due_soon]),
        ("overdue", vec![&overdue]),
        ("incoming", vec![]),
    ];
    let (_, first) = hoa.get("/desk");
    for (queue, want) in &expect {
        let (status, page) = hoa.get(&format!("/desk?queue={queue}"));
        assert_eq!(status, 200, "{queue}");
        let got: BTreeSet<String> = codes(&page).into_iter().collect();
        let want: BTreeSet<String> = want.iter().map(|c| c.to_string()).collect();
        assert_eq!(got, want, "queue {queue}");
        assert_eq!(count(&first, queue), want.len() as u64, "tab {queue}");
    }
    // Rows name the holder office and mark lateness in working time.
    let (_, page) = hoa.get("/desk?queue=overdue");
    assert!(
        page.contains("Phường Điện Phương") || page.contains("Điện Phương"),
        "holder by name"
    );
    assert!(
        page.contains("quá hạn 1 ngày"),
        "overdue by one working day:\n{page}"
    );
    assert!(page.contains("03/03/2026 09:00"), "due time in local time");
    assert!(
        page.contains(&format!(r#"href="/dossiers/{overdue}/forms/mau-01""#)),
        "the receiving desk prints Mẫu 01"
    );
    let (_, page) = hoa.get("/desk?queue=due-soon");
    assert!(page.contains("05/03/2026 08:00"), "due time in local time");
    assert!(page.contains("còn "), "time left");
    let (status, page) = hoa.get("/desk?queue=everything");
    assert_eq!(status, 400);
    assert!(page.contains("everything"));
    let (status, _) = hoa.get("/desk?queue=processing&after=garbage");
    assert_eq!(status, 400);
    drop(server);

    let server = Server::start(district);
    let (_, page) = server.sign_in("binh").get("/desk?queue=incoming");
    assert_eq!(
        codes(&page),
        vec![sent.clone()],
        "forwarded to the district, not yet accepted"
    );
    assert!(page.contains("đang chuyển đến"));
}

#[test]
fn paging_is_by_keyset_and_shows_every_dossier_once() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    // 60 received at one instant (one due time: ties ordered by code),
    // 70 a minute apart.
    let mut all = BTreeSet::new();
    for i in 0..130 {
        let when = at(4, 8, 0) + Duration::minutes(if i < 60 { 0 } else { i - 59 });
        all.insert(receive(
            &mut commune,
            DIEN_PHUONG,
            when,
            &format!("Người {i}"),
        ));
    }
    // Reads are ranges of an index in order: nothing sorted afterwards.
    let holder = DIEN_PHUONG.to_string();
    for slice in [
        Slice::Held {
            holder: holder.clone(),
            status: lienthong_shared::dossier::Status::Processing,
        },
        Slice::OpenDue {
            holder: holder.clone(),
            from: Some(now()),
            before: now() + Duration::days(3),
        },
        Slice::TransferTo {
            office: holder.clone(),
        },
    ] {
        let plan = commune.store.read(|r| r.desk_plan(&slice)).unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("USING INDEX") || p.contains("USING COVERING INDEX")),
            "{slice:?}: {plan:?}"
        );
        assert!(
            !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "{slice:?}: {plan:?}"
        );
    }

    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");
    let (_, page) = hoa.get("/desk?queue=processing");
    assert_eq!(count(&page, "processing"), 130);
    let mut seen: Vec<String> = codes(&page);
    assert_eq!(seen.len(), 50);
    let mut next = next_link(&page);
    let mut pages = 1;
    while let Some(link) = next.take() {
        assert!(link.contains("after="), "{link}");
        let (status, page) = hoa.get(&link);
        assert_eq!(status, 200, "{link}");
        let rows = codes(&page);
        assert!(!rows.is_empty() && rows.len() <= 50);
        seen.extend(rows);
        next = next_link(&page);
        pages += 1;
        assert!(pages <= 10, "paging ends");
    }
    assert_eq!(pages, 3);
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no dossier twice");
    assert_eq!(unique, all, "every dossier once");
    // Order: the 60 of one due time first, by code; then by due time.
    let first60: Vec<&String> = seen[..60].iter().collect();
    let mut sorted = first60.clone();
    sorted.sort();
    assert_eq!(first60, sorted);
}

#[test]
fn a_dossier_arriving_while_paging_is_neither_repeated_nor_skipped() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    for i in 0..60 {
        receive(
            &mut commune,
            DIEN_PHUONG,
            at(4, 8, 0) + Duration::minutes(i),
            &format!("Người {i}"),
        );
    }
    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");
    let (_, page) = hoa.get("/desk?queue=processing");
    let first = codes(&page);
    assert_eq!(first.len(), 50);
    let next = next_link(&page).unwrap();
    // Receive two more through the console: due before and after the page's end.
    let mut arrived = Vec::new();
    for name in ["Sớm Một", "Muộn Hai"] {
        let (status, location, body) = hoa.post(
            "/receive",
            &[
                ("procedure", ONE_DAY),
                ("name", name),
                ("component", "0"),
                ("component", "1"),
            ],
            true,
        );
        assert_eq!(status, 303, "{body}");
        arrived.push(between(&location, "/dossiers/", "?").unwrap().to_string());
    }
    let (_, page) = hoa.get(&next);
    let rest = codes(&page);
    // Received at 10:00 (now): due after every earlier one, so on page 2.
    assert_eq!(rest.len(), 12, "the 10 left and the 2 that arrived");
    let all: BTreeSet<&String> = first.iter().chain(&rest).collect();
    assert_eq!(all.len(), 62);
    assert!(arrived.iter().all(|c| rest.contains(c)));
}

#[test]
fn search_finds_by_code_name_without_diacritics_and_id_number() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    let nguyen = receive_with(
        &mut commune,
        ONE_DAY,
        at(4, 8, 0),
        Applicant {
            name: "Nguyễn Thị Ánh Tuyết".into(),
            id_number: "049201001234".into(),
            ..Applicant::default()
        },
    );
    let dang = receive_with(
        &mut commune,
        ONE_DAY,
        at(4, 8, 5),
        Applicant {
            name: "Đặng Văn Đức".into(),
            id_number: "049199007777".into(),
            ..Applicant::default()
        },
    );
    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");
    let search = |q: &str| {
        let query = serde_urlencoded::to_string([("q", q)]).unwrap();
        let (status, page) = hoa.get(&format!("/desk?{query}"));
        assert_eq!(status, 200, "{q}");
        codes(&page)
    };
    assert_eq!(
        search("anh tuyet"),
        vec![nguyen.clone()],
        "no diacritics typed"
    );
    assert_eq!(
        search("ÁNH TUYẾT"),
        vec![nguyen.clone()],
        "any case, with diacritics"
    );
    assert_eq!(search("dang van duc"), vec![dang.clone()], "đ as d");
    assert_eq!(search("049201001234"), vec![nguyen.clone()], "ID number");
    assert_eq!(search("0491"), vec![dang.clone()], "ID number prefix");
    assert_eq!(search(&dang), vec![dang.clone()], "whole code");
    assert_eq!(
        search(&dang.to_lowercase()),
        vec![dang.clone()],
        "code in lowercase"
    );
    let prefix = &nguyen[..nguyen.rfind('-').unwrap()];
    assert_eq!(search(prefix).len(), 2, "code prefix (one day's codes)");
    assert!(search("nobody here").is_empty());
    assert!(search("100%_").is_empty(), "LIKE wildcards are text");
}

#[test]
fn receiving_through_the_form_creates_the_dossier_and_refusals_create_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");

    let (status, page) = hoa.get("/receive");
    assert_eq!(status, 200);
    assert!(page.contains("<datalist"), "procedure picker");
    let (_, page) = hoa.get("/receive?find=ket+hon");
    assert!(
        page.contains(ONE_DAY),
        "the picker finds marriage without diacritics:\n{page}"
    );
    let (_, page) = hoa.get(&format!("/receive?procedure={ONE_DAY}"));
    assert!(
        page.contains(r#"type="checkbox" name="component""#),
        "components checklist"
    );
    assert!(page.contains("Phí, lệ phí"), "fee");

    let fields = [
        ("procedure", ONE_DAY),
        ("name", "Võ Thị Mai"),
        ("id_number", "049301005555"),
        ("phone", "0905 111 222"),
        ("component", "0"),
        ("component", "1"),
        ("channel", "direct"),
        ("result_by", "postal"),
    ];
    // Without the token: refused, nothing stored.
    let (status, _, page) = hoa.post("/receive", &fields, false);
    assert_eq!(status, 403);
    assert!(page.contains("Không có gì bị thay đổi"));
    // A processing officer may not receive.
    let binh = server.sign_in("binh");
    let (status, _, page) = binh.post("/receive", &fields, true);
    assert_eq!(status, 403);
    assert!(page.contains("Cán bộ xử lý"), "{page}");
    // A bad ID number: the form again, values kept.
    let mut bad = fields.to_vec();
    bad[2] = ("id_number", "12345");
    let (status, _, page) = hoa.post("/receive", &bad, true);
    assert_eq!(status, 422);
    assert!(page.contains("9 hoặc 12 chữ số"));
    assert!(page.contains(r#"value="Võ Thị Mai""#), "values kept");
    // Nothing stored by any of those.
    let (_, page) = hoa.get("/desk?q=vo+thi+mai");
    assert!(codes(&page).is_empty());

    let (status, location, body) = hoa.post("/receive", &fields, true);
    assert_eq!(status, 303, "{body}");
    assert!(
        location.starts_with("/dossiers/") && location.ends_with("?received=1"),
        "{location}"
    );
    let code = between(&location, "/dossiers/", "?").unwrap().to_string();
    // Decided here: straight into processing, found by ID number.
    let (_, page) = hoa.get("/desk?queue=processing");
    assert_eq!(codes(&page), vec![code.clone()]);
    let (_, page) = hoa.get("/desk?q=049301005555");
    assert_eq!(codes(&page), vec![code.clone()]);
    drop(server);
    let mut commune = Node::open(&root.path().join(DIEN_PHUONG.replace([':', '/'], "_"))).unwrap();
    assert_eq!(dossier_count(&mut commune), 1, "exactly one dossier");
    let row = officer::resolve(&mut commune, &code).unwrap();
    let (_, dossier) = officer::load(&mut commune, &row.key).unwrap();
    assert_eq!(dossier.facts.applicant.name, "Võ Thị Mai");
    assert_eq!(dossier.facts.applicant.id_number, "049301005555");
    let first = dossier.valid_events().next().unwrap();
    assert_eq!(first.officer, "Trần Thị Hoa", "the signed-in officer");
}

#[test]
fn only_the_administrator_sees_and_creates_accounts() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");
    let (status, _) = hoa.get("/accounts");
    assert_eq!(status, 403);
    let new = [
        ("name", "lan"),
        ("display_name", "Ngô Thị Lan"),
        ("role", "leader"),
        ("password", "mot-mat-khau-dai"),
        ("confirm", "mot-mat-khau-dai"),
    ];
    let (status, _, _) = hoa.post("/accounts", &new, true);
    assert_eq!(status, 403, "a desk officer creates no account");

    let quan = server.sign_in("quan");
    let (status, page) = quan.get("/accounts");
    assert_eq!(status, 200);
    assert!(page.contains("Trần Thị Hoa") && page.contains("Cán bộ một cửa"));
    let (status, _, _) = quan.post("/accounts", &new, false);
    assert_eq!(status, 403, "no token, no account");
    let mut mismatch = new.to_vec();
    mismatch[4] = ("confirm", "another-password");
    let (status, _, page) = quan.post("/accounts", &mismatch, true);
    assert_eq!(status, 422);
    assert!(page.contains("không giống nhau"));
    assert!(!page.contains(">lan<"), "not created");
    let (status, location, _) = quan.post("/accounts", &new, true);
    assert_eq!(status, 303);
    let (_, page) = quan.get(&location);
    assert!(page.contains("Đã tạo tài khoản"));
    assert!(page.contains("Ngô Thị Lan") && page.contains("Lãnh đạo"));
    let (status, _, page) = quan.post("/accounts", &new, true);
    assert_eq!(status, 422);
    assert!(page.contains("Đã có tài khoản"));
    // The new account signs in.
    server.sign_in_with("lan", "mot-mat-khau-dai");
}

#[test]
fn the_desk_needs_a_session() {
    let root = tempfile::tempdir().unwrap();
    let commune = node(root.path(), DIEN_PHUONG);
    let server = Server::start(commune);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    for path in ["/desk", "/receive", "/accounts"] {
        let response = agent.get(format!("{}{path}", server.base)).call().unwrap();
        assert_eq!(response.status().as_u16(), 303, "{path}");
        let location = response
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(location.starts_with("/sign-in"), "{location}");
    }
}

#[test]
fn dossiers_stored_before_the_search_table_are_found_after_the_console_starts() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    add_accounts(&mut commune);
    let code = receive_with(
        &mut commune,
        ONE_DAY,
        at(4, 8, 0),
        Applicant {
            name: "Hồ Thị Xuân".into(),
            id_number: "049288003333".into(),
            ..Applicant::default()
        },
    );
    // As a store written before migration 8 would be: no search rows.
    let removed = commune
        .store
        .connection()
        .execute("DELETE FROM dossier_search", [])
        .unwrap();
    assert_eq!(removed, 1, "the receipt wrote its search row");
    let server = Server::start(commune);
    let hoa = server.sign_in("hoa");
    let (_, page) = hoa.get("/desk?q=049288003333");
    assert_eq!(
        codes(&page),
        vec![code.clone()],
        "by ID number, read from the document"
    );
    let (_, page) = hoa.get("/desk?q=ho+thi+xuan");
    assert_eq!(codes(&page), vec![code], "by folded name");
}
