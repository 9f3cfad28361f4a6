//! Deadline and result notices: computed at a given `now` for the dossiers
//! a node holds, queued once in the outbox (never twice), with the
//! applicant's contact and a Vietnamese message.

#[path = "support/desk.rs"]
mod desk;

use std::process::Command;

use desk::*;
use lienthong::node::Node;
use lienthong::notices::{self, Audience, NoticeKind};
use lienthong_shared::dossier::Action;

fn kinds_of(node: &mut Node, code: &str) -> Vec<NoticeKind> {
    let mut kinds: Vec<NoticeKind> = node
        .store
        .read(|r| notices::outbox(r, None))
        .unwrap()
        .into_iter()
        .filter(|e| e.notice.code == code)
        .map(|e| e.notice.kind)
        .collect();
    kinds.sort();
    kinds
}

#[test]
fn notices_are_queued_once_as_deadlines_come_and_results_arrive() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    // Received Monday 09:00, one working day: due Tuesday 09:00.
    let due = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    start(&mut commune, &due, DIEN_PHUONG, at(2, 9, 5));
    // Resolved: the result waits at this commune's desk.
    let ready = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Trần Thị Bình");
    start(&mut commune, &ready, DIEN_PHUONG, at(2, 9, 5));
    resolve(&mut commune, &ready, DIEN_PHUONG, at(2, 10, 0));
    // Waiting for the applicant's supplement: the clock is stopped, no
    // deadline notice; the applicant is told what to bring (Form 02).
    let paused = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Lê Văn Cường");
    supplement(&mut commune, &paused, at(2, 9, 30), None);
    // Apologised for in time (Form 04): no due-soon reminder before the new due time.
    let apologised = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Phạm Thị Dung");
    start(&mut commune, &apologised, DIEN_PHUONG, at(2, 9, 5));
    act(
        &mut commune,
        &apologised,
        None,
        at(2, 9, 10),
        Action::Apologized {
            reason: "Cần xác minh thêm".into(),
            new_due: at(6, 17, 0),
        },
    );
    // A consultation with a deadline on Monday afternoon.
    let consulted = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Võ Văn Em");
    start(&mut commune, &consulted, DIEN_PHUONG, at(2, 9, 5));
    act(
        &mut commune,
        &consulted,
        None,
        at(2, 9, 20),
        Action::Consulted {
            to: id(DIEN_BAN),
            question: "Xác nhận hộ khẩu".into(),
            deadline: at(2, 15, 0),
        },
    );
    act(
        &mut commune,
        &consulted,
        None,
        at(2, 9, 30),
        Action::Apologized {
            reason: "Chờ ý kiến".into(),
            new_due: at(9, 17, 0),
        },
    );

    // Monday 10:00: seven working hours left on `due`; the result is ready.
    let monday = notices::queue(&mut commune, at(2, 10, 0)).unwrap();
    let mut queued: Vec<(String, NoticeKind)> = monday
        .queued
        .iter()
        .map(|n| (n.code.clone(), n.kind))
        .collect();
    queued.sort();
    let mut expected = vec![
        (due.clone(), NoticeKind::DueSoon),
        (ready.clone(), NoticeKind::ResultReady),
        (paused.clone(), NoticeKind::SupplementRequested),
    ];
    expected.sort();
    assert_eq!(queued, expected);
    let form02 = monday
        .queued
        .iter()
        .find(|n| n.kind == NoticeKind::SupplementRequested)
        .unwrap();
    assert_eq!(form02.audience, Audience::Applicant);
    assert!(
        form02.message.contains("Mẫu 02")
            && form02.message.contains("Giấy xác nhận tình trạng hôn nhân")
            && form02.message.contains("Thiếu giấy tờ"),
        "{}",
        form02.message
    );
    let soon = monday
        .queued
        .iter()
        .find(|n| n.kind == NoticeKind::DueSoon)
        .unwrap();
    assert_eq!(soon.audience, Audience::Office);
    assert_eq!(soon.office, DIEN_PHUONG);
    assert_eq!(
        (soon.phone.as_str(), soon.email.as_str()),
        ("0905 123 456", "an@example.vn")
    );
    assert!(
        soon.message.contains("09:00 ngày 03/03/2026"),
        "{}",
        soon.message
    );
    assert!(soon.message.contains("Mẫu 04"), "{}", soon.message);
    let result = monday
        .queued
        .iter()
        .find(|n| n.kind == NoticeKind::ResultReady)
        .unwrap();
    assert_eq!(result.audience, Audience::Applicant);
    assert_eq!(result.applicant, "Trần Thị Bình");
    assert!(
        result.message.contains("đã có kết quả")
            && result
                .message
                .contains("Ủy ban nhân dân phường Điện Phương"),
        "{}",
        result.message
    );

    // The same moment again, and a little later: nothing new.
    assert!(
        notices::queue(&mut commune, at(2, 10, 0))
            .unwrap()
            .queued
            .is_empty()
    );
    let again = notices::queue(&mut commune, at(2, 11, 0)).unwrap();
    assert!(again.queued.is_empty(), "{:?}", again.queued);
    assert_eq!(
        again.loaded, 1,
        "only the consultation's document needs a look"
    );

    // Tuesday 10:00: `due` is overdue; the consultation is past its deadline.
    let tuesday = notices::queue(&mut commune, at(3, 10, 0)).unwrap();
    let mut kinds: Vec<(String, NoticeKind)> = tuesday
        .queued
        .iter()
        .map(|n| (n.code.clone(), n.kind))
        .collect();
    kinds.sort();
    let mut expected = vec![
        (due.clone(), NoticeKind::Overdue),
        (consulted.clone(), NoticeKind::ConsultationOverdue),
    ];
    expected.sort();
    assert_eq!(kinds, expected);
    let overdue = tuesday
        .queued
        .iter()
        .find(|n| n.kind == NoticeKind::Overdue)
        .unwrap();
    assert_eq!(overdue.audience, Audience::Applicant);
    assert!(overdue.message.contains("quá hạn") && overdue.message.contains("xin lỗi"));
    let consultation = tuesday
        .queued
        .iter()
        .find(|n| n.kind == NoticeKind::ConsultationOverdue)
        .unwrap();
    assert!(
        consultation
            .message
            .contains("Ủy ban nhân dân thị xã Điện Bàn"),
        "{}",
        consultation.message
    );
    assert!(
        notices::queue(&mut commune, at(3, 10, 0))
            .unwrap()
            .queued
            .is_empty()
    );

    assert_eq!(
        kinds_of(&mut commune, &due),
        [NoticeKind::DueSoon, NoticeKind::Overdue]
    );
    assert_eq!(kinds_of(&mut commune, &ready), [NoticeKind::ResultReady]);
    assert_eq!(
        kinds_of(&mut commune, &paused),
        [NoticeKind::SupplementRequested]
    );
    assert!(kinds_of(&mut commune, &apologised).is_empty());
    let outbox = commune.store.read(|r| notices::outbox(r, None)).unwrap();
    assert_eq!(outbox.len(), 5);
    assert!(outbox.iter().all(|e| e.sent_at.is_none()));
    assert_eq!(
        commune.store.read(|r| notices::outbox(r, Some(1))).unwrap()[0].id,
        outbox[4].id
    );
}

#[test]
fn refusals_stops_and_each_supplement_request_are_queued_once() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    // Filed online and refused at the desk (Form 03).
    let refused = submit(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    act(
        &mut commune,
        &refused,
        None,
        at(2, 9, 30),
        Action::Refused {
            reason: "Không thuộc thẩm quyền".into(),
        },
    );
    // Processing stopped.
    let stopped = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Trần Thị Bình");
    start(&mut commune, &stopped, DIEN_PHUONG, at(2, 9, 5));
    act(
        &mut commune,
        &stopped,
        None,
        at(2, 9, 40),
        Action::Stopped {
            reason: "Người nộp rút hồ sơ".into(),
        },
    );
    // Asked twice for a supplement: two Form 02 notices, one per request.
    let twice = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Lê Văn Cường");
    supplement(&mut commune, &twice, at(2, 9, 10), Some(at(2, 9, 20)));

    let first = notices::queue(&mut commune, at(2, 10, 0)).unwrap();
    let mut kinds: Vec<(String, NoticeKind)> = first
        .queued
        .iter()
        .map(|n| (n.code.clone(), n.kind))
        .collect();
    kinds.sort();
    let mut expected = vec![
        (refused.clone(), NoticeKind::Refused),
        (stopped.clone(), NoticeKind::Stopped),
        (twice.clone(), NoticeKind::DueSoon),
    ];
    expected.sort();
    // The supplement was received before the run: nothing to ask for now
    // (but its one working day is nearly up).
    assert_eq!(kinds, expected);
    let message = |kind| {
        first
            .queued
            .iter()
            .find(|n| n.kind == kind)
            .unwrap()
            .message
            .clone()
    };
    assert!(
        message(NoticeKind::Refused).contains("Không thuộc thẩm quyền")
            && message(NoticeKind::Refused).contains("Mẫu 03"),
        "{}",
        message(NoticeKind::Refused)
    );
    assert!(message(NoticeKind::Stopped).contains("Người nộp rút hồ sơ"));
    assert!(
        notices::queue(&mut commune, at(2, 10, 5))
            .unwrap()
            .queued
            .is_empty()
    );

    supplement(&mut commune, &twice, at(2, 10, 10), None);
    let second = notices::queue(&mut commune, at(2, 10, 30)).unwrap();
    assert_eq!(second.queued.len(), 1, "{:?}", second.queued);
    assert_eq!(second.queued[0].kind, NoticeKind::SupplementRequested);
    assert_eq!(second.queued[0].key, "supplement-2");
    let again = notices::queue(&mut commune, at(2, 10, 40)).unwrap();
    assert!(again.queued.is_empty());
    assert_eq!(again.loaded, 0, "settled from the index alone");

    // A node that first looks long after a refusal sends nothing about it.
    let late = tempfile::tempdir().unwrap();
    let mut other = node(late.path(), DIEN_PHUONG);
    let old = submit(&mut other, DIEN_PHUONG, at(2, 9, 0), "Phạm Thị Dung");
    act(
        &mut other,
        &old,
        None,
        at(2, 9, 30),
        Action::Refused {
            reason: "Không thuộc thẩm quyền".into(),
        },
    );
    let weeks_later = notices::queue(&mut other, at(20, 10, 0)).unwrap();
    assert!(weeks_later.queued.is_empty(), "{:?}", weeks_later.queued);
    assert_eq!(weeks_later.candidates, 0);
}

#[test]
fn only_the_holders_node_queues_notices() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    let code = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    let mut province = node(root.path(), PROVINCE);
    absorb_all(&mut province, &mut commune);
    let queued = notices::queue(&mut province, at(4, 10, 0)).unwrap();
    assert!(
        queued.queued.is_empty(),
        "the province does not hold it: {:?}",
        queued.queued
    );
    assert_eq!(queued.candidates, 0);
    let queued = notices::queue(&mut commune, at(4, 10, 0)).unwrap();
    assert_eq!(queued.queued.len(), 1);
    assert_eq!(
        (queued.queued[0].code.as_str(), queued.queued[0].kind),
        (code.as_str(), NoticeKind::Overdue)
    );
}

#[test]
fn a_new_due_time_after_a_supplement_makes_a_new_notice() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    let code = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    let first = notices::queue(&mut commune, at(2, 10, 0)).unwrap();
    assert_eq!(first.queued.len(), 1);
    // Supplement asked and received: the clock restarts (due Wednesday 08:00).
    supplement(&mut commune, &code, at(2, 10, 30), Some(at(3, 8, 0)));
    let second = notices::queue(&mut commune, at(3, 9, 0)).unwrap();
    assert_eq!(second.queued.len(), 1, "{:?}", second.queued);
    assert_eq!(second.queued[0].kind, NoticeKind::DueSoon);
    assert_ne!(second.queued[0].key, first.queued[0].key);
    assert!(
        notices::queue(&mut commune, at(3, 9, 0))
            .unwrap()
            .queued
            .is_empty()
    );
}

#[test]
fn the_command_queues_and_lists_and_says_it_sends_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    let code = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    let dir = commune.dir.root().to_path_buf();
    drop(commune);
    let d = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lienthong"))
            .env_remove(lienthong::i18n::LANG_ENV)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "notices",
        "--data",
        d,
        "--now",
        "2026-03-04 10:00",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["queued"], 1);
    let entry = &json["outbox"][0];
    assert_eq!(entry["code"], code.as_str());
    assert_eq!(entry["kind"], "overdue");
    assert_eq!(entry["audience"], "applicant");
    assert_eq!(entry["phone"], "0905 123 456");
    assert_eq!(entry["sent_at"], serde_json::Value::Null);
    let again: serde_json::Value = serde_json::from_str(&run(&[
        "notices",
        "--data",
        d,
        "--now",
        "2026-03-04 10:00",
        "--json",
    ]))
    .unwrap();
    assert_eq!(again["queued"], 0);
    assert_eq!(again["outbox"].as_array().unwrap().len(), 1);
    let human = run(&["notices", "--data", d, "--now", "2026-03-04 10:00"]);
    // Vietnamese by default, local time, the office by name.
    assert!(
        human.contains("Đã xếp 0 thông báo mới lúc 04/03/2026 10:00")
            && human.contains("không gửi gì")
            && human.contains(&code)
            && human.contains("quá hạn → người nộp")
            && human.contains("từ Ủy ban nhân dân phường Điện Phương [chờ gửi]")
            && human.contains("1 thông báo: 0 đã gửi, 1 chờ gửi, 0 gửi lỗi.")
            && human.contains("Chưa cấu hình cổng gửi"),
        "{human}"
    );
    // A failed try shows how many, when the next is, and why; then delivered.
    let id = json["outbox"][0]["id"].as_i64().unwrap();
    let mut node = Node::open(&dir).unwrap();
    node.store
        .write(|w| w.mark_notice_failed(id, "webhook answered 503: modem busy", at(4, 10, 5)))
        .unwrap();
    drop(node);
    let failed = run(&["notices", "--data", d, "--now", "2026-03-04 10:00"]);
    assert!(
        failed.contains("[gửi lỗi 1 lần, thử lại 04/03/2026 10:05]")
            && failed.contains("lỗi lần cuối: webhook answered 503: modem busy")
            && failed.contains("0 đã gửi, 0 chờ gửi, 1 gửi lỗi"),
        "{failed}"
    );
    let mut node = Node::open(&dir).unwrap();
    node.store
        .write(|w| w.mark_notice_delivered(id, at(4, 10, 6)))
        .unwrap();
    drop(node);
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "notices",
        "--data",
        d,
        "--now",
        "2026-03-04 10:00",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["outbox"][0]["attempts"], 1);
    assert!(json["outbox"][0]["sent_at"].is_string());
    let english = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .env(lienthong::i18n::LANG_ENV, "en")
        .args(["notices", "--data", d, "--now", "2026-03-04 10:00"])
        .output()
        .unwrap();
    let english = String::from_utf8(english.stdout).unwrap();
    assert!(
        english.contains("[sent 04/03/2026 10:06]")
            && english.contains("1 notice(s): 1 delivered, 0 pending, 0 failed.")
            && !english.contains("last error"),
        "{english}"
    );
    let help = run(&["notices", "--help"]);
    assert!(
        help.contains("sends nothing") && help.contains("gateway"),
        "{help}"
    );
}

/// The running daemon queues a notice and hands it to the configured
/// command hook, which gets the JSON and the key.
#[test]
fn the_daemon_delivers_the_outbox_through_the_command_hook() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    // Due in March 2026: overdue by the system clock the daemon runs on.
    let code = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    let dir = commune.dir.root().to_path_buf();
    let sent = root.path().join("sent.jsonl");
    let mut config = commune.config.clone();
    config.gateway = Some(lienthong::config::GatewayConfig {
        webhook: None,
        command: Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("{{ cat; echo; }} >> {}", sent.display()),
        ]),
        timeout_seconds: 10,
        max_backoff_seconds: 60,
        ca_file: None,
    });
    config.save(&dir.join("node.toml")).unwrap();
    drop(commune);

    let mut child = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--console",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Until the hook has the notice and the daemon has recorded it delivered.
    let recorded = |code: &str| {
        Node::open(&dir)
            .ok()
            .and_then(|mut n| n.store.read(|r| notices::outbox(r, None)).ok())
            .is_some_and(|o| {
                o.iter()
                    .any(|e| e.notice.code == code && e.sent_at.is_some())
            })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let delivered = loop {
        let text = std::fs::read_to_string(&sent).unwrap_or_default();
        if (!text.is_empty() && recorded(&code)) || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    let notice: serde_json::Value =
        serde_json::from_str(delivered.lines().next().unwrap_or("null"))
            .unwrap_or_else(|e| panic!("not delivered within 30 s ({e}): {delivered:?}"));
    assert_eq!(notice["code"], code.as_str());
    assert_eq!(notice["kind"], "overdue");
    assert!(
        notice["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("lt-")
    );
    let mut node = Node::open(&dir).unwrap();
    let outbox = node.store.read(|r| notices::outbox(r, None)).unwrap();
    assert!(
        outbox
            .iter()
            .any(|e| e.notice.code == code && e.sent_at.is_some()),
        "{outbox:?}"
    );
}
