//! Console benchmark (issue 9): the desk with 100,000 dossiers stored,
//! through the real HTTP server and a real client on 127.0.0.1, and the
//! memory the console adds to a node.
//!
//! 1. A commune node's store with N dossiers (default 100,000), all
//!    received at that commune's desk — the worst case for its queues:
//!    first land-use certificates (30 working days) taken as far as `i % 10`
//!    says (received; forwarded to the district; accepted there; resolved
//!    and back at the commune's return desk; returned), so the desk's queues
//!    hold about 30,000 (new: received, a third in transfer to the
//!    district — a forward does not change status 2) and 20,000 (result to
//!    hand over), and many are overdue. Built fast as in `benches/store.rs`
//!    (documents generated on worker threads, stored through
//!    `save_document_with` + `index_dossier`, 1,000 a transaction).
//! 2. In a child process (so its memory counts only the console): open the
//!    node, read VmRSS; start the console, sign in, render the desk (every
//!    queue's tab counted on each page), a queue, searches (a rare name, a
//!    name every dossier has, an ID number, a code prefix), and walk the
//!    whole "new" queue page by page to its last page; read VmRSS and
//!    VmHWM again.
//!
//! ```sh
//! cargo bench -p lienthong --bench console -- --out docs/benchmarks.md
//! cargo test --bench console -p lienthong -- --dossiers 20000   # unoptimised build, quicker to compile
//! ```
//! Options: `--dossiers N` (`LIENTHONG_BENCH_DOSSIERS`), `--dir DIR`
//! (where the store goes), `--out FILE` (write the table into FILE between
//! `<!-- console: begin -->` and `<!-- console: end -->`).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::Automerge;
use chrono::{DateTime, TimeZone, Utc};
use common::Generated;
use lienthong::console::Console;
use lienthong::node::{InitSources, Node};
use lienthong::replication::Clock;
use lienthong::service::accounts::{self, Role};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::catalogue::resolve_route;
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema::{
    self, Applicant, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{Action, AppraisalOutcome, Channel, Event, EventId};

const COMMUNE: &str = "commune:dien-ban/dien-phuong";
const PASSWORD: &str = "mat-khau-bench-1";

/// Local time in 2026 (Asia/Ho_Chi_Minh).
fn local(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, month, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(i64::from(minute))
}

/// "Now" for the console: 24 April 2026, 09:00; many dossiers are overdue.
fn now() -> DateTime<Utc> {
    local(4, 24, 9, 0)
}

fn option(name: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

/// `VmRSS` or `VmHWM` of this process, in MiB.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Dossier `i`, received at the commune in March 2026 and taken as far as
/// `i % 10` says.
fn generate(node: &Node, i: usize) -> Generated {
    let origin: OfficeId = COMMUNE.parse().unwrap();
    let procedure = node.catalogue.get("1.004227").unwrap();
    let route = resolve_route(&node.network.offices, procedure, &origin).unwrap();
    let office = node.network.offices.get(&origin).unwrap();
    let day = 2 + (i % 20) as u32;
    let received = local(3, day, 7, (i / 20 % 400) as u32);
    let date = node.calendar.local_date(received);
    let code = DossierCode::new(&office.agency_code, date, (i / 20 + 1) as u32).unwrap();
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
    key[8..].copy_from_slice(b"consoleb");
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
            name: format!("Nguyễn Văn Khánh {i}"),
            id_number: format!("049{i:09}"),
            address: format!("Thôn {}, {}", i % 12 + 1, office.name),
            phone: format!("0905{i:06}"),
            ..Applicant::default()
        },
        route: route.iter().map(RouteStep::from).collect(),
        documents: Vec::new(),
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
    let mut events = vec![event(&origin, Action::Received)];
    // The route's deciding agency processes it: it alone may issue the
    // result (RULES.md, `fold::deciding_office`).
    let processor = fold::deciding_office(&facts.route)
        .cloned()
        .unwrap_or_else(|| origin.clone());
    let stage = i % 10;
    if stage >= 1 {
        events.push(event(
            &origin,
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
            &origin,
            Action::Returned {
                channel: Channel::Direct,
            },
        ));
    }
    let mut doc = Automerge::new().with_actor(node.actor());
    let mut tx = doc.transaction();
    schema::create(&mut tx, &facts, &events[0]).unwrap();
    for e in &events[1..] {
        schema::append_event(&mut tx, e).unwrap();
    }
    tx.commit();
    let dossier = schema::read(&doc).unwrap();
    let state = fold::fold(&dossier, &node.fold_context(now()));
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

fn build_store(dir: &Path, n: usize) -> Duration {
    let mut node = Node::init(
        dir,
        &COMMUNE.parse().unwrap(),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap();
    accounts::add(
        &mut node,
        "hoa",
        "Trần Thị Hoa",
        Role::Desk,
        PASSWORD,
        now(),
    )
    .unwrap();
    drop(node);
    common::fill(dir, n, |_| (), |node, _, i| generate(node, i))
}

struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

impl Client {
    /// GET `path`: the time to the last byte, the body.
    fn get(&self, path: &str) -> (Duration, String) {
        let t = Instant::now();
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .call()
            .unwrap();
        let body = response.body_mut().read_to_string().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}: {body}");
        (t.elapsed(), body)
    }
}

fn rows(page: &str) -> usize {
    page.matches(r#"<a href="/dossiers/"#).count()
}

fn next_link(page: &str) -> Option<String> {
    let start = page.find(r#"rel="next" href=""#)? + r#"rel="next" href=""#.len();
    let len = page[start..].find('"')?;
    Some(page[start..start + len].replace("&amp;", "&"))
}

/// Median and maximum of `runs` GETs of `path`.
fn timed(client: &Client, path: &str, runs: usize) -> (f64, f64, usize) {
    let mut times: Vec<f64> = Vec::new();
    let mut shown = 0;
    for _ in 0..runs {
        let (t, page) = client.get(path);
        shown = rows(&page);
        times.push(ms(t));
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() - 1], shown)
}

/// In the child process: the console's timings and memory, as JSON lines.
fn measure(dir: &Path) {
    let node = Node::open(dir).unwrap();
    let agency = node
        .network
        .offices
        .get(&COMMUNE.parse().unwrap())
        .unwrap()
        .agency_code
        .clone();
    let rss_node = status_mb("VmRSS:");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fixed = now();
    let console = runtime
        .block_on(Console::start(
            node,
            "127.0.0.1:0".parse().unwrap(),
            Clock::new(move || fixed),
        ))
        .unwrap();
    let base = format!("http://{}", console.local_addr());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(format!("{base}/sign-in"))
        .send_form([("name", "hoa"), ("password", PASSWORD)])
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // Signing in hashes the password with Argon2id (7 MiB, memory-hard
    // by design): the peak it leaves is counted apart.
    let hwm_sign_in = status_mb("VmHWM:");
    let rss_sign_in = status_mb("VmRSS:");
    let client = Client {
        agent,
        base,
        cookie,
    };
    let mut out: Vec<(String, f64, f64, usize)> = Vec::new();
    let mut run = |name: &str, path: &str| {
        let (median, max, shown) = timed(&client, path, 11);
        out.push((name.to_string(), median, max, shown));
    };
    run("`/desk` (new; all 8 tabs counted)", "/desk");
    run("`/desk?queue=processing`", "/desk?queue=processing");
    run("`/desk?queue=return`", "/desk?queue=return");
    run("`/desk?queue=overdue`", "/desk?queue=overdue");
    run("`/desk?queue=due-soon`", "/desk?queue=due-soon");
    run("search a rare name: `khanh 4242`", "/desk?q=khanh+4242");
    run(
        "search a name all share: `nguyen van`",
        "/desk?q=nguyen+van",
    );
    run(
        "search an ID number: `049000054321`",
        "/desk?q=049000054321",
    );
    run(
        "search a code prefix (one day's codes)",
        &format!("/desk?q={agency}-260302"),
    );
    // Walk the whole processing queue by its "next page" links.
    let mut pages: Vec<f64> = Vec::new();
    let mut seen = 0;
    let mut next = Some("/desk?queue=new".to_string());
    while let Some(link) = next.take() {
        let (t, page) = client.get(&link);
        pages.push(ms(t));
        seen += rows(&page);
        next = next_link(&page);
    }
    let last = *pages.last().unwrap();
    let mut sorted = pages.clone();
    sorted.sort_by(f64::total_cmp);
    let rss_after = status_mb("VmRSS:");
    let hwm = status_mb("VmHWM:");
    runtime.block_on(console.shutdown());
    for (name, median, max, shown) in out {
        println!(
            "{}",
            serde_json::json!({"name": name, "median": median, "max": max, "rows": shown})
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "walk_pages": pages.len(), "walk_rows": seen,
            "walk_median": sorted[sorted.len() / 2], "walk_p99": sorted[sorted.len() * 99 / 100],
            "walk_max": sorted[sorted.len() - 1], "walk_last": last,
            "rss_node": rss_node, "rss_after": rss_after, "hwm": hwm, "hwm_sign_in": hwm_sign_in, "rss_sign_in": rss_sign_in,
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
        return;
    }
    let n: usize = option("--dossiers", "LIENTHONG_BENCH_DOSSIERS").map_or(100_000, |v| {
        v.replace(['_', ','], "").parse().expect("--dossiers N")
    });
    let dir = match option("--dir", "LIENTHONG_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let store = dir.path().join("commune");
    let built = build_store(&store, n);
    eprintln!("built {n} dossiers in {:.1} s", built.as_secs_f64());
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure", store.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&child.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let (profile, run) = if cfg!(debug_assertions) {
        (
            "test profile: this crate at opt-level 1, dependencies (SQLite among them) at 2",
            "cargo test -p lienthong --bench console -- --out docs/benchmarks.md",
        )
    } else {
        (
            "bench profile (release)",
            "cargo bench -p lienthong --bench console -- --out docs/benchmarks.md",
        )
    };
    let mut report = String::new();
    report += &format!(
        "{n} dossiers in one commune's store (built in {:.0} s), all received at its desk; \"now\" 24/04/2026 09:00. Times to the last byte through the real server and client on 127.0.0.1, {profile}; median and maximum of 11 requests. Run: `{run}`.\n\n",
        built.as_secs_f64()
    );
    report += "| page | rows | median ms | max ms |\n|---|---:|---:|---:|\n";
    let summary = lines.last().cloned().unwrap_or_default();
    for line in &lines[..lines.len().saturating_sub(1)] {
        report += &format!(
            "| {} | {} | {:.1} | {:.1} |\n",
            line["name"].as_str().unwrap_or_default(),
            line["rows"],
            line["median"].as_f64().unwrap_or_default(),
            line["max"].as_f64().unwrap_or_default()
        );
    }
    let f = |k: &str| summary[k].as_f64().unwrap_or_default();
    report += &format!(
        "\nWalking the whole \"new\" queue (received here, some in transfer to the district) by its \"next page\" links (keyset): {} pages, {} rows; per page median {:.1} ms, p99 {:.1} ms, max {:.1} ms; the last page {:.1} ms.\n\n",
        summary["walk_pages"],
        summary["walk_rows"],
        f("walk_median"),
        f("walk_p99"),
        f("walk_max"),
        f("walk_last")
    );
    report += &format!(
        "Memory of the process (VmRSS): {:.1} MiB with the node open (store connection, catalogue, calendar); {:.1} MiB after starting the console and serving every request above: **+{:.1} MiB**. Of that, signing in (Argon2id, {} MiB by design, one hash at a time) left {:.1} MiB resident before any page was served. Peak (VmHWM) {:.1} MiB (+{:.1} MiB), {:.1} MiB of it reached while signing in.\n",
        f("rss_node"),
        f("rss_after"),
        f("rss_after") - f("rss_node"),
        lienthong::service::accounts::HASH_MEMORY_KIB / 1024,
        f("rss_sign_in") - f("rss_node"),
        f("hwm"),
        f("hwm") - f("rss_node"),
        f("hwm_sign_in")
    );
    print!("{report}");
    if let Some(path) = option("--out", "LIENTHONG_BENCH_OUT") {
        let path = if Path::new(&path).is_absolute() {
            PathBuf::from(path)
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join(path)
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let (begin, end) = ("<!-- console: begin -->", "<!-- console: end -->");
        let updated = match (text.find(begin), text.find(end)) {
            (Some(b), Some(e)) if b < e => {
                format!("{}{begin}\n{report}{}", &text[..b], &text[e..])
            }
            _ => format!("{text}\n## Console\n\n{begin}\n{report}{end}\n"),
        };
        std::fs::write(&path, updated).unwrap();
    }
}
