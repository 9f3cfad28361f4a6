//! kill -9 during writes: officer commands killed at random points (seeded)
//! never leave a half-written dossier, never lose an acknowledged write, and
//! never reuse a dossier code.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_lienthong");

fn check_store(dir: &Path, acknowledged: &HashSet<String>) -> usize {
    let conn = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let codes: Vec<String> = conn
        .prepare("SELECT code FROM dossiers")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let unique: HashSet<&String> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len(), "a dossier code was issued twice");
    for code in acknowledged {
        assert!(codes.contains(code), "acknowledged dossier {code} was lost");
    }
    // No half-written dossier: every document is indexed and every index row has its document.
    let orphans: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM documents d WHERE d.kind = 'dossier' AND NOT EXISTS (SELECT 1 FROM dossiers x WHERE x.doc_id = d.doc_id))
                  + (SELECT count(*) FROM dossiers x WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.doc_id = x.doc_id))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    // The day's counter is at least the highest sequence used: no code can come back.
    let highest: i64 = codes
        .iter()
        .filter_map(|c| c.rsplit('-').next()?.parse().ok())
        .max()
        .unwrap_or(0);
    let counter: i64 = conn
        .query_row(
            "SELECT coalesce(max(last), 0) FROM code_counters",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        counter >= highest,
        "counter {counter} below the highest code {highest}"
    );
    // Every dossier still reads (the binary loads and folds each).
    for code in &codes {
        let out = Command::new(BIN)
            .args(["show", "--data", dir.to_str().unwrap(), code, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{code}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    codes.len()
}

#[test]
fn killing_officer_commands_at_random_points_loses_nothing_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("commune");
    let status = Command::new(BIN)
        .args([
            "init",
            "--data",
            dir.to_str().unwrap(),
            "--office",
            "commune:dien-ban/dien-phuong",
            "--network",
            "builtin:quang-nam-3tier",
        ])
        .output()
        .unwrap();
    assert!(status.status.success());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20260302);
    let mut acknowledged = HashSet::new();
    let mut killed = 0;
    for round in 0..60 {
        let mut child = Command::new(BIN)
            .args([
                "receive",
                "--data",
                dir.to_str().unwrap(),
                "--officer",
                "Hoa",
                "--procedure",
                "1.000894",
                "--applicant",
                &format!("Người {round}"),
                "--at",
                "2026-03-02 09:00",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill somewhere between start-up and a little after the write.
        let delay = Duration::from_micros(rng.random_range(0..25_000));
        std::thread::sleep(delay);
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            // Printed its result: the write was acknowledged.
            let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            acknowledged.insert(value["code"].as_str().unwrap().to_string());
        } else {
            killed += 1;
        }
    }
    eprintln!("killed {killed}, acknowledged {}", acknowledged.len());
    assert!(killed > 0, "some commands were killed");
    assert!(!acknowledged.is_empty(), "some commands finished");
    let stored = check_store(&dir, &acknowledged);
    assert!(stored >= acknowledged.len());
    // And the node keeps working afterwards with fresh codes.
    let out = Command::new(BIN)
        .args([
            "receive",
            "--data",
            dir.to_str().unwrap(),
            "--officer",
            "Hoa",
            "--procedure",
            "1.000894",
            "--applicant",
            "Sau",
            "--at",
            "2026-03-02 10:00",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    acknowledged.insert(value["code"].as_str().unwrap().to_string());
    check_store(&dir, &acknowledged);
}
