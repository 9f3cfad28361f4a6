//! Support for the chaos tests (`tests/tests/chaos/`): real nodes, real
//! QUIC, links through the [`crate::linkemu`] emulator, and the checks that
//! must hold whatever the links and crashes did.
//!
//! - [`cluster`]: a network of in-process daemons ([`lienthong::local_network`])
//!   where every child → parent link goes through its own emulator;
//! - [`view`]: what a node holds, read straight from its SQLite store, and
//!   the convergence checks (same heads on every node in a dossier's scope,
//!   nobody outside it, codes unique, derived states equal);
//! - [`desk`]: officer actions in story time and the ledger of what was
//!   acknowledged;
//! - [`process`]: `lienthong` child processes, for `kill -9`;
//! - [`recovery`]: the recovery figures of issue 11 (kill, cut, stop, idle bytes);
//! - [`schedule`]: the seeded random schedule.
//!
//! Nothing here sleeps to synchronise: waits poll a condition with a
//! deadline ([`wait_for`]).

pub mod cluster;
pub mod desk;
pub mod process;
pub mod recovery;
pub mod schedule;
pub mod view;

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use lienthong_shared::OfficeId;

pub const PROVINCE: &str = "province:quang-nam";
pub const DIEN_BAN: &str = "district:dien-ban";
pub const DIEN_PHUONG: &str = "commune:dien-ban/dien-phuong";
pub const DIEN_MINH: &str = "commune:dien-ban/dien-minh";
pub const DUY_XUYEN: &str = "district:duy-xuyen";
pub const DUY_SON: &str = "commune:duy-xuyen/duy-son";
pub const DUY_TRINH: &str = "commune:duy-xuyen/duy-trinh";
/// Provincial agencies served by the province's node.
pub const TAX: &str = "province:quang-nam/cuc-thue";
pub const LAND_OFFICE: &str = "province:quang-nam/so-tai-nguyen-moi-truong";

/// Every node office of the shipped three-tier network.
pub const ALL_NODES: [&str; 7] = [
    PROVINCE,
    DIEN_BAN,
    DIEN_PHUONG,
    DIEN_MINH,
    DUY_XUYEN,
    DUY_SON,
    DUY_TRINH,
];

/// First land-use certificate: commune → district → tax → land office.
pub const LAND: &str = "1.004227";
/// Marriage registration: one working day at the commune.
pub const MARRIAGE: &str = "1.000894";
/// Household business: commune desk → district.
pub const HOUSEHOLD_BUSINESS: &str = "1.001612";
/// Monthly social allowance: commune → district's labour office.
pub const SOCIAL_ALLOWANCE: &str = "1.001776";

pub fn office(id: &str) -> OfficeId {
    id.parse()
        .unwrap_or_else(|e| panic!("bad office id {id}: {e}"))
}

/// Local time (Asia/Ho_Chi_Minh) in March 2026, the story's month: the 2nd
/// is a Monday.
pub fn story(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .expect("a valid local time")
        .with_timezone(&Utc)
}

/// The fixed `now` every derived state is compared at.
pub fn judge_now() -> DateTime<Utc> {
    story(31, 9, 0)
}

/// How many seeds a seeded test runs: `CHAOS_SEEDS` if set, else `default`.
/// `CHAOS_SEED=N` runs exactly seed N (to replay a failure).
pub fn seeds(default: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("CHAOS_SEEDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default);
    let first = std::env::var("CHAOS_FIRST_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    (first..first + count).collect()
}

/// Poll `check` every `every` until it returns `Some`, or fail after
/// `timeout` with `what` and the last `Err` explanation.
pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(why) if start.elapsed() >= timeout => {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}: {why}"
                ));
            }
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

/// Run an async test body on its own multi-threaded runtime. Chaos tests
/// are plain `#[test]` functions that call this, so a failing one cannot
/// leave tasks behind for the next.
pub fn run<F: Future<Output = ()>>(body: F) {
    init_logging();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(body);
}

/// `CHAOS_LOG=info` (or any tracing filter) shows what the in-process
/// daemons and emulators do.
fn init_logging() {
    if let Ok(filter) = std::env::var("CHAOS_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .with_test_writer()
            .try_init();
    }
}
