//! `syncbench province` small (issue 11's province under load): 2,000 real
//! dossiers, 5 communes. The benchmark itself checks what it measures and
//! fails otherwise — every peer's first sync brings exactly its scope, every
//! peer is idle before and after each restart of the province (kill -9),
//! each new commune receives exactly its scope, equal in both provinces,
//! and the report counts every dossier. Here: it ran, its figures are
//! there, and a second run reuses the cache. (The time targets are judged
//! at 1,000,000 in `docs/benchmarks.md`; here they are only generous bounds.)

use std::process::Command;

fn run(cache: &std::path::Path) -> (serde_json::Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_syncbench"))
        .args([
            "province",
            "--n",
            "2000",
            "--peers",
            "5",
            "--storms",
            "1",
            "--deadline",
            "60",
            "--cache",
        ])
        .arg(cache)
        .output()
        .expect("syncbench runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "syncbench province failed: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a JSON summary line");
    (serde_json::from_str(summary).unwrap(), stderr)
}

#[test]
fn a_small_province_survives_a_restart_and_serves_new_communes_their_scope() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (summary, log) = run(&cache);
    assert!(log.contains("building the province"), "{log}");
    assert_eq!(summary["n"], 2000);
    assert_eq!(summary["peers"], 5);
    let storm = summary["storm_max_seconds"].as_f64().unwrap();
    assert!(
        storm > 0.0 && storm < 10.0,
        "slowest peer after the restart: {storm} s"
    );
    let fresh = summary["new_communes"].as_array().unwrap();
    assert_eq!(
        fresh.len(),
        4,
        "two new communes from each of two provinces"
    );
    let scopes: Vec<(u64, u64)> = fresh
        .iter()
        .map(|f| {
            (
                f["province"].as_u64().unwrap(),
                f["scope"].as_u64().unwrap(),
            )
        })
        .collect();
    // 1% and 0.1% of 2,000; the same counts from the province of 200.
    assert_eq!(scopes, [(2000, 20), (2000, 2), (200, 20), (200, 2)]);
    for report in summary["report_seconds"].as_array().unwrap() {
        assert!(report.as_f64().unwrap() < 1.0);
    }
    let rss = summary["province_peak_rss_mb"].as_f64().unwrap();
    assert!(rss > 1.0 && rss < 300.0, "province peak RSS {rss} MB");

    // Again: the cache is reused (no build) and the peers are already in sync.
    let (again, log) = run(&cache);
    assert!(log.contains("reusing the cache"), "{log}");
    assert!(!log.contains("first sync"), "{log}");
    assert_eq!(again["new_communes"].as_array().unwrap().len(), 4);
}
