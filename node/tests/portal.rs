//! The national portal export for a known story, against a hand-written
//! expected file (`tests/portal/march-2-3.jsonl`).

#[path = "support/desk.rs"]
mod desk;

use std::process::Command;

use desk::*;
use lienthong_shared::dossier::Action;

#[test]
fn the_portal_export_of_a_period_matches_the_expected_file() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), DIEN_PHUONG);
    // Monday 2 March: one resolved the same morning, one refused online
    // filing, one still in processing; Tuesday 10 March: out of the period.
    let resolved = receive(&mut commune, DIEN_PHUONG, at(2, 9, 0), "Nguyễn Văn An");
    start(&mut commune, &resolved, DIEN_PHUONG, at(2, 9, 5));
    resolve(&mut commune, &resolved, DIEN_PHUONG, at(2, 10, 0));
    let refused = submit(&mut commune, DIEN_PHUONG, at(2, 9, 10), "Trần Thị Bình");
    act(
        &mut commune,
        &refused,
        None,
        at(2, 9, 30),
        Action::Refused {
            reason: "Không thuộc thẩm quyền".into(),
        },
    );
    let open = receive(&mut commune, DIEN_PHUONG, at(2, 14, 0), "Lê Văn Cường");
    start(&mut commune, &open, DIEN_PHUONG, at(2, 14, 5));
    let later = receive(&mut commune, DIEN_PHUONG, at(10, 9, 0), "Phạm Thị Dung");
    let dir = commune.dir.root().to_path_buf();
    drop(commune);

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lienthong"))
            .env_remove(lienthong::i18n::LANG_ENV)
            .args(args)
            .output()
            .unwrap()
    };
    let d = dir.to_str().unwrap();
    let out = run(&[
        "export",
        "--data",
        d,
        "--format",
        "portal",
        "--from",
        "2026-03-02 00:00",
        "--to",
        "2026-03-04 00:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    let expected = include_str!("portal/march-2-3.jsonl");
    let lines = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(lines(&got), lines(expected), "got:\n{got}");
    assert!(!got.contains(&later));

    // A wrong format or an empty period says what is wrong.
    let wrong = run(&[
        "export",
        "--data",
        d,
        "--format",
        "csv",
        "--from",
        "2026-03-02 00:00",
        "--to",
        "2026-03-04 00:00",
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--format portal"));
    let backwards = run(&[
        "export",
        "--data",
        d,
        "--format",
        "portal",
        "--from",
        "2026-03-04 00:00",
        "--to",
        "2026-03-02 00:00",
    ]);
    assert!(!backwards.status.success());
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("must be after"));
}
