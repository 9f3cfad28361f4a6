//! Recovery figures (issue 11), shared by the chaos test
//! (`tests/tests/chaos/recovery.rs`, which asserts) and `syncbench
//! recovery` (which writes them to `docs/benchmarks.md`): two `lienthong
//! run` child processes with production settings (backoff 1–60 s, idle
//! timeout 10 s), a commune dialling its district through the seeded link
//! emulator.
//!
//! - [`measure`]: an idle link's traffic; then each daemon killed with
//!   SIGKILL and restarted (the listening district, then the dialling
//!   commune) and the link cut for 20 s, for 6 s (less than the idle
//!   timeout: the connection outlives the cut, its retransmission timer
//!   backed off) and for 45 s (several redials fail: a backoff grows). Right before each event both sides write — six dossiers
//!   received at the commune, a note at the district — so both are sending
//!   when it happens; the figure is how long after the restart (the daemon
//!   listening again) or the heal everything written had arrived on the
//!   other side.
//! - [`stop_time`]: a daemon whose parent never answers (a UDP port that
//!   swallows every packet), stopped with SIGTERM while it dials.
//!
//! Preconditions that would make a figure meaningless (the kill did not
//! happen, nothing tried to cross the cut) are errors, not figures.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use lienthong::local_network::{LocalNetwork, config_of};
use lienthong_shared::builtin;

use super::desk::{Ledger, new_dossier, note};
use super::process::NodeProcess;
use super::{DIEN_BAN, DIEN_PHUONG, LAND, office, story, view, wait_for};
use crate::linkemu::{LinkConfig, LinkEmulator};

/// How long sync may take to flow again before the run fails (the target
/// is 5 s; this is for a loaded machine).
pub const DEADLINE: Duration = Duration::from_secs(60);
/// How long an idle link's traffic is sampled.
pub const IDLE_SAMPLE: Duration = Duration::from_secs(20);
/// IPv4 and UDP headers: bytes a datagram costs on the wire beyond its payload.
const IP_UDP_HEADERS: u64 = 28;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Datagrams and UDP payload bytes both ways over [`IDLE_SAMPLE`] of an
    /// idle, healthy link.
    pub idle_datagrams: u64,
    pub idle_payload: u64,
    /// Whether the commune took the idle link for a silent one.
    pub idle_probed: bool,
    /// Each event, and how long after it the commune's writes reached the
    /// district (up) and the district's the commune (down).
    pub events: Vec<(&'static str, Duration, Duration)>,
    /// Each cut, and the bytes on the wire (payload and IP/UDP headers)
    /// the commune and the district sent into it: what an outage costs a
    /// metered link.
    pub outages: Vec<(&'static str, u64, u64)>,
    /// The commune's log (for a failing test to show).
    pub commune_log: String,
}

impl Figures {
    /// Idle bytes an hour on the wire (payload and IP/UDP headers, both ways).
    pub fn idle_bytes_per_hour(&self) -> f64 {
        (self.idle_payload + IP_UDP_HEADERS * self.idle_datagrams) as f64 * 3600.0
            / IDLE_SAMPLE.as_secs_f64()
    }
}

fn set_parent_address(dir: &Path, addr: SocketAddr) -> Result<(), String> {
    let mut config = config_of(dir).map_err(|e| e.to_string())?;
    for peer in &mut config.peers {
        if peer.role == lienthong::config::PeerRole::Parent {
            peer.address = Some(addr.to_string());
        }
    }
    config
        .save(&dir.join("node.toml"))
        .map_err(|e| e.to_string())
}

/// A commune and its district, initialised, not running.
struct Pair {
    _root: tempfile::TempDir,
    commune: PathBuf,
    district: PathBuf,
    log: PathBuf,
    ledger: Ledger,
    writes: u32,
}

/// What each side wrote and the other must receive.
struct Pending {
    up: Vec<String>,
    down: (String, Vec<ChangeHash>),
}

impl Pair {
    fn init() -> Result<Pair, String> {
        let root = tempfile::tempdir().map_err(|e| e.to_string())?;
        let net = LocalNetwork::init(
            root.path(),
            builtin::QUANG_NAM_3TIER,
            builtin::CATALOGUE,
            &[office(DIEN_BAN), office(DIEN_PHUONG)],
        )
        .map_err(|e| e.to_string())?;
        let dir = |o: &str| {
            net.get(&office(o))
                .map(|n| n.dir.clone())
                .map_err(|e| e.to_string())
        };
        Ok(Pair {
            commune: dir(DIEN_PHUONG)?,
            district: dir(DIEN_BAN)?,
            log: root.path().join("daemons.log"),
            _root: root,
            ledger: Ledger::default(),
            writes: 0,
        })
    }

    fn receive_at_commune(&mut self) -> String {
        self.writes += 1;
        let i = self.writes;
        self.ledger
            .receive(
                &self.commune,
                &office(DIEN_PHUONG),
                story(2 + (i / 50) % 5, 8 + i % 8, i % 60),
                &new_dossier(LAND, &format!("Người nộp {i}")),
            )
            .code
    }

    fn note_at_district(&mut self, code: &str) {
        self.writes += 1;
        self.ledger.record(
            &self.district,
            code,
            None,
            story(9, 8, self.writes % 60),
            note(&format!("Ghi chú {}", self.writes)),
        );
    }

    /// The heads of the dossier `code` at `dir`, if it holds it.
    fn heads(dir: &Path, code: &str) -> Option<Vec<ChangeHash>> {
        view::quick(dir)
            .ok()?
            .into_values()
            .find(|q| q.code == code)
            .map(|q| q.heads)
    }

    /// Six dossiers received at the commune, a note at the district on
    /// `code` (which both hold).
    fn write_both_sides(&mut self, code: &str) -> Result<Pending, String> {
        let up: Vec<String> = (0..6).map(|_| self.receive_at_commune()).collect();
        self.note_at_district(code);
        let down = Self::heads(&self.district, code)
            .ok_or_else(|| format!("the district does not hold {code}"))?;
        Ok(Pending {
            up,
            down: (code.to_string(), down),
        })
    }

    /// How long after `from` each side's writes had arrived at the other:
    /// (commune → district, district → commune).
    async fn arrival(
        &self,
        pending: &Pending,
        from: Instant,
    ) -> Result<(Duration, Duration), String> {
        let (mut up, mut down) = (None, None);
        wait_for(
            "sync to flow both ways",
            DEADLINE,
            Duration::from_millis(20),
            || {
                if up.is_none()
                    && pending
                        .up
                        .iter()
                        .all(|c| Self::heads(&self.district, c).is_some())
                {
                    up = Some(from.elapsed());
                }
                let (code, heads) = &pending.down;
                if down.is_none() && Self::heads(&self.commune, code).as_ref() == Some(heads) {
                    down = Some(from.elapsed());
                }
                match (up, down) {
                    (Some(u), Some(d)) => Ok((u, d)),
                    _ => Err(format!(
                        "commune → district {}, district → commune {}",
                        if up.is_some() { "arrived" } else { "not yet" },
                        if down.is_some() { "arrived" } else { "not yet" }
                    )),
                }
            },
        )
        .await
    }
}

/// One run of the recovery scenario (about 100 s).
pub async fn measure() -> Result<Figures, String> {
    let mut pair = Pair::init()?;
    let loopback: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let mut district = NodeProcess::spawn(&pair.district, loopback, &pair.log).await;
    let link = LinkEmulator::start(
        loopback,
        district.addr,
        LinkConfig::default()
            .with_delay(Duration::from_millis(20))
            .with_bandwidth(400_000),
        LinkConfig::default().with_delay(Duration::from_millis(20)),
        11,
    )
    .await
    .map_err(|e| e.to_string())?;
    set_parent_address(&pair.commune, link.local_addr())?;
    let first = pair.receive_at_commune();
    let mut commune = NodeProcess::spawn(&pair.commune, loopback, &pair.log).await;
    wait_for(
        "the first dossier at the district",
        DEADLINE,
        Duration::from_millis(20),
        || Pair::heads(&pair.district, &first).ok_or("not yet".to_string()),
    )
    .await?;
    let connected = Instant::now();
    let pending = pair.write_both_sides(&first)?;
    pair.arrival(&pending, connected).await?;

    // An idle, healthy link: keep-alives only.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = link.stats();
    tokio::time::sleep(IDLE_SAMPLE).await;
    let after = link.stats();
    let idle_datagrams = after.up.datagrams_in + after.down.datagrams_in
        - before.up.datagrams_in
        - before.down.datagrams_in;
    let idle_payload =
        after.up.bytes_in + after.down.bytes_in - before.up.bytes_in - before.down.bytes_in;
    let idle_probed = commune.log().contains("went silent");
    let mut events = Vec::new();
    let mut outages = Vec::new();

    // The listening district killed and restarted on its address.
    let pending = pair.write_both_sides(&first)?;
    district.kill9();
    if district.pid().is_some() {
        return Err("the district was not killed".into());
    }
    let mut district = NodeProcess::spawn(&pair.district, district.addr, &pair.log).await;
    let restarted = Instant::now();
    let (up, down) = pair.arrival(&pending, restarted).await?;
    events.push(("kill -9 of the district (listening)", up, down));

    // The dialling commune killed and restarted.
    let pending = pair.write_both_sides(&first)?;
    commune.kill9();
    if commune.pid().is_some() {
        return Err("the commune was not killed".into());
    }
    let mut commune = NodeProcess::spawn(&pair.commune, commune.addr, &pair.log).await;
    let restarted = Instant::now();
    let (up, down) = pair.arrival(&pending, restarted).await?;
    events.push(("kill -9 of the commune (dialling)", up, down));

    for (label, cut) in [
        ("cut of 20 s", Duration::from_secs(20)),
        ("cut of 6 s", Duration::from_secs(6)),
        ("cut of 45 s", Duration::from_secs(45)),
    ] {
        let pending = pair.write_both_sides(&first)?;
        let before = link.stats();
        link.set_cut(true);
        tokio::time::sleep(cut).await;
        let during = link.stats();
        link.set_cut(false);
        let healed = Instant::now();
        if during.up.datagrams_in == before.up.datagrams_in
            || during.down.datagrams_in == before.down.datagrams_in
        {
            return Err(format!(
                "nothing tried to cross the link during the {label}"
            ));
        }
        let (up, down) = pair.arrival(&pending, healed).await?;
        events.push((label, up, down));
        let wire = |after: &crate::linkemu::DirectionStats,
                    before: &crate::linkemu::DirectionStats| {
            after.bytes_in - before.bytes_in
                + IP_UDP_HEADERS * (after.datagrams_in - before.datagrams_in)
        };
        outages.push((
            label,
            wire(&during.up, &before.up),
            wire(&during.down, &before.down),
        ));
    }
    let commune_log = commune.log();
    commune.terminate();
    district.terminate();
    link.shutdown().await;
    Ok(Figures {
        idle_datagrams,
        idle_payload,
        idle_probed,
        events,
        outages,
        commune_log,
    })
}

/// How long a daemon whose parent never answers takes to exit after
/// SIGTERM, with the exit status and its log.
pub async fn stop_time() -> Result<(Duration, std::process::ExitStatus, String), String> {
    let pair = Pair::init()?;
    let black_hole = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    set_parent_address(
        &pair.commune,
        black_hole.local_addr().map_err(|e| e.to_string())?,
    )?;
    let loopback: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let mut commune = NodeProcess::spawn(&pair.commune, loopback, &pair.log).await;
    // Dialling: the first handshake is under way and unanswered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    black_hole
        .set_nonblocking(true)
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    if black_hole.recv_from(&mut buf).is_err() {
        return Err("the commune has not tried to dial its district".into());
    }
    if commune.exited().is_some() {
        return Err(format!("the daemon exited by itself: {}", commune.log()));
    }
    let pid = commune.pid().ok_or("no daemon process")? as libc::pid_t;
    let asked = Instant::now();
    // SAFETY: kill(2) on our own child, not yet reaped (`exited` above
    // would have reaped it).
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = wait_for(
        "the daemon to exit after SIGTERM",
        Duration::from_secs(30),
        Duration::from_millis(5),
        || commune.exited().ok_or_else(|| "still running".to_string()),
    )
    .await?;
    Ok((asked.elapsed(), status, commune.log()))
}

/// The figures of several runs as a markdown table (each cell: the runs'
/// values in order).
pub fn table(runs: &[Figures], stops: &[Duration]) -> String {
    let list = |values: Vec<String>| values.join(" / ");
    let mut out = String::from("| figure | runs | target |\n|---|---|---|\n");
    if let Some(first) = runs.first() {
        for (i, (label, _, _)) in first.events.iter().enumerate() {
            for (way, pick) in [
                ("commune → district", 0usize),
                ("district → commune", 1usize),
            ] {
                let values = runs
                    .iter()
                    .filter_map(|r| r.events.get(i))
                    .map(|(_, up, down)| {
                        let d = if pick == 0 { up } else { down };
                        format!("{:.1} s", d.as_secs_f64())
                    })
                    .collect();
                out.push_str(&format!(
                    "| sync again after a {label}, {way} | {} | ≤ 5 s |\n",
                    list(values)
                ));
            }
        }
    }
    if let Some(first) = runs.first() {
        for (i, (label, _, _)) in first.outages.iter().enumerate() {
            let values = runs
                .iter()
                .filter_map(|r| r.outages.get(i))
                .map(|(_, up, down)| {
                    format!(
                        "{:.1} + {:.1} kB",
                        *up as f64 / 1000.0,
                        *down as f64 / 1000.0
                    )
                })
                .collect();
            out.push_str(&format!(
                "| sent into the {label}, commune + district (IP/UDP headers included) | {} | stated |\n",
                list(values)
            ));
        }
    }
    out.push_str(&format!(
        "| stop with an unreachable peer (SIGTERM → exit) | {} | < 2 s |\n",
        list(
            stops
                .iter()
                .map(|d| format!("{:.2} s", d.as_secs_f64()))
                .collect()
        )
    ));
    out.push_str(&format!(
        "| idle link, both ways, with IP/UDP headers | {} | stated |\n",
        list(
            runs.iter()
                .map(|r| format!(
                    "{:.0} kB/h ({} datagrams in {} s)",
                    r.idle_bytes_per_hour() / 1000.0,
                    r.idle_datagrams,
                    IDLE_SAMPLE.as_secs()
                ))
                .collect()
        )
    ));
    out
}
