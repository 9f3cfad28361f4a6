//! The console's dossier page, actions, attachments and sync page, over a
//! real HTTP server on 127.0.0.1 (port chosen by the OS) and a real client
//! (ureq). Session cookies and CSRF tokens are read back from the pages,
//! as a browser would. Times are fixed (March 2026, inside the shipped
//! calendar); waits for sync are polls with deadlines.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::path::Path;
use std::time::Duration;

use browser::{Browser, PASSWORD, TestClock, reply};
use chrono::{DateTime, TimeZone, Utc};
use lienthong::console::Console;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong::service::accounts::{self, Role};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::Status;
use lienthong_shared::dossier::schema::Applicant;
use support::{COMMUNE, DISTRICT, LAND, PROVINCE};

const TAX: &str = "province:quang-nam/cuc-thue";
const LAND_DEPT: &str = "province:quang-nam/so-tai-nguyen-moi-truong";
const WAIT: Duration = Duration::from_secs(30);

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

/// Local time (Asia/Ho_Chi_Minh) in March 2026; 2 March is a Monday.
fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn add_account(node: &mut Node, name: &str, display: &str, role: Role) {
    accounts::add(node, name, display, role, PASSWORD, at(2, 8, 0)).unwrap();
}

fn land_dossier(node: &mut Node, applicant: &str, when: DateTime<Utc>) -> String {
    let new = NewDossier::at_the_desk(
        LAND,
        Applicant {
            name: applicant.into(),
            ..Applicant::default()
        },
    );
    officer::receive(node, &office(COMMUNE), "Trần Thị Hoa", when, &new)
        .unwrap()
        .code
}

fn status_of(node: &mut Node, code: &str) -> Option<Status> {
    officer::resolve(node, code).unwrap().status
}

async fn start_console(dir: &Path, clock: &TestClock) -> Console {
    let node = Node::open(dir).unwrap();
    Console::start(node, "127.0.0.1:0".parse().unwrap(), clock.clock())
        .await
        .unwrap()
}

/// A land dossier goes commune → district → tax department → land
/// department and back, every step posted at the consoles of three real
/// nodes syncing over QUIC; each page shows office names and local times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_posted_at_three_consoles_carry_a_dossier_up_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let offices = [office(PROVINCE), office(DISTRICT), office(COMMUNE)];
    let mut net = LocalNetwork::init(
        dir.path(),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &offices,
    )
    .unwrap();
    let clock = TestClock::new(at(2, 9, 0));
    let (commune_dir, district_dir, province_dir) = (
        net.get(&office(COMMUNE)).unwrap().dir.clone(),
        net.get(&office(DISTRICT)).unwrap().dir.clone(),
        net.get(&office(PROVINCE)).unwrap().dir.clone(),
    );
    let code = {
        let mut c = net.open(&office(COMMUNE)).unwrap();
        add_account(&mut c, "hoa", "Trần Thị Hoa", Role::Desk);
        let mut d = net.open(&office(DISTRICT)).unwrap();
        add_account(&mut d, "binh", "Lê Văn Bình", Role::Processing);
        let mut p = net.open(&office(PROVINCE)).unwrap();
        add_account(&mut p, "cuong", "Phạm Quốc Cường", Role::Leader);
        land_dossier(&mut c, "Nguyễn Văn An", at(2, 9, 0))
    };
    net.start_all().await.unwrap();
    let commune = start_console(&commune_dir, &clock).await;
    let district = start_console(&district_dir, &clock).await;
    let province = start_console(&province_dir, &clock).await;
    let hoa = tokio::task::block_in_place(|| Browser::sign_in(&commune.url(), "hoa"));
    // A session lasts a working day (12 hours): each officer signs in on
    // the day they act, as at a real desk.
    let sign_in = |console: &Console, name: &str| {
        tokio::task::block_in_place(|| Browser::sign_in(&console.url(), name))
    };

    // The commune's page: names, not ids; local times; the forward form.
    let page = hoa.get(&format!("/dossiers/{code}"));
    assert_eq!(page.status, 200, "{}", page.body);
    // Kept for a person to look at (target/tmp/console-dossier-page.html).
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-dossier-page.html"),
        &page.body,
    );
    assert!(page.body.contains("Nguyễn Văn An"), "the applicant");
    assert!(
        page.body.contains("Phường Điện Phương") || page.body.contains("Điện Phương"),
        "the receiving office by name"
    );
    assert!(
        !page.body.contains(">commune:dien-ban/dien-phuong<"),
        "no office id shown as text"
    );
    assert!(
        page.body.contains("02/03/2026 09:00"),
        "received at 09:00 local time, not UTC 02:00"
    );
    assert!(!page.body.contains("02:00:00 UTC"), "no UTC times");
    assert!(page.body.contains("100.000 đ"), "the fee in đồng");
    // Received at 09:00 on Monday 2 March and looked at then: all of its
    // 30 working days are left.
    assert!(
        page.body.contains("còn 30 ngày 0 giờ 0 phút làm việc"),
        "working time left: {}",
        page.body
    );
    assert!(
        page.body.contains("/actions/forwarded"),
        "the desk may forward"
    );
    assert!(
        page.body
            .contains(&format!("<option value=\"{DISTRICT}\" selected>")),
        "the picker defaults to the route's next step, the district"
    );
    assert!(
        page.body.contains("Trần Thị Hoa"),
        "the officer in the timeline"
    );

    clock.set(at(2, 10, 0));
    hoa.act(&code, "forwarded", &[("office", COMMUNE), ("to", DISTRICT)]);
    let mut c = Node::open(&commune_dir).unwrap();
    let key = officer::resolve(&mut c, &code).unwrap().key;
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

    clock.set(at(2, 14, 0));
    let binh = sign_in(&district, "binh");
    binh.act(&code, "accepted", &[("office", DISTRICT)]);
    clock.set(at(3, 9, 0));
    let binh = sign_in(&district, "binh");
    binh.act(
        &code,
        "forwarded",
        &[("office", DISTRICT), ("to", TAX), ("days", "5")],
    );
    net.wait_until(
        &office(PROVINCE),
        "the transfer to the tax department",
        WAIT,
        |n| {
            officer::resolve(n, &code)
                .ok()
                .and_then(|r| r.transfer_to)
                .as_deref()
                == Some(TAX)
        },
    )
    .await
    .unwrap();

    clock.set(at(3, 14, 0));
    let cuong = sign_in(&province, "cuong");
    cuong.act(&code, "accepted", &[("office", TAX)]);
    clock.set(at(4, 9, 0));
    let cuong = sign_in(&province, "cuong");
    cuong.act(&code, "forwarded", &[("office", TAX), ("to", LAND_DEPT)]);
    clock.set(at(4, 10, 0));
    cuong.act(&code, "accepted", &[("office", LAND_DEPT)]);
    clock.set(at(5, 9, 0));
    let cuong = sign_in(&province, "cuong");
    cuong.act(
        &code,
        "approved",
        &[("office", LAND_DEPT), ("note", "Đủ điều kiện")],
    );
    clock.set(at(5, 10, 0));
    cuong.act(
        &code,
        "result_issued",
        &[
            ("office", LAND_DEPT),
            ("result", "Giấy chứng nhận quyền sử dụng đất"),
        ],
    );
    let page = cuong.get(&format!("/dossiers/{code}"));
    assert!(
        page.body.contains("Phạm Quốc Cường"),
        "the signed-in officer is recorded"
    );
    assert!(
        page.body.contains("05/03/2026 10:00"),
        "issued at local time"
    );

    net.wait_until(
        &office(COMMUNE),
        "the result back at the commune",
        WAIT,
        |n| status_of(n, &code) == Some(Status::Resolved),
    )
    .await
    .unwrap();
    clock.set(at(6, 9, 0));
    let hoa = sign_in(&commune, "hoa");
    let page = hoa.get(&format!("/dossiers/{code}"));
    assert!(
        page.body.contains("/actions/returned"),
        "the return desk may hand it over"
    );
    hoa.act(
        &code,
        "returned",
        &[("office", COMMUNE), ("channel", "direct")],
    );
    assert_eq!(status_of(&mut c, &code), Some(Status::Returned));
    let (dossier, state) = support::fold_at(&mut c, &key, at(6, 9, 0));
    let officers: Vec<&str> = dossier
        .events
        .iter()
        .filter_map(|e| match e {
            lienthong_shared::dossier::StoredEvent::Valid(e) => Some(e.officer.as_str()),
            _ => None,
        })
        .collect();
    assert!(officers.contains(&"Lê Văn Bình") && officers.contains(&"Phạm Quốc Cường"));
    assert!(
        state.conflicts.is_empty(),
        "every step was allowed: {:?}",
        state.conflicts
    );

    commune.shutdown().await;
    district.shutdown().await;
    province.shutdown().await;
    net.stop_all().await;
}

/// On one commune node: a refused action, a missing token and a role
/// without the right each get the error page and change nothing; an upload
/// round-trips and one past the limit is refused; the sync page lists the
/// commune's peer by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_change_nothing_and_attachments_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let offices = [office(DISTRICT), office(COMMUNE)];
    let net = LocalNetwork::init(
        dir.path(),
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &offices,
    )
    .unwrap();
    let commune_dir = net.get(&office(COMMUNE)).unwrap().dir.clone();
    let clock = TestClock::new(at(2, 10, 0));
    let mut c = net.open(&office(COMMUNE)).unwrap();
    add_account(&mut c, "hoa", "Trần Thị Hoa", Role::Desk);
    let code = land_dossier(&mut c, "Nguyễn Văn An", at(2, 9, 0));
    let key = officer::resolve(&mut c, &code).unwrap().key;

    const LIMIT: u64 = 128 * 1024;
    let mut node = Node::open(&commune_dir).unwrap();
    node.config.limits.max_attachment_bytes = LIMIT;
    let console = Console::start(node, "127.0.0.1:0".parse().unwrap(), clock.clock())
        .await
        .unwrap();
    let hoa = tokio::task::block_in_place(|| Browser::sign_in(&console.url(), "hoa"));
    let heads = support::sorted_heads(&mut c, &key);

    // The rules refuse: there is no result to hand over yet.
    let r = hoa.post(
        &format!("/dossiers/{code}/actions/returned"),
        &[("office", COMMUNE), ("channel", "direct")],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("Không có gì bị thay đổi"),
        "says nothing changed"
    );
    assert!(r.body.contains("Nothing was changed"), "in English too");
    assert_eq!(
        support::sorted_heads(&mut c, &key),
        heads,
        "a refused action writes nothing"
    );

    // No CSRF token (or a wrong one): refused before the form is read.
    let r = hoa.post_raw(
        &format!("/dossiers/{code}/actions/refused"),
        &[("office", COMMUNE), ("reason", "x")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("anti-forgery"), "{}", r.body);
    let r = hoa.post_raw(
        &format!("/dossiers/{code}/actions/refused"),
        &[
            ("csrf", "not-the-token"),
            ("office", COMMUNE),
            ("reason", "x"),
        ],
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        support::sorted_heads(&mut c, &key),
        heads,
        "a forged form writes nothing"
    );

    // A desk officer may not approve, whatever the dossier's state.
    let r = hoa.post(
        &format!("/dossiers/{code}/actions/approved"),
        &[("office", COMMUNE)],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("Cán bộ một cửa"),
        "names the role: {}",
        r.body
    );
    assert_eq!(
        support::sorted_heads(&mut c, &key),
        heads,
        "a role refusal writes nothing"
    );

    // A form missing what the action needs.
    let r = hoa.post(
        &format!("/dossiers/{code}/actions/refused"),
        &[("office", COMMUNE)],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        support::sorted_heads(&mut c, &key),
        heads,
        "an incomplete form writes nothing"
    );

    // Upload, then download the same bytes.
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let r = hoa
        .upload(&code, &hoa.csrf, "Đơn đăng ký", "don-dang-ky.pdf", &content)
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.body);
    let page = hoa.get(&format!("/dossiers/{code}"));
    assert!(
        page.body.contains("don-dang-ky.pdf"),
        "the attachment is listed"
    );
    let refs = officer::attachments_of(&officer::load(&mut c, &key).unwrap().1);
    assert_eq!(refs.len(), 1);
    let hash = refs[0].hash.clone();
    assert!(
        page.body.contains(&format!("/attachments/{hash}")),
        "with a download link"
    );
    let downloaded = tokio::task::block_in_place(|| {
        let response = hoa
            .agent
            .get(format!("{}/dossiers/{code}/attachments/{hash}", hoa.base))
            .header("cookie", &hoa.cookie)
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.into_body().read_to_vec().unwrap()
    });
    assert_eq!(
        downloaded, content,
        "the download is the upload, byte for byte"
    );

    // Without the token an upload is refused before its body is read.
    let heads = support::sorted_heads(&mut c, &key);
    let r = hoa.upload(&code, "", "Đơn", "a.pdf", b"%PDF-1.4").unwrap();
    assert_eq!(r.status, 403);
    // Not a multipart upload at all: the error page, not a bare rejection.
    let r = tokio::task::block_in_place(|| {
        reply(
            hoa.agent
                .post(format!(
                    "{}/dossiers/{code}/attachments?csrf={}",
                    hoa.base, hoa.csrf
                ))
                .header("cookie", &hoa.cookie)
                .send_form([("component", "Đơn")])
                .unwrap(),
        )
    });
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("Không nhận được tệp"), "{}", r.body);
    // Past the limit: refused, nothing stored, no temporary file left.
    let big = vec![7u8; (LIMIT + 64 * 1024) as usize];
    match hoa.upload(&code, &hoa.csrf, "Đơn", "big.pdf", &big) {
        Ok(r) => {
            assert_eq!(r.status, 413, "{}", r.body);
            assert!(r.body.contains("128.0 KiB"), "names the limit: {}", r.body);
        }
        // The server may close the connection before the client has sent it all.
        Err(e) => eprintln!("the oversized upload was cut off: {e}"),
    }
    assert_eq!(
        support::sorted_heads(&mut c, &key),
        heads,
        "refused uploads write nothing"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&commune_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".upload-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary upload files removed: {leftovers:?}"
    );

    // A dossier received under the 2018 rules links its forms by number
    // (Mẫu 03 only once refused); English comes first once switched.
    let old = {
        let new = NewDossier::at_the_desk(
            LAND,
            Applicant {
                name: "Võ Thị Lan".into(),
                ..Applicant::default()
            },
        );
        let when = chrono_tz::Asia::Ho_Chi_Minh
            .with_ymd_and_hms(2025, 3, 3, 9, 0, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc);
        officer::receive(&mut c, &office(COMMUNE), "Trần Thị Hoa", when, &new)
            .unwrap()
            .code
    };
    let page = hoa.get(&format!("/dossiers/{old}"));
    assert_eq!(page.status, 200, "{}", page.body);
    for form in ["mau-01", "mau-05"] {
        assert!(
            page.body
                .contains(&format!("/dossiers/{old}/forms/{form}\"")),
            "links {form}"
        );
    }
    assert!(
        !page.body.contains("forms/mau-03"),
        "no refusal form for a dossier not refused"
    );
    assert!(
        page.body.contains(&format!("/dossiers/{old}/forms\"")),
        "links the forms index"
    );
    let english = tokio::task::block_in_place(|| {
        reply(
            hoa.agent
                .get(format!("{}/dossiers/{old}", hoa.base))
                .header("cookie", format!("{}; lt_lang=en", hoa.cookie))
                .call()
                .unwrap(),
        )
    });
    assert!(
        english.body.contains("<html lang=\"en\""),
        "the page in English"
    );
    assert!(
        english.body.contains(&format!(
            "<h1>Dossier {old} <span class=\"other\" lang=\"vi\">Hồ sơ {old}</span>"
        )),
        "English first, Vietnamese beside: {}",
        english.body
    );
    assert!(
        english.body.contains("100,000 VND"),
        "money the English way"
    );

    // The sync page: the district, by name, with its short node id, its
    // last sync and the refusals with their reason, in local time.
    let district_id = Node::open(&net.get(&office(DISTRICT)).unwrap().dir)
        .unwrap()
        .node_id();
    c.store
        .write(|w| {
            w.set_peer_link(district_id.as_bytes(), false, at(2, 9, 50), true, None)?;
            w.add_refusals(
                district_id.as_bytes(),
                2,
                "dossier H01-0001 (received at commune:x) is not in the scope of district:y: a dossier goes only to its origin, the offices on its route and their ancestors",
                at(2, 9, 45),
            )
        })
        .unwrap();
    let page = hoa.get("/sync");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Ủy ban nhân dân thị xã Điện Bàn"),
        "the peer's office by name: {}",
        page.body
    );
    let district_id = district_id.to_string();
    assert!(
        page.body.contains(&district_id[..13]),
        "the peer's short node id"
    );
    assert!(
        page.body.contains("mất kết nối"),
        "the link is down (no daemon running)"
    );
    assert!(
        page.body.contains("02/03/2026 09:50"),
        "the last sync in local time"
    );
    assert!(
        page.body.contains("Đã từ chối 2 tài liệu từ Ủy ban nhân dân thị xã Điện Bàn; lần cuối 02/03/2026 09:45: Hồ sơ không thuộc phạm vi của cơ quan này")
            && page.body.contains("liên hệ cán bộ vận hành của cơ quan gửi")
            && page.body.contains("Chi tiết kỹ thuật (tiếng Anh): dossier H01-0001 (received at commune:x) is not in the scope"),
        "the refusals with their reason: {}",
        page.body
    );

    console.shutdown().await;
}

/// On a node the attachment has not fully reached, the page shows how much
/// has arrived (from the store's chunk bookkeeping) and the download is
/// refused with the same figures, never a truncated file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_still_arriving_shows_its_progress() {
    let dir = tempfile::tempdir().unwrap();
    let mut commune = support::node(dir.path(), "commune", COMMUNE);
    let mut district = support::node(dir.path(), "district", DISTRICT);
    let code = land_dossier(&mut commune, "Nguyễn Văn An", at(2, 9, 0));
    let key = officer::resolve(&mut commune, &code).unwrap().key;
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let file = dir.path().join("so-do.pdf");
    std::fs::write(&file, &content).unwrap();
    let (_, attachment) = officer::attach(
        &mut commune,
        &code,
        None,
        "Trần Thị Hoa",
        at(2, 9, 30),
        &officer::NewAttachment {
            file,
            component: "Sơ đồ thửa đất".into(),
            name: None,
            media_type: None,
        },
    )
    .unwrap();
    // The district gets the document, not yet the file's bytes.
    let saved = support::document(&mut commune, &key).save();
    support::absorb(&mut district, &key, &saved, at(2, 10, 0)).unwrap();
    add_account(&mut district, "binh", "Lê Văn Bình", Role::Processing);
    let district_dir = district.dir.root().to_path_buf();
    let clock = TestClock::new(at(2, 10, 0));
    let console = start_console(&district_dir, &clock).await;
    let binh = tokio::task::block_in_place(|| Browser::sign_in(&console.url(), "binh"));

    let page = binh.get(&format!("/dossiers/{code}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("so-do.pdf"), "the reference is listed");
    assert!(
        page.body.contains("chưa về nút này"),
        "not here yet: {}",
        page.body
    );
    let link = format!("/attachments/{}", attachment.hash);
    assert!(
        !page
            .body
            .contains(&format!("href=\"/dossiers/{code}{link}\"")),
        "no download link yet"
    );

    // The first 64 KiB chunk arrives.
    let hash = lienthong_shared::dossier::attachment::parse_hash(&attachment.hash).unwrap();
    district
        .store
        .write(|w| w.save_blob_chunks(&hash, vec![(0, content[..64 * 1024].to_vec())]))
        .unwrap();
    let page = binh.get(&format!("/dossiers/{code}"));
    assert!(
        page.body.contains("64.0 KiB / 97.7 KiB (65%)"),
        "progress: {}",
        page.body
    );
    let r = binh.get(&format!("/dossiers/{code}{link}"));
    assert_eq!(r.status, 409, "a partial file is not served");
    assert!(
        r.body.contains("64.0 KiB"),
        "says how much is here: {}",
        r.body
    );

    // An unknown dossier is a clear 404, not a crash.
    let r = binh.get("/dossiers/000.00.00.H49-260302-9999");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Không có gì bị thay đổi"));
    console.shutdown().await;
}
