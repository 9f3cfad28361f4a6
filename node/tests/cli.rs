//! The `lienthong` binary as officers use it: commands, outputs, exit codes,
//! and refusals that write nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lienthong");
const NETWORK: &str = "builtin:quang-nam-3tier";
const COMMUNE: &str = "commune:dien-ban/dien-phuong";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("LIENTHONG_DATA")
        .env_remove("LIENTHONG_OFFICER")
        .output()
        .expect("run lienthong")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "lienthong {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        !out.status.success(),
        "lienthong {args:?} should have failed"
    );
    String::from_utf8(out.stderr).unwrap()
}

fn init(root: &Path, name: &str, office: &str) -> PathBuf {
    let dir = root.join(name);
    ok(&[
        "init",
        "--data",
        dir.to_str().unwrap(),
        "--office",
        office,
        "--network",
        NETWORK,
    ]);
    dir
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// What the store holds, to prove a refused command wrote nothing.
fn fingerprint(dir: &Path) -> (i64, String) {
    let conn = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    let seq: i64 = conn
        .query_row("SELECT value FROM meta WHERE key = 'last_seq'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let heads: String = conn
        .query_row(
            "SELECT coalesce(group_concat(hex(heads)), '') FROM documents",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (seq, heads)
}

fn receive(dir: &Path, procedure: &str, at: &str) -> String {
    let out = json(&[
        "receive",
        "--data",
        dir.to_str().unwrap(),
        "--officer",
        "Trần Thị Hoa",
        "--procedure",
        procedure,
        "--applicant",
        "Nguyễn Văn An",
        "--at",
        at,
        "--json",
    ]);
    out["code"].as_str().unwrap().to_string()
}

#[test]
fn a_dossier_walks_through_the_whole_workflow_on_one_node() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    // Birth registration: same day, decided at the commune itself.
    let code = receive(&dir, "1.001193", "2026-03-02 09:00");
    assert!(code.starts_with("000.01.36.H49-260302-"), "{code}");
    let show = |now: &str| json(&["show", "--data", d, &code, "--json", "--now", now]);
    assert_eq!(show("2026-03-02 09:01")["state"]["status"], "received");
    assert_eq!(
        show("2026-03-02 09:01")["state"]["due_at"],
        "2026-03-02T10:00:00Z"
    );
    let step = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["--data", d, &code, "--officer", "Trần Thị Hoa"]);
        ok(&full);
    };
    step(&["forward", "--to", COMMUNE, "--at", "2026-03-02 09:10"]);
    step(&["accept", "--at", "2026-03-02 09:11"]);
    assert_eq!(show("2026-03-02 09:12")["state"]["status"], "processing");
    step(&["appraise", "--outcome", "ok", "--at", "2026-03-02 09:30"]);
    step(&["approve", "--at", "2026-03-02 10:00"]);
    step(&[
        "issue-result",
        "--result",
        "Giấy khai sinh",
        "--at",
        "2026-03-02 10:05",
    ]);
    assert_eq!(show("2026-03-02 10:06")["state"]["status"], "resolved");
    step(&["return", "--at", "2026-03-02 10:30"]);
    let state = show("2026-03-02 11:00");
    assert_eq!(state["state"]["status"], "returned");
    assert_eq!(state["state"]["timeliness"], "on_time");
    assert_eq!(state["events"].as_array().unwrap().len(), 7);
    // The human view names the procedure and the timeline.
    let human = ok(&["show", "--data", d, &code]);
    assert!(
        human.contains("Đăng ký khai sinh") && human.contains("Timeline"),
        "{human}"
    );
}

#[test]
fn list_filters_by_status_holder_due_and_overdue() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let marriage = receive(&dir, "1.000894", "2026-03-02 09:00"); // 1 working day: due 3 March 09:00
    let land = receive(&dir, "1.004227", "2026-03-02 09:00"); // 30 working days
    ok(&[
        "forward",
        "--data",
        d,
        &land,
        "--officer",
        "A",
        "--at",
        "2026-03-02 10:00",
    ]);
    let codes = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["list", "--data", d, "--json"];
        full.extend(args);
        json(&full)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(codes(&[]).len(), 2);
    assert_eq!(codes(&["--status", "received"]).len(), 2);
    assert_eq!(codes(&["--status", "processing"]).len(), 0);
    assert_eq!(codes(&["--holder", COMMUNE]).len(), 2);
    assert_eq!(codes(&["--holder", "district:dien-ban"]).len(), 0);
    assert_eq!(
        codes(&["--due-before", "2026-03-04 00:00"]),
        vec![marriage.clone()]
    );
    assert_eq!(
        codes(&["--overdue", "--now", "2026-03-03 08:00"]),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&["--overdue", "--now", "2026-03-03 10:00"]),
        vec![marriage]
    );
    let table = ok(&["list", "--data", d, "--now", "2026-03-03 10:00"]);
    assert!(
        table.contains("OVERDUE") && table.contains("2 dossier(s)"),
        "{table}"
    );
}

#[test]
fn bad_input_is_refused_clearly_and_writes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, "1.004227", "2026-03-02 09:00");
    let before = fingerprint(&dir);

    let e = fails(&[
        "receive",
        "--data",
        d,
        "--officer",
        "A",
        "--procedure",
        "9.999999",
        "--applicant",
        "X",
        "--at",
        "2026-03-02 09:00",
    ]);
    assert!(
        e.contains("unknown procedure `9.999999`") && e.contains("lienthong procedures"),
        "{e}"
    );

    let e = fails(&[
        "approve",
        "--data",
        d,
        "000.01.36.H49-260302-0099",
        "--officer",
        "A",
    ]);
    assert!(e.contains("no dossier `000.01.36.H49-260302-0099`"), "{e}");

    let e = fails(&[
        "approve",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--at",
        "2026-03-02 10:00",
    ]);
    assert!(e.contains("`approve` refused"), "{e}");
    assert!(
        e.contains("is received") && e.contains("allowed only when processing"),
        "{e}"
    );
    assert!(
        e.contains("allowed here now:") && e.contains("`forward`"),
        "{e}"
    );

    let e = fails(&[
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
    assert!(
        e.contains("outside the working calendars") && e.contains("2029"),
        "{e}"
    );

    let e = fails(&[
        "note",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--text",
        "x",
        "--at",
        "01/03/2026",
    ]);
    assert!(e.contains("YYYY-MM-DD HH:MM"), "{e}");

    let missing_officer = run(&["note", "--data", d, &code, "--text", "x"]);
    assert_eq!(missing_officer.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_officer.stderr).contains("--officer"));

    let e = fails(&[
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

    assert_eq!(fingerprint(&dir), before, "refused commands wrote nothing");
}

#[test]
fn corrupt_configuration_names_the_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    for (file, broken) in [
        (
            "node.toml",
            "office = \"commune:dien-ban/dien-phuong\"\nlisten = = 1\n",
        ),
        (
            "node.toml",
            "office = \"commune:dien-ban/dien-phuong\"\nlissten = \"0.0.0.0:1\"\n",
        ),
        ("network.toml", "name = \"x\"\n[calendar\n"),
        (
            "catalogue.toml",
            "version = \"1\"\n[[procedure]]\ncode = \"1.0\"\nnmae = \"x\"\n",
        ),
    ] {
        let path = dir.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, broken).unwrap();
        let e = fails(&["list", "--data", d]);
        assert!(e.contains(&format!("{file}:")), "{file}: {e}");
        let line = e.split(&format!("{file}:")).nth(1).unwrap();
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "a line number: {e}"
        );
        std::fs::write(&path, original).unwrap();
    }
    ok(&["list", "--data", d]);
}

#[test]
fn init_refuses_an_existing_node_and_unknown_offices() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let e = fails(&[
        "init",
        "--data",
        dir.to_str().unwrap(),
        "--office",
        COMMUNE,
        "--network",
        NETWORK,
    ]);
    assert!(e.contains("already holds a node"), "{e}");
    let other = root.path().join("other");
    let e = fails(&[
        "init",
        "--data",
        other.to_str().unwrap(),
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
        other.to_str().unwrap(),
        "--office",
        "province:quang-nam/cong-an-tinh",
        "--network",
        NETWORK,
    ]);
    assert!(
        e.contains("served by the node of province:quang-nam"),
        "{e}"
    );
    let e = fails(&["list", "--data", other.to_str().unwrap()]);
    assert!(e.contains("lienthong init"), "{e}");
}

#[test]
fn nodes_side_by_side_keep_their_own_dossiers_and_codes() {
    let root = tempfile::tempdir().unwrap();
    let a = init(root.path(), "a", COMMUNE);
    let b = init(root.path(), "b", "commune:dien-ban/dien-minh");
    let code_a = receive(&a, "1.000894", "2026-03-02 09:00");
    let code_b = receive(&b, "1.000894", "2026-03-02 09:00");
    assert_ne!(code_a, code_b, "each office has its own agency code");
    assert!(code_b.starts_with("000.02.36.H49-260302-0001"));
    assert_eq!(
        json(&["list", "--data", a.to_str().unwrap(), "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_ne!(
        ok(&["id", "--data", a.to_str().unwrap()]),
        ok(&["id", "--data", b.to_str().unwrap()])
    );
}

#[test]
fn attachments_round_trip_through_the_store() {
    let root = tempfile::tempdir().unwrap();
    let dir = init(root.path(), "commune", COMMUNE);
    let d = dir.to_str().unwrap();
    let code = receive(&dir, "1.004227", "2026-03-02 09:00");
    let file = root.path().join("scan.pdf");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    ok(&[
        "attach",
        "--data",
        d,
        &code,
        "--officer",
        "A",
        "--file",
        file.to_str().unwrap(),
        "--at",
        "2026-03-02 09:30",
    ]);
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
    ]);
    assert!(e.contains("cannot read /nonexistent/scan.pdf"), "{e}");
}
