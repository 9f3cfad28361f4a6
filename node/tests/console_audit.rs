//! Gaps found auditing issue 9 item by item, each shown over a real console
//! server on 127.0.0.1 (port chosen by the OS) with a real client:
//!
//! - the verified author node of each event (issue 8's "nút ghi") on the
//!   dossier page and in the JSON API's dossier view: a dossier received at
//!   a commune's node reaches the district's node over QUIC; the district's
//!   page names the commune's node for the commune's events and its own for
//!   the event its officer records there, from the stored attestations;
//! - a resolved dossier reads "waiting to be returned", never "returned";
//!   a same-day procedure's step reads "within the day", not "0 working
//!   days"; the dossier page links to the forms a 2025 dossier has (it knew
//!   only the 2018 set); Mẫu 01 exported as PDF by the console with
//!   headless Chromium;
//! - `lienthong console` (a node without its daemon) serving the console,
//!   and the default address on loopback;
//! - the sync page's changes waiting for a peer, counting down to none over
//!   a real link;
//! - an event written before the node could sign reads "chưa ký" in the
//!   dossier page's author column.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::path::Path;

use browser::{Browser, PASSWORD, TestClock, agent, reply};
use chrono::{DateTime, Utc};
use lienthong::console::Console;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::officer::{self, Intent, NewDossier};
use lienthong::service::accounts::{self, Role};
use lienthong::service::api_tokens;
use lienthong_shared::builtin;
use lienthong_shared::dossier::Action;
use lienthong_shared::dossier::schema::Applicant;
use serde_json::Value;
use support::{BIRTH, COMMUNE, DISTRICT, LAND, WAIT, at, office};

/// The desk officer of these tests, with an account on `node` (signed-in
/// pages need one).
fn add_desk_officer(node: &mut Node, now: DateTime<Utc>) {
    accounts::add(node, "hoa", "Trần Thị Hoa", Role::Desk, PASSWORD, now).unwrap();
}

/// A dossier of `procedure` for `applicant`, received at the commune's
/// desk at 09:00 on 2 March; its code.
fn receive_at_the_commune(node: &mut Node, procedure: &str, applicant: &str) -> String {
    let new = NewDossier::at_the_desk(
        procedure,
        Applicant {
            name: applicant.into(),
            ..Applicant::default()
        },
    );
    officer::receive(node, &office(COMMUNE), "Trần Thị Hoa", at(2, 9, 0), &new)
        .unwrap()
        .code
}

/// The cells of the timeline row numbered `n` (1-based) of a dossier page.
fn timeline_row(page: &str, n: usize) -> String {
    let table = &page[page
        .find("class=\"timeline\"")
        .expect("the page has a timeline")..];
    let rows: Vec<&str> = table.split("<tr").skip(2).collect();
    let row = rows
        .iter()
        .find(|r| r.contains(&format!("<td>{n}</td>")))
        .unwrap_or_else(|| panic!("timeline row {n} in {table}"));
    row[..row.find("</tr>").unwrap()].to_string()
}

fn api_get(base: &str, token: &str, path: &str) -> Value {
    let response = tokio::task::block_in_place(|| {
        reply(
            agent()
                .get(format!("{base}{path}"))
                .header("authorization", &format!("Bearer {token}"))
                .call()
                .unwrap(),
        )
    });
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dossier_page_and_the_api_name_the_verified_author_node_of_each_event() {
    let dir = tempfile::tempdir().unwrap();
    let offices = [office(DISTRICT), office(COMMUNE)];
    let mut net = LocalNetwork::init(
        dir.path(),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &offices,
    )
    .unwrap();
    let clock = TestClock::new(at(2, 14, 0));
    let district_dir = net.get(&office(DISTRICT)).unwrap().dir.clone();
    // Written at the commune's node: received and forwarded to the district.
    let (code, commune_id) = {
        let mut c = net.open(&office(COMMUNE)).unwrap();
        let code = receive_at_the_commune(&mut c, LAND, "Nguyễn Văn An");
        let forward = Intent::Forward {
            to: Some(office(DISTRICT)),
            task: None,
            days: None,
        };
        officer::act(
            &mut c,
            &code,
            Some(&office(COMMUNE)),
            "Trần Thị Hoa",
            at(2, 10, 0),
            &forward,
        )
        .unwrap();
        (code, c.node_id().to_string())
    };
    let (district_id, token) = {
        let mut d = net.open(&office(DISTRICT)).unwrap();
        accounts::add(
            &mut d,
            "binh",
            "Lê Văn Bình",
            Role::Processing,
            PASSWORD,
            at(2, 8, 0),
        )
        .unwrap();
        let (_, token) = api_tokens::add(&mut d, "cong-tinh", Role::Desk, at(2, 8, 0)).unwrap();
        (d.node_id().to_string(), token)
    };
    assert_ne!(commune_id, district_id, "precondition: two nodes");
    net.start_all().await.unwrap();
    net.wait_until(
        &office(DISTRICT),
        "the transfer to the district",
        WAIT,
        |n| {
            officer::resolve(n, &code)
                .ok()
                .and_then(|r| r.transfer_to)
                .as_deref()
                == Some(DISTRICT)
        },
    )
    .await
    .unwrap();

    let node = Node::open(&district_dir).unwrap();
    let console = Console::start(node, "127.0.0.1:0".parse().unwrap(), clock.clock())
        .await
        .unwrap();
    let binh = tokio::task::block_in_place(|| Browser::sign_in(&console.url(), "binh"));
    binh.act(&code, "accepted", &[("office", DISTRICT)]);
    let page = binh.get(&format!("/dossiers/{code}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-dossier-authors.html"),
        &page.body,
    );
    assert!(
        page.body.contains("Nút ghi (đã xác minh)")
            && page.body.contains("Written by node (verified)"),
        "the column, in both languages"
    );
    let commune_short = &commune_id[..12];
    let district_short = &district_id[..12];
    // Received (with the commune's own step taken up at once) and forwarded
    // at the commune: its node wrote them.
    for n in 1..=4 {
        let row = timeline_row(&page.body, n);
        assert!(
            row.contains("author signed")
                && row.contains(commune_short)
                && row.contains("Điện Phương"),
            "event {n} written by the commune's node, by name: {row}"
        );
        assert!(!row.contains(district_short), "{row}");
    }
    // Accepted here at the district's console: this node wrote it.
    let row = timeline_row(&page.body, 5);
    assert!(
        row.contains("Lê Văn Bình"),
        "precondition: the acceptance: {row}"
    );
    assert!(
        row.contains("author signed") && row.contains(district_short) && row.contains("Điện Bàn"),
        "the acceptance written by the district's node: {row}"
    );
    assert!(!page.body.contains("chưa ký"), "every event here is signed");

    // The API's dossier view: the same, as `show --json` gives it.
    let view = api_get(
        console.url().trim_end_matches('/'),
        &token,
        &format!("/api/v1/dossiers/{code}"),
    );
    let timeline = view["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 5, "{view:#}");
    for event in &timeline[..4] {
        let by = &event["written_by"];
        assert_eq!(by["author"], "signed", "{event}");
        assert_eq!(by["node"], commune_id.as_str(), "{event}");
        assert_eq!(by["office"], COMMUNE, "{event}");
        assert!(
            by["office_name"].as_str().unwrap().contains("Điện Phương"),
            "{event}"
        );
    }
    assert_eq!(timeline[4]["written_by"]["node"], district_id.as_str());
    assert_eq!(timeline[4]["written_by"]["office"], DISTRICT);

    console.shutdown().await;
    net.stop_all().await;
}

/// A birth registration (same day, decided at the commune) approved and
/// issued: the page says the result waits at the desk — not that it was
/// returned — and the commune's own step reads "within the day"; Mẫu 01
/// comes out of the console as a PDF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_dossier_waits_to_be_returned_and_its_receipt_prints_as_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let net = LocalNetwork::init(
        dir.path(),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[office(COMMUNE)],
    )
    .unwrap();
    let clock = TestClock::new(at(2, 11, 0));
    let code = {
        let mut c = net.open(&office(COMMUNE)).unwrap();
        add_desk_officer(&mut c, at(2, 8, 0));
        let code = receive_at_the_commune(&mut c, BIRTH, "Lê Thị Mai");
        for (when, intent) in [
            (
                at(2, 9, 30),
                Intent::Exact(Action::Approved {
                    note: "Đồng ý".into(),
                }),
            ),
            (
                at(2, 10, 0),
                Intent::IssueResult {
                    result: "Giấy khai sinh bản chính".into(),
                    attachment: None,
                },
            ),
        ] {
            officer::act(&mut c, &code, None, "Phạm Văn Lành", when, &intent).unwrap();
        }
        code
    };
    let node = Node::open(&net.get(&office(COMMUNE)).unwrap().dir).unwrap();
    let console = Console::start(node, "127.0.0.1:0".parse().unwrap(), clock.clock())
        .await
        .unwrap();
    let hoa = tokio::task::block_in_place(|| Browser::sign_in(&console.url(), "hoa"));
    let page = hoa.get(&format!("/dossiers/{code}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Đã có kết quả"),
        "precondition: resolved: {}",
        page.body
    );
    assert!(
        page.body.contains("đang chờ trả tại"),
        "the result waits at the desk: {}",
        page.body
    );
    assert!(
        !page.body.contains("đã trả tại") && !page.body.contains("returned at"),
        "not yet returned"
    );
    assert!(
        page.body.contains("(trong ngày)"),
        "the commune's own step of a same-day procedure: {}",
        page.body
    );
    assert!(!page.body.contains("0 ngày làm việc"), "{}", page.body);
    // A dossier under the 2025 rules links straight to the forms it has
    // (the page knew only the 2018 set's).
    let index = hoa.get(&format!("/dossiers/{code}/forms"));
    assert!(
        index.body.contains("03/2025/TT-VPCP"),
        "precondition: a 2025 dossier: {}",
        index.body
    );
    // Mẫu 01 (receipt) and 06 (control sheet) of the 2025 set; no Mẫu 02
    // (no supplement request) nor 05 (the 2025 stop notice: not stopped).
    for form in ["mau-01", "mau-06"] {
        assert!(
            page.body.contains(&format!("/forms/{form}\"")),
            "a link to {form}: {}",
            page.body
        );
    }
    for form in ["mau-02", "mau-05"] {
        assert!(!page.body.contains(&format!("/forms/{form}\"")), "{form}");
    }

    // Mẫu 01 as a PDF, printed by the headless Chromium the CI installs.
    assert!(
        lienthong::forms::pdf::find_browser().is_some(),
        "precondition: chromium installed (.ci/run installs it)"
    );
    let pdf = tokio::task::block_in_place(|| {
        hoa.agent
            .get(format!("{}/dossiers/{code}/forms/mau-01.pdf", hoa.base))
            .header("cookie", &hoa.cookie)
            .call()
            .unwrap()
    });
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(
        pdf.headers().get("content-type").unwrap().to_str().unwrap(),
        "application/pdf"
    );
    let bytes = pdf.into_body().read_to_vec().unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF: {} bytes", bytes.len());

    console.shutdown().await;
}

/// A child process killed (by its own pid) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `lienthong console` serves the console of a node whose daemon is not
/// running (only `lienthong run`'s console was started by a test); the
/// default address is loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lienthong_console_serves_a_node_without_its_daemon() {
    // Blocking throughout (a child process, a blocking client).
    tokio::task::block_in_place(console_process);
}

fn console_process() {
    use std::io::BufRead;
    let default = lienthong::config::ConsoleConfig::default().listen;
    assert!(default.ip().is_loopback(), "loopback by default: {default}");

    let root = tempfile::tempdir().unwrap();
    let dir = support::init(root.path(), "commune", COMMUNE);
    {
        let mut node = Node::open(&dir).unwrap();
        add_desk_officer(&mut node, Utc::now());
    }
    let mut child = support::lienthong()
        .args(["console", "--listen", "127.0.0.1:0", "--data"])
        .arg(&dir)
        .env("LIENTHONG_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Child(child);
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + WAIT;
    let url = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("`lienthong console` printed no address within {WAIT:?}"));
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let sign_in = reply(agent().get(format!("{url}sign-in")).call().unwrap());
    assert_eq!(sign_in.status, 200);
    assert!(sign_in.body.contains("Đăng nhập"), "{}", sign_in.body);
    // The desk behind the sign-in, as at `lienthong run`.
    let desk = reply(agent().get(format!("{url}desk")).call().unwrap());
    assert_eq!(desk.status, 303, "signed out: to the sign-in page");
    let hoa = Browser::sign_in(&url, "hoa");
    assert!(hoa.get("/desk").body.contains("Trần Thị Hoa"));
    drop(child);
}

/// The sync page's "changes waiting" figures (no test watched them): a
/// commune's change for the district counts as waiting to send until the
/// district has it over a real link, then none waits either way; the sync
/// page shows the district's row with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_waiting_for_a_peer_count_down_to_none_once_it_has_them() {
    use lienthong::service::status::node_status;
    let dir = tempfile::tempdir().unwrap();
    let mut net = LocalNetwork::init(
        dir.path(),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[office(DISTRICT), office(COMMUNE)],
    )
    .unwrap();
    let waiting = |n: &mut Node| {
        let status = node_status(n, Utc::now()).unwrap();
        assert_eq!(status.peers.len(), 1, "precondition: one peer");
        assert_eq!(status.peers[0].office, DISTRICT, "precondition");
        (
            status.peers[0].waiting_to_send,
            status.peers[0].waiting_to_receive,
        )
    };
    let code = {
        let mut c = net.open(&office(COMMUNE)).unwrap();
        add_desk_officer(&mut c, Utc::now());
        let code = receive_at_the_commune(&mut c, LAND, "Nguyễn Văn An");
        let forward = Intent::Forward {
            to: Some(office(DISTRICT)),
            task: None,
            days: None,
        };
        officer::act(&mut c, &code, None, "Trần Thị Hoa", at(2, 10, 0), &forward).unwrap();
        let (to_send, _) = waiting(&mut c);
        assert!(
            to_send >= 1,
            "the forwarded dossier waits to be sent: {to_send}"
        );
        code
    };
    net.start_all().await.unwrap();
    net.wait_until(
        &office(DISTRICT),
        "the dossier at the district",
        WAIT,
        |n| officer::resolve(n, &code).is_ok(),
    )
    .await
    .unwrap();
    net.wait_until(
        &office(COMMUNE),
        "nothing waiting for the district, and a sync recorded",
        WAIT,
        |n| {
            waiting(n) == (0, 0)
                && node_status(n, Utc::now()).unwrap().peers[0]
                    .last_success
                    .is_some()
        },
    )
    .await
    .unwrap();

    let clock = TestClock::new(Utc::now());
    let node = Node::open(&net.get(&office(COMMUNE)).unwrap().dir).unwrap();
    let console = Console::start(node, "127.0.0.1:0".parse().unwrap(), clock.clock())
        .await
        .unwrap();
    let hoa = tokio::task::block_in_place(|| Browser::sign_in(&console.url(), "hoa"));
    let page = hoa.get("/sync");
    assert_eq!(page.status, 200);
    let row = &page.body[page.body.find("<tr class=\"peer\">").expect("a peer row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Điện Bàn"), "the district by name: {row}");
    assert!(row.contains("đang kết nối"), "the link is up: {row}");
    // Peer, role, link, last sync, then changes to send and to receive.
    let cells: Vec<&str> = row.split("<td").skip(1).collect();
    assert!(!cells[3].contains("chưa bao giờ"), "a last sync: {row}");
    assert!(
        cells[4].starts_with(">0<") && cells[5].starts_with(">0<"),
        "nothing waits either way: {row}"
    );
    console.shutdown().await;
    net.stop_all().await;
}

/// A dossier received before the node could sign (a store from before the
/// upgrade of issue 8: its changes carry no attestation) shows "chưa ký" in
/// the dossier page's author column, in both languages, over a real
/// console; an event recorded at the console afterwards is signed by this
/// node, and its signature then vouches for the receipt beneath it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_before_signing_read_unsigned_on_the_dossier_page() {
    let dir = tempfile::tempdir().unwrap();
    let net = LocalNetwork::init(
        dir.path(),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[office(COMMUNE)],
    )
    .unwrap();
    let commune_dir = net.get(&office(COMMUNE)).unwrap().dir.clone();
    let (code, node_id) = {
        let mut c = net.open(&office(COMMUNE)).unwrap();
        add_desk_officer(&mut c, at(2, 8, 0));
        let code = receive_at_the_commune(&mut c, LAND, "Nguyễn Văn An");
        (code, c.node_id().to_string())
    };
    // Precondition: the receipt was signed; then its attestations go, as
    // in a store written before the node had its key.
    let store = rusqlite::Connection::open(commune_dir.join("store.db")).unwrap();
    let removed = store.execute("DELETE FROM attestations", []).unwrap();
    assert!(
        removed > 0,
        "precondition: the receipt's changes were signed"
    );
    drop(store);

    let clock = TestClock::new(at(2, 14, 0));
    let node = Node::open(&commune_dir).unwrap();
    let console = Console::start(node, "127.0.0.1:0".parse().unwrap(), clock.clock())
        .await
        .unwrap();
    let hoa = tokio::task::block_in_place(|| Browser::sign_in(&console.url(), "hoa"));
    let page = hoa.get(&format!("/dossiers/{code}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let row = timeline_row(&page.body, 1);
    assert!(
        row.contains("author unsigned")
            && row.contains("chưa ký (ghi trước khi nâng cấp)")
            && row.contains("unsigned (written before the upgrade)"),
        "the receipt, written before signing: {row}"
    );
    assert!(!row.contains(&node_id[..12]), "no node is claimed: {row}");
    hoa.act(&code, "forwarded", &[("office", COMMUNE), ("to", DISTRICT)]);
    let page = hoa.get(&format!("/dossiers/{code}"));
    assert_eq!(page.status, 200, "{}", page.body);
    // The forward's change, signed by this node, depends on the receipt's:
    // its signature vouches for the history beneath it (the hash chain,
    // docs/authorship.md), so the receipt now reads signed by this node.
    let row = timeline_row(&page.body, 1);
    assert!(
        row.contains("author signed") && row.contains(&node_id[..12]),
        "the receipt, under this node's later signed change: {row}"
    );
    let last = (1..=10)
        .rev()
        .find(|n| page.body.contains(&format!("<td>{n}</td>")))
        .unwrap();
    let row = timeline_row(&page.body, last);
    assert!(
        row.contains("Trần Thị Hoa")
            && row.contains("author signed")
            && row.contains(&node_id[..12]),
        "the forward recorded at the console is signed by this node: {row}"
    );
    console.shutdown().await;
}
