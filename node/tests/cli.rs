//! The `lienthong` binary as officers use it: whole workflows on one node
//! (a commune, and the province acting for its agencies with `--as`),
//! `show --json` after every step, `list` filters, refusals that say what
//! is wrong and write nothing, broken configuration, `init` mistakes, and
//! several nodes side by side.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

/// `show --json` of a dossier, judged at `now`.
fn show(dir: &Path, code: &str, now: &str) -> Value {
    json(&[
        "show",
        "--data",
        dir.to_str().unwrap(),
        code,
        "--json",
        "--now",
        now,
    ])
}

/// What `show --json` must say after a step.
struct Expect<'a> {
    status: &'a str,
    holder: &'a str,
    transfer_to: Option<&'a str>,
    events: usize,
    /// The last event: kind, office, officer.
    last: (&'a str, &'a str, &'a str),
}

fn assert_shows(dir: &Path, code: &str, now: &str, expect: &Expect<'_>) {
    let shown = show(dir, code, now);
    let state = &shown["state"];
    let step = expect.last.0;
    assert_eq!(state["status"], expect.status, "after {step}: {state:#}");
    assert_eq!(state["holder"], expect.holder, "after {step}: {state:#}");
    assert_eq!(
        state["transfer"]["to"].as_str(),
        expect.transfer_to,
        "after {step}: {state:#}"
    );
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events.len(), expect.events, "after {step}");
    assert!(
        events.iter().all(|e| e["applied"] == true),
        "after {step}: every event applies: {events:#?}"
    );
    assert_eq!(state["conflicts"].as_array().unwrap().len(), 0);
    let last = &events.last().unwrap()["event"];
    assert_eq!(last["action"]["kind"], expect.last.0);
    assert_eq!(last["office"], expect.last.1);
    assert_eq!(last["officer"], expect.last.2);
}

/// Run an officer command on `code`; returns its `--json` output.
fn step(dir: &Path, code: &str, officer: &str, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend([
        "--data",
        dir.to_str().unwrap(),
        code,
        "--officer",
        officer,
        "--json",
    ]);
    json(&full)
}

fn list_codes(dir: &Path, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "--data", dir.to_str().unwrap(), "--json"];
    args.extend(filters);
    json(&args)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_commune_dossier_walks_from_receipt_to_return() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    // Birth registration: same day, decided at the commune itself.
    let code = receive(&dir, BIRTH, "2026-03-02 09:00");
    assert_eq!(code, "000.01.36.H49-260302-0001");
    let now = "2026-03-02 09:01";
    // The commune decides it itself: the desk hands it to the commune's own
    // processing in the same receipt — status 4 at once, no self-forward
    // for the officer to type.
    assert_shows(
        &dir,
        &code,
        now,
        &Expect {
            status: "processing",
            holder: COMMUNE,
            transfer_to: None,
            events: 3,
            last: ("accepted", COMMUNE, "Trần Thị Hoa"),
        },
    );
    let shown = show(&dir, &code, now);
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["action"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["received", "forwarded", "accepted"]);
    // Same day, received before the 15:00 cut-off: due 17:00 that day (D2).
    assert_eq!(shown["state"]["due_at"], "2026-03-02T10:00:00Z");

    let steps: [(&[&str], &str, &str); 4] = [
        (
            &["appraise", "--outcome", "ok", "--at", "2026-03-02 09:30"],
            "appraised",
            "processing",
        ),
        (
            &["approve", "--at", "2026-03-02 10:00"],
            "approved",
            "processing",
        ),
        (
            &[
                "issue-result",
                "--result",
                "Giấy khai sinh",
                "--at",
                "2026-03-02 10:05",
            ],
            "result_issued",
            "resolved",
        ),
        (
            &["return", "--at", "2026-03-02 10:30"],
            "returned",
            "returned",
        ),
    ];
    for (i, (args, kind, status)) in steps.into_iter().enumerate() {
        let out = step(&dir, &code, "Lê Văn Bình", args);
        assert_eq!(out["state"]["status"], status, "{kind}");
        assert_eq!(out["event"]["action"]["kind"], kind);
        assert_shows(
            &dir,
            &code,
            "2026-03-02 11:00",
            &Expect {
                status,
                holder: COMMUNE,
                transfer_to: None,
                events: 4 + i,
                last: (kind, COMMUNE, "Lê Văn Bình"),
            },
        );
    }
    let shown = show(&dir, &code, "2026-03-02 11:00");
    assert_eq!(shown["state"]["timeliness"], "on_time");
    assert_eq!(shown["state"]["result"]["return_office"], COMMUNE);
    assert_eq!(shown["state"]["returned_at"], "2026-03-02T03:30:00Z");
    // The human view names the procedure and shows the timeline.
    let human = ok(&["show", "--data", dir.to_str().unwrap(), &code]);
    assert!(
        human.contains("Đăng ký khai sinh") && human.contains("Timeline"),
        "{human}"
    );
    // Issue 8: each event names the node whose signature its change carries.
    assert!(human.contains("Written by node (verified)"), "{human}");
    let events = shown["events"].as_array().unwrap();
    assert!(!events.is_empty());
    let first = &events[0]["written_by"];
    for event in events {
        assert_eq!(event["written_by"]["author"], "signed", "{event}");
        assert_eq!(
            event["written_by"]["node"], first["node"],
            "one node wrote them all"
        );
        assert_eq!(event["written_by"]["office"], COMMUNE);
    }
    assert!(
        first["node"].as_str().unwrap().starts_with("lt1"),
        "{first}"
    );
    // A final dossier takes no more processing, but notes are still welcome.
    let e = fails(&[
        "approve",
        "--data",
        dir.to_str().unwrap(),
        &code,
        "--officer",
        "B",
        "--at",
        "2026-03-02 11:00",
    ]);
    assert!(e.contains("is returned"), "{e}");
    step(
        &dir,
        &code,
        "B",
        &["note", "--text", "Đã gọi báo", "--at", "2026-03-02 11:00"],
    );
    check_store(&dir);
}

#[test]
fn a_dossier_forwarded_up_waits_for_the_other_office() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, LAND, "2026-03-02 09:00");
    // The commune is the route's first step (it confirms the land's
    // origin): the receipt takes the dossier straight into its processing,
    // and a plain forward does not skip that step.
    let shown = show(&dir, &code, "2026-03-02 09:01");
    assert_eq!(shown["state"]["status"], "processing");
    assert_eq!(shown["state"]["holder"], COMMUNE);
    assert_eq!(
        shown["events"][1]["event"]["action"]["task"],
        "Xác nhận hiện trạng, nguồn gốc sử dụng đất; niêm yết công khai"
    );
    assert_eq!(shown["events"][1]["event"]["action"]["days"], 10);
    // No --to: the next office on the route (the district).
    let out = step(&dir, &code, "Hoa", &["forward", "--at", "2026-03-02 10:00"]);
    assert_eq!(out["event"]["action"]["to"], DISTRICT);
    assert_eq!(out["event"]["action"]["days"], 8);
    let expect = Expect {
        status: "processing",
        holder: COMMUNE,
        transfer_to: Some(DISTRICT),
        events: 4,
        last: ("forwarded", COMMUNE, "Hoa"),
    };
    assert_shows(&dir, &code, "2026-03-02 11:00", &expect);
    // Only the district may accept; this node does not serve it.
    let before = fingerprint(&dir);
    let e = fails(&[
        "accept",
        "--data",
        d,
        &code,
        "--officer",
        "Hoa",
        "--at",
        "2026-03-02 10:30",
    ]);
    assert!(
        e.contains("`accept` refused")
            && e.contains("only Ủy ban nhân dân thị xã Điện Bàn, the office it was forwarded to")
            && !e.contains(DISTRICT)
            && e.contains("`cancel-forward`"),
        "{e}"
    );
    let e = fails(&[
        "accept",
        "--data",
        d,
        &code,
        "--officer",
        "Hoa",
        "--as",
        DISTRICT,
        "--at",
        "2026-03-02 10:30",
    ]);
    assert!(e.contains("cannot act as district:dien-ban"), "{e}");
    assert_unchanged(&before, &fingerprint(&dir), "refused accept");
    // While in transfer nobody processes it.
    let e = fails(&[
        "appraise",
        "--data",
        d,
        &code,
        "--officer",
        "Hoa",
        "--outcome",
        "ok",
        "--at",
        "2026-03-02 10:30",
    ]);
    // Offices by name in prose, never by id.
    assert!(
        e.contains("in transfer to Ủy ban nhân dân thị xã Điện Bàn"),
        "{e}"
    );
    // The sender takes it back.
    step(
        &dir,
        &code,
        "Hoa",
        &[
            "cancel-forward",
            "--reason",
            "Thiếu bản vẽ",
            "--at",
            "2026-03-02 11:00",
        ],
    );
    assert_shows(
        &dir,
        &code,
        "2026-03-02 11:00",
        &Expect {
            status: "processing",
            holder: COMMUNE,
            transfer_to: None,
            events: 5,
            last: ("forward_cancelled", COMMUNE, "Hoa"),
        },
    );
    assert_eq!(list_codes(&dir, &["--holder", COMMUNE]), vec![code.clone()]);
    check_store(&dir);
}

/// One step of a walk: the command and its flags, the office it acts as
/// (`--as`), then what `show` must say: status, holder, in transfer to,
/// and the kind of the event appended.
type WalkStep<'a> = (
    &'a [&'a str],
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
);

#[test]
fn the_province_node_acts_for_its_agencies_with_as() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "province", PROVINCE);
    let d = dir.to_str().unwrap();
    // Judicial record certificate, received at the Center's desk.
    let code = receive_as(&dir, JUDICIAL_RECORD, "2026-03-02 09:00", Some(PROVINCE));
    assert_eq!(code, "000.00.00.H49-260302-0001");
    let other = receive(&dir, LAND, "2026-03-02 09:30");
    let now = "2026-03-06 17:00";
    let walk: [WalkStep<'_>; 10] = [
        (
            &["forward", "--to", SO_TU_PHAP, "--at", "2026-03-02 10:00"],
            PROVINCE,
            "received",
            PROVINCE,
            Some(SO_TU_PHAP),
            "forwarded",
        ),
        (
            &["accept", "--at", "2026-03-02 10:30"],
            SO_TU_PHAP,
            "processing",
            SO_TU_PHAP,
            None,
            "accepted",
        ),
        (
            &["appraise", "--outcome", "ok", "--at", "2026-03-02 14:00"],
            SO_TU_PHAP,
            "processing",
            SO_TU_PHAP,
            None,
            "appraised",
        ),
        (
            &["forward", "--to", CONG_AN, "--at", "2026-03-02 15:00"],
            SO_TU_PHAP,
            "processing",
            SO_TU_PHAP,
            Some(CONG_AN),
            "forwarded",
        ),
        (
            &["accept", "--at", "2026-03-03 08:00"],
            CONG_AN,
            "processing",
            CONG_AN,
            None,
            "accepted",
        ),
        (
            &["forward", "--to", SO_TU_PHAP, "--at", "2026-03-04 08:00"],
            CONG_AN,
            "processing",
            CONG_AN,
            Some(SO_TU_PHAP),
            "forwarded",
        ),
        (
            &["accept", "--at", "2026-03-04 09:00"],
            SO_TU_PHAP,
            "processing",
            SO_TU_PHAP,
            None,
            "accepted",
        ),
        (
            &["approve", "--at", "2026-03-05 09:00"],
            SO_TU_PHAP,
            "processing",
            SO_TU_PHAP,
            None,
            "approved",
        ),
        // The result goes back to the Center's return desk (R1).
        (
            &[
                "issue-result",
                "--result",
                "Phiếu lý lịch tư pháp số 1",
                "--at",
                "2026-03-05 10:00",
            ],
            SO_TU_PHAP,
            "resolved",
            PROVINCE,
            None,
            "result_issued",
        ),
        (
            &["return", "--at", "2026-03-06 08:00"],
            PROVINCE,
            "returned",
            PROVINCE,
            None,
            "returned",
        ),
    ];
    for (i, (args, office, status, holder, transfer_to, kind)) in walk.into_iter().enumerate() {
        let mut args = args.to_vec();
        args.extend(["--as", office]);
        step(&dir, &code, "Cán bộ", &args);
        assert_shows(
            &dir,
            &code,
            now,
            &Expect {
                status,
                holder,
                transfer_to,
                events: 2 + i,
                last: (kind, office, "Cán bộ"),
            },
        );
        // Mid-way, the agencies' queues.
        if kind == "accepted" && office == CONG_AN {
            assert_eq!(list_codes(&dir, &["--holder", CONG_AN]), vec![code.clone()]);
            assert_eq!(
                list_codes(&dir, &["--holder", SO_TU_PHAP]),
                Vec::<String>::new()
            );
            assert_eq!(
                list_codes(&dir, &["--holder", PROVINCE]),
                vec![other.clone()]
            );

            // Acting as an agency that does not hold it: refused, says who does.
            let before = fingerprint(&dir);
            let e = fails(&[
                "approve",
                "--data",
                d,
                &code,
                "--officer",
                "X",
                "--as",
                "province:quang-nam/so-xay-dung",
                "--at",
                "2026-03-03 09:00",
            ]);
            assert!(
                e.contains("`approve` refused")
                    && e.contains("held by Công an tỉnh Quảng Nam")
                    && !e.contains(CONG_AN),
                "{e}"
            );
            // Acting as an office another node serves: refused.
            let e = fails(&[
                "approve",
                "--data",
                d,
                &code,
                "--officer",
                "X",
                "--as",
                DISTRICT,
                "--at",
                "2026-03-03 09:00",
            ]);
            assert!(e.contains("cannot act as district:dien-ban"), "{e}");
            assert_unchanged(&before, &fingerprint(&dir), "refused --as");
        }
    }
    let shown = show(&dir, &code, now);
    assert_eq!(shown["state"]["result"]["issued_by"], SO_TU_PHAP);
    assert_eq!(shown["state"]["result"]["return_office"], PROVINCE);
    assert_eq!(shown["state"]["timeliness"], "early");
    assert_eq!(
        list_codes(&dir, &["--status", "returned"]),
        vec![code.clone()]
    );
    assert_eq!(list_codes(&dir, &["--status", "10"]), vec![code]);
    assert_eq!(list_codes(&dir, &["--origin", PROVINCE]).len(), 2);
    check_store(&dir);
}

#[test]
fn list_filters_by_status_holder_due_and_overdue() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let marriage = receive(&dir, MARRIAGE, "2026-03-02 09:00"); // 1 working day: due 3 March 09:00
    let land = receive(&dir, LAND, "2026-03-02 09:00"); // 30 working days
    let birth = receive(&dir, BIRTH, "2026-03-02 09:30"); // same day: due 17:00
    for (args, at) in [
        (&["approve"][..], "2026-03-02 09:50"),
        (
            &["issue-result", "--result", "Giấy khai sinh"][..],
            "2026-03-02 10:00",
        ),
    ] {
        let mut args = args.to_vec();
        args.extend(["--at", at]);
        step(&dir, &birth, "A", &args);
    }
    step(&dir, &land, "A", &["forward", "--at", "2026-03-02 10:00"]);
    assert_eq!(list_codes(&dir, &[]).len(), 3);
    // The commune is the first step of all three: each went straight into
    // its processing at receipt.
    assert_eq!(
        list_codes(&dir, &["--status", "processing"]),
        vec![marriage.clone(), land.clone()]
    );
    assert_eq!(list_codes(&dir, &["--status", "4"]).len(), 2);
    assert_eq!(
        list_codes(&dir, &["--status", "resolved"]),
        vec![birth.clone()]
    );
    assert_eq!(list_codes(&dir, &["--status", "received"]).len(), 0);
    assert_eq!(list_codes(&dir, &["--holder", COMMUNE]).len(), 3);
    assert_eq!(list_codes(&dir, &["--holder", DISTRICT]).len(), 0);
    assert_eq!(list_codes(&dir, &["--origin", COMMUNE]).len(), 3);
    assert_eq!(list_codes(&dir, &["--origin", SIBLING]).len(), 0);
    // Due before: unfinished dossiers only (the birth registration is resolved).
    assert_eq!(
        list_codes(&dir, &["--due-before", "2026-03-04 00:00"]),
        vec![marriage.clone()]
    );
    assert_eq!(
        list_codes(&dir, &["--due-before", "2026-03-03 09:00"]),
        Vec::<String>::new()
    );
    assert_eq!(
        list_codes(&dir, &["--due-before", "2027-01-01 00:00"]),
        vec![marriage.clone(), land.clone()]
    );
    assert_eq!(
        list_codes(&dir, &["--overdue", "--now", "2026-03-03 08:00"]),
        Vec::<String>::new()
    );
    assert_eq!(
        list_codes(&dir, &["--overdue", "--now", "2026-03-03 10:00"]),
        vec![marriage.clone()]
    );
    assert_eq!(
        list_codes(&dir, &["--overdue", "--now", "2026-12-01 10:00"]),
        vec![marriage.clone(), land.clone()]
    );
    assert_eq!(
        list_codes(
            &dir,
            &[
                "--overdue",
                "--now",
                "2026-12-01 10:00",
                "--status",
                "processing",
                "--limit",
                "1"
            ]
        ),
        vec![marriage.clone()]
    );
    let rows = json(&["list", "--data", d, "--json", "--now", "2026-03-03 10:00"]);
    let overdue: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["overdue"] == true)
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(overdue, vec![marriage.as_str()]);
    let table = ok(&["list", "--data", d, "--now", "2026-03-03 10:00"]);
    assert!(
        table.contains("OVERDUE") && table.contains("3 dossier(s)"),
        "{table}"
    );
    let e = fails(&["list", "--data", d, "--status", "weird"]);
    assert!(e.contains("unknown status `weird`"), "{e}");
    let e = fails(&["list", "--data", d, "--due-before", "tomorrow"]);
    assert!(e.contains("YYYY-MM-DD HH:MM"), "{e}");
}

/// What officers see of a store: the list at a fixed time.
fn listing(dir: &Path) -> String {
    ok(&[
        "list",
        "--data",
        dir.to_str().unwrap(),
        "--json",
        "--now",
        "2026-03-02 12:00",
    ])
}

#[test]
fn bad_input_is_refused_clearly_and_writes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, LAND, "2026-03-02 09:00");
    let before = (fingerprint(&dir), listing(&dir));
    let refused = |args: &[&str]| -> String {
        let e = fails(args);
        let after = (fingerprint(&dir), listing(&dir));
        assert_unchanged(&before.0, &after.0, &format!("{args:?}"));
        assert_eq!(before.1, after.1, "{args:?}: the list changed");
        e
    };
    let receive_args = |procedure: &'static str, at: &'static str| {
        vec![
            "receive",
            "--data",
            d,
            "--officer",
            "A",
            "--procedure",
            procedure,
            "--applicant",
            "X",
            "--at",
            at,
        ]
    };

    // Unknown procedure: named, with a suggestion.
    let e = refused(&receive_args("1.00422", "2026-03-02 09:00"));
    assert!(
        e.contains("unknown procedure `1.00422`") && e.contains("did you mean: 1.004227"),
        "{e}"
    );
    let e = refused(&receive_args("khai sinh", "2026-03-02 09:00"));
    assert!(
        e.contains("did you mean: 1.001193 (Đăng ký khai sinh)"),
        "{e}"
    );
    let e = refused(&receive_args("9.999999", "2026-03-02 09:00"));
    assert!(
        e.contains("unknown procedure `9.999999`") && e.contains("`lienthong procedures`"),
        "{e}"
    );

    // Unknown dossier.
    let unknown = "000.01.36.H49-260302-0099";
    for args in [
        &["approve", "--data", d, unknown, "--officer", "A"][..],
        &["show", "--data", d, unknown][..],
    ] {
        let e = refused(args);
        assert!(
            e.contains("no dossier `000.01.36.H49-260302-0099`") && e.contains("lienthong list"),
            "{e}"
        );
    }

    // A transition the rules do not allow now: says the status and what is allowed.
    let e = refused(&[
        "return",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--at",
        "2026-03-02 10:00",
    ]);
    assert!(e.contains("`return` refused"), "{e}");
    assert!(
        e.contains(&format!("The dossier {code} is processing"))
            && e.contains("allowed only when resolved"),
        "{e}"
    );
    assert!(
        e.contains("allowed here now:") && e.contains("`forward`") && !e.contains("`return`,"),
        "{e}"
    );

    // Dates outside the shipped calendars (2025–2027), for a new dossier and an event.
    let e = refused(&receive_args("1.004227", "2029-03-01 09:00"));
    assert!(
        e.contains("2029-03-01 is outside the working calendars") && e.contains("2025–2027"),
        "{e}"
    );
    assert_eq!(
        e.matches("outside the working calendars").count(),
        1,
        "said once: {e}"
    );
    let e = refused(&[
        "note",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--text",
        "x",
        "--at",
        "2029-03-01 09:00",
    ]);
    assert!(e.contains("outside the working calendars"), "{e}");

    // A malformed --at.
    for bad in ["01/03/2026", "2026-02-30 09:00", "tomorrow"] {
        let e = refused(&[
            "note",
            "--data",
            d,
            &code,
            "--officer",
            "A",
            "--text",
            "x",
            "--at",
            bad,
        ]);
        assert!(
            e.contains(&format!("`{bad}` is not a time")) && e.contains("YYYY-MM-DD HH:MM"),
            "{e}"
        );
    }

    // A missing or blank --officer.
    let out = run(&["note", "--data", d, &code, "--text", "x"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--officer <NAME>"), "{e}");
    let e = refused(&[
        "note",
        "--data",
        d,
        &code,
        "--officer",
        " ",
        "--text",
        "x",
        "--at",
        "2026-03-02 10:00",
    ]);
    assert!(e.contains("--officer must name the officer"), "{e}");
    let e = refused(&[
        "receive",
        "--data",
        d,
        "--officer",
        "A",
        "--procedure",
        LAND,
        "--applicant",
        " ",
        "--at",
        "2026-03-02 09:00",
    ]);
    assert!(e.contains("--applicant"), "{e}");

    // Missing payload, unknown offices, offices served elsewhere.
    let e = refused(&[
        "apologize",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--reason",
        "r",
        "--at",
        "2026-03-02 10:00",
    ]);
    assert!(e.contains("--new-due"), "{e}");
    let e = refused(&[
        "forward",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--to",
        "district:nowhere",
        "--at",
        "2026-03-02 10:00",
    ]);
    assert!(
        e.contains("office district:nowhere is not in this network"),
        "{e}"
    );
    let mut as_district = receive_args("1.004227", "2026-03-02 09:00");
    as_district.extend(["--as", DISTRICT]);
    let e = refused(&as_district);
    assert!(
        e.contains("this node serves commune:dien-ban/dien-phuong"),
        "{e}"
    );
    let e = refused(&[
        "list",
        "--data",
        root.path().join("nowhere").to_str().unwrap(),
    ]);
    assert!(e.contains("lienthong init"), "{e}");

    // After all that, the next dossier gets the next code: none was used up.
    assert_eq!(
        receive(&dir, LAND, "2026-03-02 11:00"),
        "000.01.36.H49-260302-0002"
    );
}

/// Insert `line` after the first line of `text` that starts with `after`;
/// returns the new text and the inserted line's number (from 1).
fn insert_after(text: &str, after: &str, line: &str) -> (String, usize) {
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(after))
        .unwrap_or_else(|| panic!("no line starting with {after:?}"))
        + 1;
    lines.insert(at, line);
    (lines.join("\n") + "\n", at + 1)
}

#[test]
fn corrupt_configuration_names_the_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, LAND, "2026-03-02 09:00");
    let before = fingerprint(&dir);
    for (file, after, line, says) in [
        ("node.toml", "office =", "listen = = 1", "expected"),
        (
            "node.toml",
            "office =",
            "lissten = \"0.0.0.0:1\"",
            "unknown field `lissten`",
        ),
        ("network.toml", "name =", "[calendar", "unclosed table"),
        (
            "network.toml",
            "name =",
            "bogus = 1",
            "unknown field `bogus`",
        ),
        (
            "network.toml",
            "timezone =",
            "timezon = \"UTC\"",
            "unknown field `timezon`",
        ),
        (
            "catalogue.toml",
            "version =",
            "\"unterminated = 1",
            "key with no value",
        ),
        (
            "catalogue.toml",
            "version =",
            "publisher = \"x\"",
            "unknown field `publisher`",
        ),
        (
            "catalogue.toml",
            "name = \"Đăng ký khai sinh\"",
            "nmae = \"x\"",
            "unknown field `nmae`",
        ),
    ] {
        let path = dir.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        let (broken, number) = insert_after(&original, after, line);
        std::fs::write(&path, broken).unwrap();
        let located = format!("{file}:{number}:");
        // Reading and writing commands alike stop before touching the store.
        for args in [
            &["list", "--data", d][..],
            &[
                "note",
                "--data",
                d,
                &code,
                "--officer",
                "A",
                "--text",
                "x",
                "--at",
                "2026-03-02 10:00",
            ][..],
        ] {
            let e = fails(args);
            assert!(e.contains(&located), "{file} line {number} ({line}): {e}");
            assert!(e.contains(says), "{file}: {e}");
            assert_eq!(e.lines().count(), 1, "one clear line: {e}");
        }
        std::fs::write(&path, original).unwrap();
    }
    assert_unchanged(&before, &fingerprint(&dir), "broken configuration");
    ok(&["list", "--data", d]);
}

#[test]
fn init_refuses_an_existing_node_and_unknown_offices() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    receive(&dir, MARRIAGE, "2026-03-02 09:00");
    let id = ok(&["id", "--data", d]);
    let config = std::fs::read(dir.join("node.toml")).unwrap();
    let before = fingerprint(&dir);
    for office in [COMMUNE, SIBLING] {
        let e = fails(&[
            "init",
            "--data",
            d,
            "--office",
            office,
            "--network",
            NETWORK,
        ]);
        assert!(e.contains("already holds a node"), "{e}");
    }
    assert_eq!(ok(&["id", "--data", d]), id, "the node keeps its identity");
    assert_eq!(std::fs::read(dir.join("node.toml")).unwrap(), config);
    assert_unchanged(&before, &fingerprint(&dir), "init over a node");

    let other = root.path().join("other");
    let o = other.to_str().unwrap();
    let e = fails(&[
        "init",
        "--data",
        o,
        "--office",
        "commune:nowhere/x",
        "--network",
        NETWORK,
    ]);
    assert!(
        e.contains("commune:nowhere/x") && e.contains("not in the network file"),
        "{e}"
    );
    let e = fails(&[
        "init",
        "--data",
        o,
        "--office",
        CONG_AN,
        "--network",
        NETWORK,
    ]);
    assert!(
        e.contains("served by the node of province:quang-nam"),
        "{e}"
    );
    let e = fails(&[
        "init",
        "--data",
        o,
        "--office",
        COMMUNE,
        "--network",
        "/nonexistent.toml",
    ]);
    assert!(
        e.contains("cannot read the network file /nonexistent.toml"),
        "{e}"
    );
    let e = fails(&[
        "init",
        "--data",
        o,
        "--office",
        "not an office",
        "--network",
        NETWORK,
    ]);
    assert!(e.contains("--office"), "{e}");
    assert!(!other.exists(), "a refused init leaves nothing behind");
    let e = fails(&["list", "--data", o]);
    assert!(e.contains("lienthong init"), "{e}");
}

#[test]
fn nodes_side_by_side_work_independently() {
    let root = tempfile::tempdir().unwrap();
    let a = init(root.path(), "a", COMMUNE);
    let b = init(root.path(), "b", SIBLING);
    let district = init(root.path(), "district", DISTRICT);
    let before_b = fingerprint(&b);
    let code_a = receive(&a, MARRIAGE, "2026-03-02 09:00");
    let code_a2 = receive(&a, MARRIAGE, "2026-03-02 09:05");
    assert_unchanged(&before_b, &fingerprint(&b), "a's work, seen at b");
    let code_b = receive(&b, MARRIAGE, "2026-03-02 09:00");
    let code_d = receive(&district, "1.001612", "2026-03-02 09:00");
    // Each office numbers its own dossiers from 0001, under its own agency code.
    assert_eq!(code_a, "000.01.36.H49-260302-0001");
    assert_eq!(code_a2, "000.01.36.H49-260302-0002");
    assert_eq!(code_b, "000.02.36.H49-260302-0001");
    assert_eq!(code_d, "000.00.36.H49-260302-0001");
    assert_eq!(list_codes(&a, &[]), vec![code_a.clone(), code_a2]);
    assert_eq!(list_codes(&b, &[]), vec![code_b.clone()]);
    assert_eq!(list_codes(&district, &[]), vec![code_d]);
    let e = fails(&["show", "--data", b.to_str().unwrap(), &code_a]);
    assert!(e.contains("no dossier"), "{e}");
    // Each acts on its own dossiers only; each has its own identity.
    step(
        &b,
        &code_b,
        "B",
        &["note", "--text", "x", "--at", "2026-03-02 10:00"],
    );
    // A's dossier has only its receipt (received, handed to the commune's
    // processing, taken): B's note went to B's own dossier.
    assert_eq!(
        show(&a, &code_a, "2026-03-02 10:00")["events"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let ids: std::collections::HashSet<String> = [&a, &b, &district]
        .iter()
        .map(|dir| ok(&["id", "--data", dir.to_str().unwrap()]))
        .collect();
    assert_eq!(ids.len(), 3);
    for dir in [&a, &b, &district] {
        check_store(dir);
    }
}

#[test]
fn attachments_round_trip_through_the_store() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, LAND, "2026-03-02 09:00");
    let content = attach_scan(root.path(), &dir, &code, 200_000);
    let out = root.path().join("out.pdf");
    ok(&[
        "get-attachment",
        "--data",
        d,
        &code,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), content);
    let before = fingerprint(&dir);
    let e = fails(&[
        "get-attachment",
        "--data",
        d,
        &code,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("already exists"), "{e}");
    let e = fails(&[
        "attach",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--file",
        "/nonexistent/scan.pdf",
        "--at",
        "2026-03-02 09:40",
    ]);
    assert!(e.contains("cannot read /nonexistent/scan.pdf"), "{e}");
    // What peers would refuse is refused here: one attachment over
    // max_attachment_bytes, or a dossier over max_dossier_attachment_bytes.
    let toml = dir.join("node.toml");
    let config = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{config}\n[limits]\nmax_attachment_bytes = 250000\nmax_dossier_attachment_bytes = 300000\n"),
    )
    .unwrap();
    let attach = |len: usize| {
        let file = root.path().join(format!("scan-{len}.pdf"));
        std::fs::write(&file, vec![7u8; len]).unwrap();
        fails(&[
            "attach",
            "--data",
            d,
            &code,
            "--officer",
            "A",
            "--file",
            file.to_str().unwrap(),
            "--at",
            "2026-03-02 09:40",
        ])
    };
    let e = attach(260_000);
    assert!(
        e.contains("max_attachment_bytes") && e.contains("260000"),
        "{e}"
    );
    let e = attach(120_000);
    assert!(
        e.contains("max_dossier_attachment_bytes") && e.contains("320000"),
        "{e}"
    );
    std::fs::write(&toml, config).unwrap();
    assert_unchanged(&before, &fingerprint(&dir), "refused attachments");
    check_store(&dir);
}

/// The binary as an officer runs it: no language chosen, so Vietnamese.
fn vietnamese(args: &[&str]) -> std::process::Output {
    lienthong()
        .env_remove(lienthong::i18n::LANG_ENV)
        .args(args)
        .output()
        .expect("run lienthong")
}

#[test]
fn vietnamese_by_default_with_local_times_names_and_dong() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    // Received Mon 2 March 2026 09:00 local; same day: due 17:00 local
    // (10:00 UTC — never shown).
    let out = vietnamese(&[
        "receive",
        "--data",
        d,
        "--officer",
        "Trần Thị Hoa",
        "--procedure",
        BIRTH,
        "--applicant",
        "Nguyễn Văn An",
        "--at",
        "2026-03-02 09:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains("Mẫu 01 — Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        "{printed}"
    );
    assert!(printed.contains("Tiếp nhận hồ sơ (Mẫu 01)"), "{printed}");
    assert!(printed.contains("trạng thái Đang xử lý"), "{printed}");
    assert!(
        printed.contains("do Ủy ban nhân dân phường Điện Phương giữ"),
        "{printed}"
    );
    assert!(printed.contains("hẹn trả 02/03/2026 17:00"), "{printed}");
    assert!(
        !printed.contains("UTC") && !printed.contains("commune:"),
        "{printed}"
    );
    let code = "000.01.36.H49-260302-0001";

    // The land dossier shows its fee in đồng and its route by office name.
    let land = receive(&dir, LAND, "2026-03-02 09:30");
    let out = vietnamese(&["show", "--data", d, &land, "--now", "2026-03-02 10:00"]);
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("100.000 đ"), "{shown}");
    assert!(shown.contains("30 ngày làm việc"), "{shown}");
    assert!(shown.contains("Quá trình xử lý"), "{shown}");
    assert!(shown.contains("02/03/2026 09:30"), "local time: {shown}");
    assert!(
        shown.contains("Chuyển Ủy ban nhân dân phường Điện Phương xử lý"),
        "the desk's hand-over, by name: {shown}"
    );
    assert!(
        !shown.contains("district:") && !shown.contains("commune:"),
        "no ids in prose: {shown}"
    );

    // A refusal, in Vietnamese, says why and what is allowed.
    let out = vietnamese(&[
        "return",
        "--data",
        d,
        code,
        "--officer",
        "Lê Văn Bình",
        "--at",
        "2026-03-02 10:00",
    ]);
    assert!(!out.status.success());
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.contains("Không thực hiện được «Trả kết quả»"), "{e}");
    assert!(e.contains("chỉ được khi hồ sơ Đã có kết quả"), "{e}");
    assert!(e.contains("«Phê duyệt»"), "{e}");

    // `show` ends with exactly what this node may do now; past the due
    // time (17:00) an apology is no longer offered (D4).
    let allowed_line = |now: &str| {
        let out = vietnamese(&["show", "--data", d, code, "--now", now]);
        let shown = String::from_utf8(out.stdout).unwrap();
        shown
            .lines()
            .find(|l| l.starts_with("Ủy ban nhân dân phường Điện Phương hiện được:"))
            .unwrap_or_else(|| panic!("{shown}"))
            .to_string()
    };
    let before_due = allowed_line("2026-03-02 10:00");
    assert!(
        before_due.contains("Phê duyệt") && before_due.contains("Xin lỗi, hẹn lại ngày trả"),
        "{before_due}"
    );
    assert!(!before_due.contains("Trả kết quả"), "{before_due}");
    let past_due = allowed_line("2026-03-02 17:30");
    assert!(
        past_due.contains("Phê duyệt") && !past_due.contains("Xin lỗi"),
        "{past_due}"
    );

    // The list: statuses in words, holders by name.
    let out = vietnamese(&["list", "--data", d, "--now", "2026-03-02 10:00"]);
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("Đang xử lý") && listed.contains("2 hồ sơ"),
        "{listed}"
    );
    assert!(!listed.contains("commune:"), "{listed}");
}

/// `lienthong form`: the list of a dossier's forms, Mẫu 01 written as HTML
/// (and as PDF where Chromium is installed), and a form the dossier does
/// not have refused with why, writing nothing.
#[test]
fn forms_print_and_reprint_from_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let data = dir.to_str().unwrap();
    let code = receive(&dir, MARRIAGE, "2026-03-02 09:00");

    let list = ok(&["form", "--data", data, &code, "--now", "2026-03-02 10:00"]);
    assert!(
        list.contains("mau-01  Giấy tiếp nhận hồ sơ và hẹn trả kết quả  ✓"),
        "{list}"
    );
    assert!(
        list.contains("mau-05  Thông báo dừng giải quyết hồ sơ  Processing of dossier"),
        "{list}"
    );

    let html = root.path().join("mau-01.html");
    ok(&[
        "form",
        "--data",
        data,
        &code,
        "--form",
        "mau-01",
        "--officer",
        "Trần Thị Hoa",
        "--now",
        "2026-03-02 10:00",
        "--out",
        html.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("data-code=\"{code}\"")) && page.contains("<svg"));
    // Received 09:00 local on Monday, one working day: due Tuesday 09:00 local.
    assert!(
        page.contains("09 giờ 00 phút, ngày 03/03/2026"),
        "due time in local time"
    );
    assert!(page.contains("In lúc 02/03/2026 10:00 bởi Trần Thị Hoa"));
    // Without --out the same page goes to standard output.
    let printed = ok(&[
        "form",
        "--data",
        data,
        &code,
        "--form",
        "mau-01",
        "--officer",
        "Trần Thị Hoa",
        "--now",
        "2026-03-02 10:00",
    ]);
    assert_eq!(printed, page, "a reprint is the same page");

    let before = fingerprint(&dir);
    let out = run(&["form", "--data", data, &code, "--form", "mau-02"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no supplement request"), "{err}");
    assert_unchanged(&before, &fingerprint(&dir), "refused form");

    if lienthong::forms::pdf::find_browser().is_none() {
        eprintln!("SKIPPED the PDF check: no headless Chromium installed");
        return;
    }
    let pdf = root.path().join("mau-01.pdf");
    ok(&[
        "form",
        "--data",
        data,
        &code,
        "--form",
        "mau-01",
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
}
