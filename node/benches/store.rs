//! Store benchmark (one node, `synchronous=FULL`): officer operations per
//! second, and listing, folding and sizing 100,000 stored dossiers.
//!
//! ```sh
//! cargo bench -p lienthong --bench store                 # 2,100 operations, 100,000 dossiers
//! cargo bench -p lienthong --bench store -- --dossiers 20000 --ops-dossiers 100
//! ```
//! The 100,000-dossier measurements run in a child process of their own so
//! its peak RSS (VmHWM) covers only listing and folding, not building.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::Automerge;
use chrono::{DateTime, TimeZone, Utc};
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong::store::index::ListFilter;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema::{
    self, Applicant, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{Action, Channel, Event, EventId, Status};

fn at(day: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, 8, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(i64::from(minute))
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn init(dir: &Path, office: &str) -> Node {
    Node::init(
        dir,
        &office.parse().unwrap(),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap()
}

type Timings = BTreeMap<&'static str, (Duration, usize)>;

/// One desk's work: birth registrations from receipt to return.
fn desk(dir: &Path, desk: usize, dossiers: usize) -> Timings {
    let office: OfficeId = "commune:dien-ban/dien-phuong".parse().unwrap();
    let mut node = Node::open(dir).unwrap();
    let mut timings = Timings::new();
    let mut time = |name: &'static str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let e = timings.entry(name).or_default();
        e.0 += t.elapsed();
        e.1 += 1;
    };
    for i in 0..dossiers {
        let minute = (i % 400) as u32;
        let day = 2 + (i / 400) as u32;
        let new = NewDossier {
            procedure: "1.001193".into(),
            applicant: Applicant {
                name: format!("Công dân {desk}-{i}"),
                ..Applicant::default()
            },
            channel: Channel::Direct,
            result_delivery: Channel::Direct,
            components: Vec::new(),
            submitted_only: false,
        };
        let mut code = String::new();
        time("receive", &mut || {
            code = officer::receive(&mut node, &office, "A", at(day, minute), &new)
                .unwrap()
                .code
        });
        let steps: Vec<(&'static str, Action)> = vec![
            (
                "forward",
                Action::Forwarded {
                    to: office.clone(),
                    task: "Đăng ký".into(),
                    days: 0,
                },
            ),
            ("accept", Action::Accepted),
            (
                "appraise",
                Action::Appraised {
                    outcome: lienthong_shared::dossier::AppraisalOutcome::Ok,
                    note: String::new(),
                },
            ),
            (
                "approve",
                Action::Approved {
                    note: String::new(),
                },
            ),
            (
                "issue-result",
                Action::ResultIssued {
                    result: "Giấy khai sinh".into(),
                    attachment: None,
                    return_office: office.clone(),
                },
            ),
            (
                "return",
                Action::Returned {
                    channel: Channel::Direct,
                },
            ),
        ];
        for (name, action) in steps {
            let mut action = Some(action);
            time(name, &mut || {
                officer::record(
                    &mut node,
                    &code,
                    None,
                    "A",
                    at(day, minute + 1),
                    action.take().unwrap(),
                )
                .unwrap();
            });
        }
    }
    timings
}

/// Officer operations through the same path as the CLI (one transaction,
/// fsync'd, each), by `desks` officers working at once on one node.
fn operations(dossiers: usize, desks: usize) {
    let dir = tempfile::tempdir().unwrap();
    let node_dir = dir.path().join("node");
    drop(init(&node_dir, "commune:dien-ban/dien-phuong"));
    let started = Instant::now();
    let per_desk = dossiers / desks;
    let handles: Vec<_> = (0..desks)
        .map(|d| {
            let node_dir = node_dir.clone();
            std::thread::spawn(move || desk(&node_dir, d, per_desk))
        })
        .collect();
    let mut timings = Timings::new();
    for h in handles {
        for (name, (d, n)) in h.join().unwrap() {
            let e = timings.entry(name).or_default();
            e.0 += d;
            e.1 += n;
        }
    }
    let elapsed = started.elapsed();
    let total: usize = timings.values().map(|(_, n)| n).sum();
    println!(
        "## Officer operations: {total} operations on {} dossiers by {desks} desk{} at once (synchronous=FULL)\n",
        per_desk * desks,
        if desks == 1 { "" } else { "s" }
    );
    println!("| operation | count | mean latency ms |");
    println!("|---|---:|---:|");
    for (name, (d, n)) in &timings {
        println!(
            "| {name} | {n} | {:.2} |",
            d.as_secs_f64() * 1000.0 / *n as f64
        );
    }
    println!(
        "| **all** | {total} | {:.2} |\n\n**{:.0} operations per second** ({:.2} s in all)\n",
        timings.values().map(|(d, _)| d.as_secs_f64()).sum::<f64>() * 1000.0 / total as f64,
        total as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}

/// A stored dossier built directly (not through officer commands), with a
/// realistic history: received, forwarded, accepted, appraised — and for
/// some, approved, result issued and returned.
fn build_store(dir: &Path, n: usize) -> Duration {
    let office: OfficeId = "commune:dien-ban/dien-phuong".parse().unwrap();
    let district: OfficeId = "district:dien-ban".parse().unwrap();
    let mut node = init(dir, office.as_str());
    let actor = node.actor();
    let started = Instant::now();
    let Node {
        store,
        network,
        calendar,
        catalogue,
        ..
    } = &mut node;
    let procedure = catalogue.get("1.004227").unwrap().clone();
    let ctx = fold::FoldContext {
        calendar,
        rule_sets: &network.rule_sets,
        now: at(20, 0),
    };
    for batch in 0..n.div_ceil(1000) {
        store
            .write(|w| -> Result<(), lienthong::store::StoreError> {
                for i in batch * 1000..((batch + 1) * 1000).min(n) {
                    let day = 2 + (i / 2000 % 20) as u32;
                    let mut key = [0u8; 16];
                    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    key[8] = 0x5a;
                    let code = w
                        .next_dossier_code("000.01.36.H49", calendar.local_date(at(day, 0)))
                        .unwrap();
                    let facts = DossierFacts {
                        id: key.iter().map(|b| format!("{b:02x}")).collect(),
                        code: code.to_string(),
                        rules: "2025".into(),
                        origin: office.clone(),
                        channel: Channel::Direct,
                        result_delivery: Channel::Direct,
                        procedure: ProcedureSnapshot {
                            code: procedure.code.clone(),
                            name: procedure.name.clone(),
                            catalogue_version: "2026.1".into(),
                            processing_days: Some(30),
                            same_day_cutoff: None,
                            fee_vnd: procedure.fee_vnd,
                        },
                        applicant: Applicant {
                            name: format!("Nguyễn Văn {i}"),
                            id_number: format!("049{i:09}"),
                            ..Applicant::default()
                        },
                        route: vec![RouteStep {
                            office: district.clone(),
                            task: "Kiểm tra".into(),
                            days: 8,
                            lead: true,
                        }],
                        documents: Vec::new(),
                    };
                    let ev = |k: u32, office: &OfficeId, action: Action| Event {
                        id: EventId(format!("{i:x}-{k}")),
                        at: at(day, 30 * k),
                        office: office.clone(),
                        officer: "A".into(),
                        action,
                    };
                    let mut doc = Automerge::new().with_actor(actor.clone());
                    let mut tx = doc.transaction();
                    schema::create(&mut tx, &facts, &ev(0, &office, Action::Received)).unwrap();
                    tx.commit();
                    let mut events = vec![
                        ev(
                            1,
                            &office,
                            Action::Forwarded {
                                to: district.clone(),
                                task: "Kiểm tra".into(),
                                days: 8,
                            },
                        ),
                        ev(2, &district, Action::Accepted),
                        ev(
                            3,
                            &district,
                            Action::Appraised {
                                outcome: lienthong_shared::dossier::AppraisalOutcome::Ok,
                                note: "Đạt".into(),
                            },
                        ),
                    ];
                    if i % 3 == 0 {
                        events.push(ev(
                            4,
                            &district,
                            Action::Approved {
                                note: String::new(),
                            },
                        ));
                        events.push(ev(
                            5,
                            &district,
                            Action::ResultIssued {
                                result: "GCN".into(),
                                attachment: None,
                                return_office: office.clone(),
                            },
                        ));
                        events.push(ev(
                            6,
                            &office,
                            Action::Returned {
                                channel: Channel::Direct,
                            },
                        ));
                    }
                    for e in &events {
                        let mut tx = doc.transaction();
                        schema::append_event(&mut tx, e).unwrap();
                        tx.commit();
                    }
                    let dossier = schema::read(&doc).unwrap();
                    let state = fold::fold(&dossier, &ctx);
                    officer::save_dossier(w, &key, &doc, &[], &dossier, &state, &network.offices)?;
                }
                Ok(())
            })
            .unwrap();
    }
    started.elapsed()
}

/// In the child process: list and fold everything; print one JSON line.
fn measure(dir: &Path) {
    let mut node = Node::open(dir).unwrap();
    let now = at(25, 0);
    let t = Instant::now();
    let all = node
        .store
        .read(|r| {
            r.list(&ListFilter {
                limit: Some(100),
                ..ListFilter::default()
            })
        })
        .unwrap();
    let first_page = t.elapsed();
    let t = Instant::now();
    let overdue = node
        .store
        .read(|r| {
            r.list(&ListFilter {
                overdue_at: Some(now),
                ..ListFilter::default()
            })
        })
        .unwrap();
    let list_overdue = t.elapsed();
    let t = Instant::now();
    let resolved = node
        .store
        .read(|r| {
            r.list(&ListFilter {
                status: Some(Status::Processing),
                ..ListFilter::default()
            })
        })
        .unwrap();
    let list_status = t.elapsed();
    let t = Instant::now();
    let report = {
        let tree = node.network.offices.clone();
        let options = lienthong::report::ReportOptions {
            group_by: lienthong::report::GroupBy::Origin,
            now,
            from: None,
            to: None,
        };
        node.store
            .read(|r| lienthong::report::build(r, &tree, &options, false))
            .unwrap()
    };
    let report_time = t.elapsed();
    // Fold every dossier, loading each document on demand.
    let keys: Vec<Vec<u8>> = node
        .store
        .connection()
        .prepare("SELECT doc_id FROM documents WHERE kind = 'dossier'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let t = Instant::now();
    let mut overdue_by_fold = 0;
    for key in &keys {
        let key: [u8; 16] = key.as_slice().try_into().unwrap();
        let (_, doc) = node
            .store
            .read_now(|r| r.load_document(&key))
            .unwrap()
            .unwrap();
        let dossier = schema::read(&doc).unwrap();
        let state = fold::fold(&dossier, &node.fold_context(now));
        if state.is_overdue() {
            overdue_by_fold += 1;
        }
    }
    let fold_all = t.elapsed();
    assert_eq!(
        overdue_by_fold,
        overdue.len(),
        "the index and the fold agree"
    );
    println!(
        "{}",
        serde_json::json!({
            "dossiers": keys.len(),
            "first_page_ms": first_page.as_secs_f64() * 1000.0,
            "list_overdue_ms": list_overdue.as_secs_f64() * 1000.0, "overdue": overdue.len(),
            "list_status_ms": list_status.as_secs_f64() * 1000.0, "processing": resolved.len(),
            "report_ms": report_time.as_secs_f64() * 1000.0, "report_total": report.total.received,
            "fold_all_s": fold_all.as_secs_f64(),
            "page": all.len(),
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        measure(&PathBuf::from(&args[i + 1]));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    let ops_dossiers = arg("--ops-dossiers", 300);
    let n = arg("--dossiers", 100_000);
    operations(ops_dossiers, 1);
    operations(ops_dossiers, 2);
    operations(ops_dossiers, 4);

    let dir = tempfile::tempdir().unwrap();
    let node_dir = dir.path().join("node");
    let build = build_store(&node_dir, n);
    // Settle the WAL into the database file before measuring its size.
    {
        let node = Node::open(&node_dir).unwrap();
        node.store
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let size = std::fs::metadata(node_dir.join("store.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure", node_dir.to_str().unwrap()])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let m: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|_| panic!("measure failed: {}", String::from_utf8_lossy(&out.stderr)));
    println!("## {} stored dossiers\n", m["dossiers"]);
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| build (bulk, 1,000 per transaction; not an officer path) | {:.1} s |",
        build.as_secs_f64()
    );
    println!(
        "| list: first page of 100 by due date | {:.1} ms |",
        m["first_page_ms"].as_f64().unwrap()
    );
    println!(
        "| list: overdue now ({} found) | {:.1} ms |",
        m["overdue"],
        m["list_overdue_ms"].as_f64().unwrap()
    );
    println!(
        "| list: status processing ({} found) | {:.1} ms |",
        m["processing"],
        m["list_status_ms"].as_f64().unwrap()
    );
    println!(
        "| report: consolidated by office | {:.1} ms |",
        m["report_ms"].as_f64().unwrap()
    );
    println!(
        "| fold all, loading each document on demand | {:.1} s |",
        m["fold_all_s"].as_f64().unwrap()
    );
    println!(
        "| peak RSS of the listing and folding process | {:.0} MB |",
        m["peak_rss_mb"].as_f64().unwrap()
    );
    println!(
        "| store size (after checkpoint) | {:.1} MB, {:.0} bytes per dossier |",
        size as f64 / 1e6,
        size as f64 / n as f64
    );
}
