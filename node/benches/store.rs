//! Store benchmark, one node, `synchronous=FULL` (the store's default).
//!
//! 1. Officer operations per second: desks working through birth
//!    registrations from receipt to return — receive, forward, accept,
//!    appraise, approve, issue-result, return — each a full command through
//!    `lienthong::officer` (one write transaction, fsync'd, each), by 1, 2
//!    and 4 desks at once (threads, one connection each, as separate
//!    officer processes would have).
//! 2. A store of 100,000 dossiers (a province node: every commune's
//!    dossiers, in a realistic mix of states). Built fast, not through
//!    officer commands: worker threads generate each dossier's Automerge
//!    document (facts and 1–8 events) and fold it, and one writer stores
//!    them through the store API (`save_document_with` + `index_dossier`,
//!    exactly what a sync batch does), 1,000 per transaction. Then, in a
//!    child process of its own so that its peak RSS (VmHWM) counts only the
//!    reading: listing through the index with filters, the consolidated
//!    report, and folding all 100,000 (each document loaded on demand,
//!    folded, dropped); the real `lienthong list` binary on that store; the
//!    officer operations again on the full store; and the store's size per
//!    dossier after a WAL checkpoint.
//!
//! ```sh
//! cargo bench -p lienthong --bench store -- --out docs/benchmarks.md  # everything (~2 min)
//! cargo bench -p lienthong --bench store -- --dossiers 0          # officer operations only
//! cargo bench -p lienthong --bench store -- --ops-dossiers 1000 --desks 1 --dossiers 20000
//! LIENTHONG_BENCH_DOSSIERS=1000000 cargo bench -p lienthong --bench store
//! ```
//! Options (or environment variables): `--ops-dossiers N`
//! (`LIENTHONG_BENCH_OPS_DOSSIERS`, default 300: 7 operations each),
//! `--desks 1,2,4` (`LIENTHONG_BENCH_DESKS`), `--repeat 3`
//! (`LIENTHONG_BENCH_REPEAT`: runs of each, the fastest reported), `--dossiers N`
//! (`LIENTHONG_BENCH_DOSSIERS`, default 100,000; 0 skips part 2),
//! `LIENTHONG_BENCH_UNSIGNED=1`: officer operations without signing their
//! changes (issue 8's cost, against the default with signing on).
//! `LIENTHONG_BENCH_NO_TURNS=1`: desks write without taking the writers'
//! turn (`store/write_lock/`), meeting only SQLite's lock and its polling
//! busy handler, as binaries before it did. Each run prints how often and
//! how long a desk waited for the others (turns, busy-handler calls).
//! `--dir DIR` (`LIENTHONG_BENCH_DIR`, where the stores go; default the
//! system temp dir — put it on the disk you want measured), `--out FILE`
//! (`LIENTHONG_BENCH_OUT`: also write the tables into FILE, relative to the
//! workspace root, between `<!-- store: begin -->` and
//! `<!-- store: end -->`, as in `docs/benchmarks.md`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::Automerge;
use chrono::{DateTime, TimeZone, Utc};
use common::Generated;
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong::store::documents::{DocKey, DocKind};
use lienthong::store::index::ListFilter;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::catalogue::resolve_route;
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema::{
    self, Applicant, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{Action, AppraisalOutcome, Channel, Event, EventId, Status};

const COMMUNE: &str = "commune:dien-ban/dien-phuong";
const PROVINCE: &str = "province:quang-nam";
/// "Now" for the 100,000-dossier store: some of its dossiers are overdue.
const NOW: (u32, u32, u32) = (4, 24, 9);

/// Local time in 2026 (Asia/Ho_Chi_Minh).
fn local(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, month, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(i64::from(minute))
}

fn option(name: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn number(name: &str, env: &str, default: usize) -> usize {
    option(name, env).map_or(default, |v| {
        v.replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} {v}: not a number"))
    })
}

/// Peak resident set of this process so far (VmHWM), in MB.
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

/// CPU time of this process so far, all threads: (user, system).
fn cpu_time() -> (Duration, Duration) {
    // SAFETY: getrusage(2) fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ── 1. Officer operations ──────────────────────────────────────────────────

/// Latencies per operation kind.
type Timings = BTreeMap<&'static str, Vec<Duration>>;

/// How long desks waited for each other (summed over desks).
#[derive(Default)]
struct Waits {
    turns: u64,
    turn_wait: Duration,
    busy_calls: u64,
    busy_wait: Duration,
}

/// One desk's work at `office`: `dossiers` birth registrations from receipt
/// to return, each step a full officer command.
fn desk(
    dir: &Path,
    office: &str,
    desk: usize,
    dossiers: usize,
    first_day: u32,
) -> (Timings, Waits) {
    let office: OfficeId = office.parse().unwrap();
    let mut node = Node::open(dir).unwrap();
    if std::env::var_os("LIENTHONG_BENCH_UNSIGNED").is_some() {
        // Issue 8's cost: the same operations without signing each change.
        node.store.clear_signer();
    }
    if std::env::var_os("LIENTHONG_BENCH_NO_TURNS").is_some() {
        // Writers as before `write_lock/`: SQLite's lock and its busy
        // handler only.
        node.store.set_take_turns(false);
    }
    let before = node.store.lock_waits();
    let mut timings = Timings::new();
    for i in 0..dossiers {
        // 400 a day from 07:00, from `first_day` March on.
        let at =
            local(3, first_day, 7, (i % 400) as u32) + chrono::Duration::days((i / 400) as i64);
        let applicant = Applicant {
            name: format!("Công dân {desk}-{i}"),
            phone: "0905 123 456".into(),
            ..Applicant::default()
        };
        let new = NewDossier::at_the_desk("1.001193", applicant);
        let t = Instant::now();
        let code = officer::receive(&mut node, &office, "Hoa", at, &new)
            .unwrap()
            .code;
        timings.entry("receive").or_default().push(t.elapsed());
        let steps: [(&'static str, Action); 6] = [
            (
                "forward",
                Action::Forwarded {
                    to: office.clone(),
                    task: "Đăng ký khai sinh".into(),
                    days: 0,
                },
            ),
            ("accept", Action::Accepted),
            (
                "appraise",
                Action::Appraised {
                    outcome: AppraisalOutcome::Ok,
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
            let t = Instant::now();
            officer::record(&mut node, &code, None, "Bình", at, action).unwrap();
            timings.entry(name).or_default().push(t.elapsed());
        }
    }
    let after = node.store.lock_waits();
    let waits = Waits {
        turns: after.turns_waited - before.turns_waited,
        turn_wait: after.turn_wait - before.turn_wait,
        busy_calls: after.busy_calls - before.busy_calls,
        busy_wait: after.busy_wait - before.busy_wait,
    };
    (timings, waits)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The officer operations a run measured.
struct OpsResult {
    label: String,
    /// Per operation kind, in workflow order: (kind, sorted latencies).
    kinds: Vec<(&'static str, Vec<Duration>)>,
    all: Vec<Duration>,
    dossiers: usize,
    rate: f64,
    user: Duration,
    system: Duration,
    /// The rates of every repetition (this result is the fastest).
    rates: Vec<f64>,
}

impl OpsResult {
    fn cell(samples: &[Duration]) -> String {
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        format!(
            "{:.2} / {:.2} / {:.2}",
            ms(mean),
            ms(percentile(samples, 0.5)),
            ms(percentile(samples, 0.99))
        )
    }

    fn cpu_per_op(&self) -> (f64, f64) {
        let n = self.all.len() as f64;
        (
            self.user.as_secs_f64() * 1e6 / n,
            self.system.as_secs_f64() * 1e6 / n,
        )
    }
}

/// `desks` desks of `office` at once on the node in `node_dir`.
fn operations(
    node_dir: &Path,
    office: &'static str,
    dossiers: usize,
    desks: usize,
    first_day: u32,
    label: String,
) -> OpsResult {
    let per_desk = dossiers.div_ceil(desks);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let handles: Vec<_> = (0..desks)
        .map(|d| {
            let node_dir = node_dir.to_path_buf();
            std::thread::spawn(move || desk(&node_dir, office, d, per_desk, first_day))
        })
        .collect();
    let mut timings = Timings::new();
    let mut waits = Waits::default();
    for h in handles {
        let (desk_timings, desk_waits) = h.join().unwrap();
        for (name, mut samples) in desk_timings {
            timings.entry(name).or_default().append(&mut samples);
        }
        waits.turns += desk_waits.turns;
        waits.turn_wait += desk_waits.turn_wait;
        waits.busy_calls += desk_waits.busy_calls;
        waits.busy_wait += desk_waits.busy_wait;
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu_time();
    let mut kinds = Vec::new();
    let mut all = Vec::new();
    for name in [
        "receive",
        "forward",
        "accept",
        "appraise",
        "approve",
        "issue-result",
        "return",
    ] {
        let mut samples = timings.remove(name).unwrap_or_default();
        samples.sort();
        all.extend_from_slice(&samples);
        kinds.push((name, samples));
    }
    all.sort();
    let result = OpsResult {
        label,
        kinds,
        rate: all.len() as f64 / elapsed.as_secs_f64(),
        all,
        dossiers: per_desk * desks,
        user: cpu_after.0 - cpu_before.0,
        system: cpu_after.1 - cpu_before.1,
        rates: Vec::new(),
    };
    let n = result.all.len() as f64;
    eprintln!(
        "{}: {:.0} operations per second; per operation: {:.2} turns waited for ({:.0} µs), {:.2} busy-handler calls ({:.0} µs)",
        result.label,
        result.rate,
        waits.turns as f64 / n,
        waits.turn_wait.as_secs_f64() * 1e6 / n,
        waits.busy_calls as f64 / n,
        waits.busy_wait.as_secs_f64() * 1e6 / n,
    );
    result
}

/// Run `run` `repeat` times; keep the fastest, with every run's rate. The
/// machine these run on is shared: the fastest run is the one least
/// disturbed by others' disk and CPU use.
fn fastest(repeat: usize, mut run: impl FnMut(usize) -> OpsResult) -> OpsResult {
    let results: Vec<OpsResult> = (0..repeat).map(&mut run).collect();
    let rates: Vec<f64> = results.iter().map(|r| r.rate).collect();
    let mut best = results
        .into_iter()
        .max_by(|a, b| a.rate.total_cmp(&b.rate))
        .expect("at least one run");
    best.rates = rates;
    best
}

fn print_operations(out: &mut Report, runs: &[OpsResult]) {
    let total = runs[0].all.len();
    out.line(&format!(
        "Each run: {} birth registrations taken from receipt to return, {total} officer operations, each a full command through `lienthong::officer` (one write transaction, fsync'd). Each column is the fastest of {} runs (the rates of all are in the last rows). Cells: mean / p50 / p99 latency in ms.\n",
        runs[0].dossiers,
        runs[0].rates.len()
    ));
    let mut header = "| operation |".to_string();
    let mut rule = "|---|".to_string();
    for run in runs {
        header += &format!(" {} |", run.label);
        rule += "---:|";
    }
    out.line(&header);
    out.line(&rule);
    for (i, (kind, _)) in runs[0].kinds.iter().enumerate() {
        let mut row = format!("| {kind} |");
        for run in runs {
            row += &format!(" {} |", OpsResult::cell(&run.kinds[i].1));
        }
        out.line(&row);
    }
    let mut row = "| **all** |".to_string();
    for run in runs {
        row += &format!(" {} |", OpsResult::cell(&run.all));
    }
    out.line(&row);
    let mut row = "| **operations per second** |".to_string();
    for run in runs {
        row += &format!(" **{:.0}** |", run.rate);
    }
    out.line(&row);
    let mut row = format!(
        "| all {} runs: operations per second |",
        runs[0].rates.len()
    );
    for run in runs {
        let mut rates = run.rates.clone();
        rates.sort_by(f64::total_cmp);
        row += &format!(
            " {} |",
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.line(&row);
    let mut row = "| CPU per operation, µs (user + system) |".to_string();
    for run in runs {
        let (user, system) = run.cpu_per_op();
        row += &format!(" {user:.0} + {system:.0} |");
    }
    out.line(&row);
    out.line("");
}

/// The floor under any officer operation: one durable commit of a tiny
/// transaction (WAL, `synchronous=FULL`), the median of 300.
fn fsync_floor(dir: &Path) -> Duration {
    let conn = rusqlite::Connection::open(dir.join("floor.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x BLOB);",
    )
    .unwrap();
    let mut times: Vec<Duration> = (0..300)
        .map(|_| {
            let t = Instant::now();
            conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (zeroblob(100)); COMMIT;")
                .unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// What the bench prints, kept to splice into a file (`--out`).
#[derive(Default)]
struct Report {
    text: String,
}

impl Report {
    fn line(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// Replace what lies between `<!-- store: begin -->` and
    /// `<!-- store: end -->` in `path` with this report.
    fn splice_into(&self, path: &Path) {
        const BEGIN: &str = "<!-- store: begin -->";
        const END: &str = "<!-- store: end -->";
        let old = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("--out {}: {e}", path.display()));
        let (Some(b), Some(e)) = (old.find(BEGIN), old.find(END)) else {
            panic!("{} has no {BEGIN} … {END} section", path.display());
        };
        let new = format!("{}{BEGIN}\n{}{}", &old[..b], self.text, &old[e..]);
        std::fs::write(path, new).unwrap();
        eprintln!("wrote the results into {}", path.display());
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let ram_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!(
        "{} CPUs (nproc), {cpu}, {ram_gb:.0} GiB RAM",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    )
}

// ── 2. 100,000 dossiers ────────────────────────────────────────────────────

/// Where the `i`th dossier was received: each commune in turn.
fn origins(node: &Node) -> Vec<OfficeId> {
    let mut origins: Vec<OfficeId> = node
        .network
        .offices
        .iter()
        .filter(|o| o.id.as_str().starts_with("commune:"))
        .map(|o| o.id.clone())
        .collect();
    origins.sort();
    origins
}

/// Dossier `i`: a first land-use certificate (30 working days) received
/// in March 2026 at one of the offices, and taken as far as `i % 10` says —
/// from received only to returned — along its catalogue route.
fn generate(node: &Node, origins: &[OfficeId], i: usize) -> Generated {
    let origin = &origins[i % origins.len()];
    let procedure = node.catalogue.get("1.004227").unwrap();
    let route = resolve_route(&node.network.offices, procedure, origin).unwrap();
    let office = node.network.offices.get(origin).unwrap();
    // 20 receipt days, the same number of dossiers each day at each office.
    let n_at_office = i / origins.len();
    let day = 2 + (n_at_office % 20) as u32;
    let received = local(3, day, 7, (n_at_office / 20 % 400) as u32);
    let date = node.calendar.local_date(received);
    let code = DossierCode::new(&office.agency_code, date, (n_at_office / 20 + 1) as u32).unwrap();
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
    key[8..].copy_from_slice(b"lienthng");
    let facts = DossierFacts {
        id: key.iter().map(|b| format!("{b:02x}")).collect(),
        code: code.to_string(),
        rules: "2025".into(),
        origin: origin.clone(),
        channel: Channel::Direct,
        result_delivery: Channel::Direct,
        procedure: ProcedureSnapshot {
            code: procedure.code.clone(),
            name: procedure.name.clone(),
            catalogue_version: node.catalogue.version.clone(),
            processing_days: Some(30),
            same_day_cutoff: None,
            fee_vnd: procedure.fee_vnd,
        },
        applicant: Applicant {
            name: format!("Nguyễn Văn {i}"),
            id_number: format!("049{i:09}"),
            address: format!("Thôn {}, {}", i % 12 + 1, office.name),
            phone: format!("0905{i:06}"),
            ..Applicant::default()
        },
        route: route.iter().map(RouteStep::from).collect(),
        documents: procedure
            .components
            .iter()
            .map(|c| schema::Component {
                name: c.name.clone(),
                copies: u64::from(c.copies),
                attachments: Vec::new(),
            })
            .collect(),
    };
    let mut k = 0;
    let mut event = |office: &OfficeId, action: Action| {
        k += 1;
        Event {
            id: EventId(format!("{i:x}-{k}")),
            at: received + chrono::Duration::hours(2 * k),
            office: office.clone(),
            officer: "Cán bộ".into(),
            action,
        }
    };
    let mut events = vec![event(origin, Action::Received)];
    // The route's deciding agency processes it (it alone may issue the
    // result: RULES.md, `fold::deciding_office`).
    let processor = fold::deciding_office(&facts.route)
        .cloned()
        .unwrap_or_else(|| origin.clone());
    let stage = i % 10;
    if stage >= 1 {
        events.push(event(
            origin,
            Action::Forwarded {
                to: processor.clone(),
                task: "Xử lý hồ sơ".into(),
                days: 8,
            },
        ));
    }
    if stage >= 3 {
        events.push(event(&processor, Action::Accepted));
        events.push(event(
            &processor,
            Action::Appraised {
                outcome: AppraisalOutcome::Ok,
                note: "Hồ sơ hợp lệ".into(),
            },
        ));
    }
    if stage >= 5 {
        events.push(event(
            &processor,
            Action::Approved {
                note: String::new(),
            },
        ));
        events.push(event(
            &processor,
            Action::ResultIssued {
                result: format!("Giấy chứng nhận số CS{i:06}"),
                attachment: None,
                return_office: origin.clone(),
            },
        ));
    }
    if stage >= 7 {
        events.push(event(
            origin,
            Action::Returned {
                channel: Channel::Direct,
            },
        ));
    }
    let mut doc = Automerge::new().with_actor(node.actor());
    let mut tx = doc.transaction();
    schema::create(&mut tx, &facts, &events[0]).unwrap();
    tx.commit();
    // One change per event, as officers make them.
    for e in &events[1..] {
        let mut tx = doc.transaction();
        schema::append_event(&mut tx, e).unwrap();
        tx.commit();
    }
    let dossier = schema::read(&doc).unwrap();
    let state = fold::fold(&dossier, &node.fold_context(local(NOW.0, NOW.1, NOW.2, 0)));
    assert!(state.conflicts.is_empty(), "{:?}", state.conflicts);
    let snapshot = lienthong::store::snapshot::encode(&doc);
    Generated {
        key,
        doc,
        snapshot,
        dossier,
        state,
    }
}

/// Build the store: generating threads, one writing thread, 1,000
/// dossiers per transaction.
fn build_store(dir: &Path, n: usize) -> Duration {
    drop(init(dir, PROVINCE));
    common::fill(dir, n, origins, |node, origins, i| {
        generate(node, origins, i)
    })
}

/// In the child process: list, report and fold everything; print one JSON line.
fn measure(dir: &Path) {
    let mut node = Node::open(dir).unwrap();
    let now = local(NOW.0, NOW.1, NOW.2, 0);
    let mut timed: Vec<serde_json::Value> = Vec::new();
    let mut list = |name: &str, filter: ListFilter| {
        let t = Instant::now();
        let rows = node.store.read(|r| r.list(&filter)).unwrap();
        timed.push(serde_json::json!({"name": name, "ms": ms(t.elapsed()), "rows": rows.len()}));
    };
    list(
        "first page of 100 by due date",
        ListFilter {
            limit: Some(100),
            ..ListFilter::default()
        },
    );
    list(
        "--overdue",
        ListFilter {
            overdue_at: Some(now),
            ..ListFilter::default()
        },
    );
    list(
        "--status processing",
        ListFilter {
            status: Some(Status::Processing),
            ..ListFilter::default()
        },
    );
    list(
        "--holder district:dien-ban --status processing",
        ListFilter {
            holder: Some("district:dien-ban".into()),
            status: Some(Status::Processing),
            ..ListFilter::default()
        },
    );
    list(
        "--origin commune:dien-ban/dien-phuong",
        ListFilter {
            origin: Some(COMMUNE.into()),
            ..ListFilter::default()
        },
    );
    list(
        "--due-before 2026-04-20",
        ListFilter {
            due_before: Some(local(4, 20, 0, 0)),
            ..ListFilter::default()
        },
    );
    let overdue_listed = timed
        .iter()
        .find(|t| t["name"] == "--overdue")
        .and_then(|t| t["rows"].as_u64())
        .unwrap();
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
    let report_ms = ms(t.elapsed());
    let rss_after_lists = peak_rss_mb();
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
        let key: DocKey = key.as_slice().try_into().unwrap();
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
        overdue_by_fold, overdue_listed,
        "the index and the fold agree on what is overdue"
    );
    println!(
        "{}",
        serde_json::json!({
            "dossiers": keys.len(),
            "lists": timed,
            "report_ms": report_ms, "report_received": report.total.received,
            "rss_after_lists_mb": rss_after_lists,
            "fold_all_s": fold_all.as_secs_f64(),
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

/// The real `lienthong list` on the store: wall time, the child's peak RSS
/// and the rows printed. Run from a small helper process (this bench in
/// `--cli` mode): a child's `ru_maxrss` counts the memory of the process it
/// was forked from, and this one holds a lot by now.
fn cli_list(dir: &Path, args: &[&str]) -> (f64, f64, usize) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--cli",
            "list",
            "--data",
            dir.to_str().unwrap(),
            "--now",
            "2026-04-24 09:00",
        ])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
    let (Some(t), Some(rss), Some(rows)) = (fields.next(), fields.next(), fields.next()) else {
        panic!(
            "lienthong {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    (t, rss, rows as usize)
}

/// `--cli ARGS…`: run `lienthong ARGS…`, print its wall time (ms), peak RSS
/// (MB) and the number of dossier rows it printed.
fn run_cli(args: &[String]) {
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args(args)
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    assert!(out.status.success(), "lienthong {args:?} failed");
    // Our only child, waited for: its peak RSS.
    // SAFETY: getrusage(2) fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let text = String::from_utf8_lossy(&out.stdout);
    let rows = if args.iter().any(|a| a == "--json") {
        text.matches("\"code\":").count()
    } else {
        text.lines().filter(|l| l.contains("-26")).count()
    };
    println!("{} {} {rows}", ms(elapsed), usage.ru_maxrss as f64 / 1024.0);
}

fn dir_bytes(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        measure(&PathBuf::from(&args[i + 1]));
        return;
    }
    if args.get(1).is_some_and(|a| a == "--cli") {
        run_cli(&args[2..]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    let ops_dossiers = number("--ops-dossiers", "LIENTHONG_BENCH_OPS_DOSSIERS", 300);
    let n = number("--dossiers", "LIENTHONG_BENCH_DOSSIERS", 100_000);
    let desks: Vec<usize> = option("--desks", "LIENTHONG_BENCH_DESKS")
        .unwrap_or_else(|| "1,2,4".into())
        .split(',')
        .map(|d| d.trim().parse().expect("--desks 1,2,4"))
        .collect();
    let repeat = number("--repeat", "LIENTHONG_BENCH_REPEAT", 3).max(1);
    let base = option("--dir", "LIENTHONG_BENCH_DIR").map(PathBuf::from);
    let tempdir = || match &base {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };

    let mut out = Report::default();
    let command: Vec<&str> = args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--bench")
        .collect();
    out.line(&format!(
        "Machine: {}; store in {}. One durable commit of a tiny transaction (WAL, `synchronous=FULL`) takes {:.2} ms here (median of 300) — the floor under every officer operation. Run: `cargo bench -p lienthong --bench store{}{}`.\n",
        machine(),
        base.as_ref()
            .map_or_else(|| std::env::temp_dir().display().to_string(), |b| b.display().to_string()),
        ms(fsync_floor(tempdir().path())),
        if command.is_empty() { "" } else { " -- " },
        command.join(" ")
    ));

    let mut runs = Vec::new();
    for &d in &desks {
        let label = format!("{d} desk{}", if d == 1 { "" } else { "s" });
        runs.push(fastest(repeat, |_| {
            let dir = tempdir();
            let node_dir = dir.path().join("node");
            drop(init(&node_dir, COMMUNE));
            operations(&node_dir, COMMUNE, ops_dossiers, d, 2, label.clone())
        }));
    }
    if n == 0 {
        out.line("### Officer operations (a commune node, empty store)\n");
        print_operations(&mut out, &runs);
        if let Some(path) = out_path() {
            out.splice_into(&path);
        }
        return;
    }

    let dir = tempdir();
    let node_dir = dir.path().join("node");
    eprintln!("building a store of {n} dossiers…");
    let build = build_store(&node_dir, n);
    let size_with_wal = dir_bytes(&node_dir, "store.db");
    // Settle the WAL into the database file before measuring its size.
    {
        let node = Node::open(&node_dir).unwrap();
        node.store
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let size = dir_bytes(&node_dir, "store.db");
    let document_bytes = {
        let mut node = Node::open(&node_dir).unwrap();
        node.store
            .read(|r| r.document_bytes(DocKind::Dossier))
            .unwrap()
    };
    let measured = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure", node_dir.to_str().unwrap()])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&measured.stdout);
    let m: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|_| {
        panic!(
            "measure failed: {}",
            String::from_utf8_lossy(&measured.stderr)
        )
    });
    let stored = m["dossiers"].as_u64().unwrap();
    assert_eq!(stored as usize, n);
    let cli: Vec<(String, (f64, f64, usize))> = [
        &["--json", "--overdue", "--limit", "100"][..],
        &["--json", "--overdue"][..],
        &["--holder", "district:dien-ban", "--status", "processing"][..],
    ]
    .iter()
    .map(|args| (args.join(" "), cli_list(&node_dir, args)))
    .collect();
    // Officer work on the full store (at the Center's desk, on days the
    // generated dossiers do not use).
    runs.push(fastest(repeat, |r| {
        operations(
            &node_dir,
            PROVINCE,
            ops_dossiers,
            1,
            23 + r as u32,
            format!("1 desk, {stored} dossiers stored"),
        )
    }));

    out.line("### Officer operations (synchronous=FULL)\n");
    print_operations(&mut out, &runs);

    out.line(&format!("### {stored} dossiers stored (a province node)\n"));
    out.line(
        "Dossiers of the four communes, March 2026, taken from receipt only to returned (1–8 events each); judged at 2026-04-24 09:00. \"Peak RSS\" is VmHWM of a process that only opens the store and reads (the build ran in another).\n",
    );
    out.line("| measure | time | rows | peak RSS |");
    out.line("|---|---:|---:|---:|");
    out.line(&format!(
        "| build: generate on {} threads, store 1,000 per transaction | {:.1} s | {stored} | |",
        std::thread::available_parallelism().map_or(2, |p| p.get()),
        build.as_secs_f64()
    ));
    for value in m["lists"].as_array().unwrap() {
        out.line(&format!(
            "| index: `list {}` | {:.1} ms | {} | |",
            value["name"].as_str().unwrap(),
            value["ms"].as_f64().unwrap(),
            value["rows"]
        ));
    }
    out.line(&format!(
        "| index: consolidated report by office (`lienthong report`) | {:.1} ms | {} received | {:.0} MB (lists and report) |",
        m["report_ms"].as_f64().unwrap(),
        m["report_received"],
        m["rss_after_lists_mb"].as_f64().unwrap()
    ));
    out.line(&format!(
        "| fold all {stored}, each loaded on demand, folded, dropped | {:.1} s ({:.0} µs each) | {stored} | {:.0} MB (whole process) |",
        m["fold_all_s"].as_f64().unwrap(),
        m["fold_all_s"].as_f64().unwrap() * 1e6 / stored as f64,
        m["peak_rss_mb"].as_f64().unwrap()
    ));
    for (args, (t, rss, rows)) in &cli {
        out.line(&format!(
            "| the binary: `lienthong list {args}` | {t:.0} ms | {rows} | {rss:.0} MB |"
        ));
    }
    out.line(&format!(
        "\nStore size: {:.0} MB after a WAL checkpoint ({:.0} MB with the WAL before it), **{:.0} bytes per dossier**, of which {:.0} are the Automerge document (snapshot and chunks) and the rest the index, feed and scope rows and their SQLite indexes.\n",
        size as f64 / 1e6,
        size_with_wal as f64 / 1e6,
        size as f64 / n as f64,
        document_bytes as f64 / n as f64
    ));
    if let Some(path) = out_path() {
        out.splice_into(&path);
    }
}

/// `--out FILE`; a relative FILE is taken from the workspace root (cargo
/// runs benches in the package's directory).
fn out_path() -> Option<PathBuf> {
    let path = PathBuf::from(option("--out", "LIENTHONG_BENCH_OUT")?);
    if path.is_absolute() {
        return Some(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the node crate sits in the workspace");
    Some(root.join(path))
}
