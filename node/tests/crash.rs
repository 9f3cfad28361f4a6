//! kill -9 during writes. Officer commands (the real binary, in child
//! processes) are killed
//! - at chosen points inside a write transaction, deterministically, with
//!   the binary's test hook `LIENTHONG_TEST_CRASH_AT` (it SIGKILLs itself
//!   between two statements of the transaction, or just before or after the
//!   commit);
//! - at random moments (seeded), several commands at once on one data dir.
//!
//! Whatever the timing, the store stays sound: integrity check ok, every
//! document loads and reads as a dossier, no half-written dossier, no code
//! issued twice or issuable again, and nothing a command acknowledged (printed)
//! is lost.

mod support;

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use support::*;

const DAY: &str = "2026-03-02";

fn receive_args(dir: &Path, applicant: &str) -> Vec<String> {
    [
        "receive",
        "--data",
        dir.to_str().unwrap(),
        "--officer",
        "Hoa",
        "--procedure",
        MARRIAGE,
        "--applicant",
        applicant,
        "--at",
        &format!("{DAY} 09:00"),
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

fn note_args(dir: &Path, code: &str, text: &str) -> Vec<String> {
    [
        "note",
        "--data",
        dir.to_str().unwrap(),
        code,
        "--officer",
        "Hoa",
        "--text",
        text,
        "--at",
        &format!("{DAY} 10:00"),
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

fn spawn(args: &[String], crash_at: Option<&str>) -> Child {
    let mut command = lienthong();
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = crash_at {
        command.env(lienthong::store::CRASH_AT_ENV, point);
    }
    command.spawn().unwrap()
}

/// The code a command printed in full (`--json`), if it got that far: what
/// the officer saw acknowledged.
fn acknowledged(output: &Output) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    Some(value["code"].as_str()?.to_string())
}

fn killed(output: &Output) -> bool {
    output.status.signal() == Some(libc::SIGKILL)
}

fn init_commune(root: &Path) -> std::path::PathBuf {
    init(root, "commune", COMMUNE)
}

fn receive_now(dir: &Path, applicant: &str) -> String {
    let out = spawn(&receive_args(dir, applicant), None)
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    acknowledged(&out).unwrap()
}

fn note_now(dir: &Path, code: &str, text: &str) {
    let out = spawn(&note_args(dir, code, text), None)
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run a command that the hook kills at `point`; it must die by SIGKILL
/// having acknowledged nothing.
fn crash_at(args: &[String], point: &str) {
    let out = spawn(args, Some(point)).wait_with_output().unwrap();
    assert!(
        killed(&out),
        "{args:?} should have been killed at {point}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing acknowledged at {point}");
}

fn chunk_count(dir: &Path, code: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    conn.query_row(
        "SELECT d.chunk_count FROM documents d JOIN dossiers x USING (doc_id) WHERE x.code = ?1",
        [code],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_write_killed_inside_its_transaction_leaves_no_trace() {
    let root = tempfile::tempdir().unwrap();
    let dir = init_commune(root.path());
    let first = receive_now(&dir, "Người 1");
    assert_eq!(first, "000.01.36.H49-260302-0001");

    // A new dossier: killed after its code was taken, between the document's
    // statements, just before the commit. Nothing remains, not even the code.
    for point in ["after_code", "after_chunk", "before_commit"] {
        let before = fingerprint(&dir);
        crash_at(&receive_args(&dir, "Bị ngắt"), point);
        assert_unchanged(&before, &fingerprint(&dir), point);
        check_store(&dir);
    }
    // Killed just after the commit: durable, though the officer never saw it.
    crash_at(&receive_args(&dir, "Sau commit"), "after_commit");
    let stored = check_store(&dir);
    let unacknowledged = stored
        .get("000.01.36.H49-260302-0002")
        .expect("a committed dossier survives its process");
    assert_eq!(unacknowledged.dossier.facts.applicant.name, "Sau commit");
    // The next dossier gets the next code: none reused, none skipped.
    assert_eq!(receive_now(&dir, "Người 3"), "000.01.36.H49-260302-0003");

    // Events on an existing dossier: killed between the change chunk and
    // the document row, or before the commit, whether the write appends a
    // chunk or compacts the document — then the same note, uninterrupted.
    let mut counts = vec![chunk_count(&dir, &first)];
    for round in 0..8 {
        let text = format!("Ghi chú {round}");
        for point in ["after_chunk", "before_commit"] {
            let before = fingerprint(&dir);
            crash_at(&note_args(&dir, &first, &text), point);
            assert_unchanged(&before, &fingerprint(&dir), point);
        }
        note_now(&dir, &first, &text);
        counts.push(chunk_count(&dir, &first));
    }
    assert!(
        counts.windows(2).any(|w| w[1] > w[0]) && counts.windows(2).any(|w| w[1] < w[0]),
        "both an appended chunk and a compaction were interrupted: {counts:?}"
    );
    crash_at(&note_args(&dir, &first, "Sau commit"), "after_commit");
    let stored = check_store(&dir);
    let notes = stored[&first].notes();
    let expected: Vec<String> = (0..8)
        .map(|round| format!("Ghi chú {round}"))
        .chain(["Sau commit".to_string()])
        .collect();
    assert_eq!(notes, expected, "each note once, in order");
}

/// A command running: when to kill it, the note it adds (dossier code and
/// text; none for a receipt), the process.
type Running = (Duration, Option<(String, String)>, Child);

#[test]
fn killing_officer_commands_at_random_moments_loses_nothing_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let dir = init_commune(root.path());
    let mut codes: Vec<String> = Vec::new();
    // How long one command takes here, to kill within that span.
    let started = Instant::now();
    for i in 0..3 {
        codes.push(receive_now(&dir, &format!("Người {i}")));
    }
    let span = started.elapsed() / 3;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20260302);
    let mut acknowledged_notes: HashMap<String, Vec<String>> = HashMap::new();
    let (mut killed_count, mut finished) = (0, 0);
    for round in 0..60 {
        // Three desks at once: receipts and notes on dossiers already acknowledged.
        let mut children: Vec<Running> = (0..3)
            .map(|desk| {
                let delay = span.mul_f64(rng.random_range(0.0..1.5));
                if rng.random_bool(0.5) {
                    let code = codes[rng.random_range(0..codes.len())].clone();
                    let text = format!("Ghi chú {round}-{desk}");
                    let child = spawn(&note_args(&dir, &code, &text), None);
                    (delay, Some((code, text)), child)
                } else {
                    let child = spawn(&receive_args(&dir, &format!("Người {round}-{desk}")), None);
                    (delay, None, child)
                }
            })
            .collect();
        children.sort_by_key(|(delay, ..)| *delay);
        let start = Instant::now();
        for (delay, _, child) in &mut children {
            if let Some(wait) = delay.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            let _ = child.kill(); // SIGKILL; harmless if it already exited
        }
        for (_, note, child) in children {
            let output = child.wait_with_output().unwrap();
            if killed(&output) {
                killed_count += 1;
            } else {
                assert!(
                    output.status.success(),
                    "a command failed on its own: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                finished += 1;
            }
            // Printed in full before the kill (or with no kill): acknowledged.
            if let Some(code) = acknowledged(&output) {
                match note {
                    Some((noted, text)) => {
                        assert_eq!(code, noted);
                        acknowledged_notes.entry(code).or_default().push(text);
                    }
                    None => codes.push(code),
                }
            }
        }
    }
    let stored = check_store(&dir);
    eprintln!(
        "{killed_count} commands killed, {finished} finished; {} dossiers and {} notes acknowledged; {} dossiers committed by a command killed before it printed",
        codes.len(),
        acknowledged_notes.values().map(Vec::len).sum::<usize>(),
        stored.len() - codes.len()
    );
    let acknowledged_codes: HashSet<String> = codes.iter().cloned().collect();
    assert!(
        missing(&acknowledged_codes, &stored).is_empty(),
        "acknowledged dossiers lost: {:?}",
        missing(&acknowledged_codes, &stored)
    );
    for (code, texts) in &acknowledged_notes {
        let notes = stored[code].notes();
        for text in texts {
            assert_eq!(
                notes.iter().filter(|n| *n == text).count(),
                1,
                "acknowledged note {text:?} on {code}: {notes:?}"
            );
        }
    }
    // The node carries on: the next code follows the highest one stored.
    let highest = stored
        .keys()
        .filter_map(|c| c.rsplit('-').next()?.parse::<u32>().ok())
        .max()
        .unwrap();
    let next = receive_now(&dir, "Sau cùng");
    assert_eq!(next, format!("000.01.36.H49-260302-{:04}", highest + 1));
    check_store(&dir);
}
