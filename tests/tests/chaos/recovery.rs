//! Recovery (issue 11): after a `kill -9` and restart of either daemon, and
//! after a cut link returns, sync flows again in both directions; a daemon
//! whose peer is unreachable stops promptly on SIGTERM. Real `lienthong
//! run` child processes with production settings (backoff 1–60 s, idle
//! timeout 10 s), the commune's link through the seeded emulator.
//!
//! The deadlines here are generous (a loaded CI machine); the figures each
//! run prints are what `docs/benchmarks.md` ("Recovery") records.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lienthong::local_network::{LocalNetwork, config_of};
use lienthong_shared::builtin;
use lienthong_tests::chaos::desk::{Ledger, new_dossier, note};
use lienthong_tests::chaos::process::NodeProcess;
use lienthong_tests::chaos::view;
use lienthong_tests::chaos::*;
use lienthong_tests::linkemu::{LinkConfig, LinkEmulator};

/// How long a test waits for sync to flow again (the target is 5 s).
const DEADLINE: Duration = Duration::from_secs(60);
/// How long an idle link's traffic is sampled.
const IDLE_SAMPLE: Duration = Duration::from_secs(20);

fn set_parent_address(dir: &Path, addr: SocketAddr) {
    let mut config = config_of(dir).unwrap();
    for peer in &mut config.peers {
        if peer.role == lienthong::config::PeerRole::Parent {
            peer.address = Some(addr.to_string());
        }
    }
    config.save(&dir.join("node.toml")).unwrap();
}

struct Pair {
    _root: tempfile::TempDir,
    commune: PathBuf,
    district: PathBuf,
    log: PathBuf,
    ledger: Ledger,
    writes: u32,
}

impl Pair {
    fn init() -> Pair {
        let root = tempfile::tempdir().unwrap();
        let net = LocalNetwork::init(
            root.path(),
            builtin::QUANG_NAM_3TIER,
            builtin::CATALOGUE,
            &[office(DIEN_BAN), office(DIEN_PHUONG)],
        )
        .unwrap();
        let commune = net.get(&office(DIEN_PHUONG)).unwrap().dir.clone();
        let district = net.get(&office(DIEN_BAN)).unwrap().dir.clone();
        let log = root.path().join("daemons.log");
        Pair {
            _root: root,
            commune,
            district,
            log,
            ledger: Ledger::default(),
            writes: 0,
        }
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
    fn heads(dir: &Path, code: &str) -> Option<Vec<automerge::ChangeHash>> {
        view::quick(dir)
            .ok()?
            .into_values()
            .find(|q| q.code == code)
            .map(|q| q.heads)
    }

    /// Writes on both sides: six dossiers received at the commune, a
    /// note at the district on `code` (the commune holds it).
    fn write_both_sides(&mut self, code: &str) -> Pending {
        let up: Vec<String> = (0..6).map(|_| self.receive_at_commune()).collect();
        self.note_at_district(code);
        let down = Self::heads(&self.district, code).unwrap();
        Pending {
            up,
            down: (code.to_string(), down),
        }
    }

    /// How long after `from` each side's writes arrived at the other:
    /// (commune → district, district → commune).
    async fn arrival(&self, pending: &Pending, from: Instant) -> (Duration, Duration) {
        let (mut up, mut down) = (None, None);
        wait_for("sync to flow both ways", DEADLINE, Duration::from_millis(20), || {
            if up.is_none() && pending.up.iter().all(|c| Self::heads(&self.district, c).is_some())
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
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// What each side wrote and the other must receive.
struct Pending {
    up: Vec<String>,
    down: (String, Vec<automerge::ChangeHash>),
}

/// Each daemon killed with SIGKILL and restarted (the listening district,
/// then the dialling commune), and the link cut for 20 s and for 6 s (less
/// than the idle timeout: the connection outlives it, its retransmission
/// timer backed off). Right before each, both sides write (six dossiers
/// received at the commune, a note at the district), so both are sending
/// when it happens; afterwards everything written arrives on the other
/// side, and how long that took after the restart or the heal is printed.
#[test]
fn sync_flows_again_after_a_kill_or_a_cut_whichever_side_sends() {
    run(async {
        let mut pair = Pair::init();
        let mut district =
            NodeProcess::spawn(&pair.district, "127.0.0.1:0".parse().unwrap(), &pair.log).await;
        let link = LinkEmulator::start(
            "127.0.0.1:0".parse().unwrap(),
            district.addr,
            LinkConfig::default()
                .with_delay(Duration::from_millis(20))
                .with_bandwidth(400_000),
            LinkConfig::default().with_delay(Duration::from_millis(20)),
            11,
        )
        .await
        .unwrap();
        set_parent_address(&pair.commune, link.local_addr());
        let first = pair.receive_at_commune();
        let mut commune =
            NodeProcess::spawn(&pair.commune, "127.0.0.1:0".parse().unwrap(), &pair.log).await;
        wait_for(
            "the first dossier at the district",
            DEADLINE,
            Duration::from_millis(20),
            || Pair::heads(&pair.district, &first).ok_or("not yet".to_string()),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let connected = Instant::now();
        let pending = pair.write_both_sides(&first);
        let (up, down) = pair.arrival(&pending, connected).await;
        eprintln!("connected: up {up:?}, down {down:?}");

        // An idle, healthy link: keep-alives only, and never taken for a
        // silent one.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = link.stats();
        tokio::time::sleep(IDLE_SAMPLE).await;
        let after = link.stats();
        let datagrams = after.up.datagrams_in + after.down.datagrams_in
            - before.up.datagrams_in
            - before.down.datagrams_in;
        let payload =
            after.up.bytes_in + after.down.bytes_in - before.up.bytes_in - before.down.bytes_in;
        // IPv4 and UDP headers: 28 bytes a datagram on the wire.
        let per_hour = (payload + 28 * datagrams) as f64 * 3600.0 / IDLE_SAMPLE.as_secs_f64();
        eprintln!(
            "idle link: {datagrams} datagrams, {payload} B of UDP payload in {IDLE_SAMPLE:?}: {:.0} kB an hour with IP/UDP headers",
            per_hour / 1000.0
        );
        assert!(datagrams > 0, "no keep-alive crossed the idle link");
        assert!(
            !commune.log().contains("went silent"),
            "a healthy idle link was taken for a silent one: {}",
            commune.log()
        );
        let mut figures = Vec::new();

        // The listening district killed and restarted on its address.
        let pending = pair.write_both_sides(&first);
        district.kill9();
        assert!(district.pid().is_none(), "the district was not killed");
        let mut district = NodeProcess::spawn(&pair.district, district.addr, &pair.log).await;
        let restarted = Instant::now();
        figures.push(("kill -9 of the district", pair.arrival(&pending, restarted).await));

        // The dialling commune killed and restarted.
        let pending = pair.write_both_sides(&first);
        commune.kill9();
        assert!(commune.pid().is_none(), "the commune was not killed");
        let mut commune = NodeProcess::spawn(&pair.commune, commune.addr, &pair.log).await;
        let restarted = Instant::now();
        figures.push(("kill -9 of the commune", pair.arrival(&pending, restarted).await));

        for (label, cut) in [
            ("cut of 20 s", Duration::from_secs(20)),
            ("cut of 6 s", Duration::from_secs(6)),
        ] {
            let pending = pair.write_both_sides(&first);
            let before = link.stats();
            link.set_cut(true);
            tokio::time::sleep(cut).await;
            let during = link.stats();
            link.set_cut(false);
            let healed = Instant::now();
            assert!(
                during.up.datagrams_in > before.up.datagrams_in
                    && during.down.datagrams_in > before.down.datagrams_in,
                "nothing tried to cross the cut link"
            );
            figures.push((label, pair.arrival(&pending, healed).await));
        }
        for (label, (up, down)) in &figures {
            eprintln!(
                "recovery after {label}: commune → district {:.1} s, district → commune {:.1} s",
                up.as_secs_f64(),
                down.as_secs_f64()
            );
        }
        commune.terminate();
        district.terminate();
        link.shutdown().await;
    });
}

/// A commune whose district never answers (a UDP port that swallows every
/// packet) stops within seconds of SIGTERM, while it is dialling.
#[test]
fn a_daemon_with_an_unreachable_peer_stops_promptly() {
    run(async {
        let pair = Pair::init();
        let black_hole = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_parent_address(&pair.commune, black_hole.local_addr().unwrap());
        let mut commune =
            NodeProcess::spawn(&pair.commune, "127.0.0.1:0".parse().unwrap(), &pair.log).await;
        // Dialling: the first handshake is under way and unanswered.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut buf = [0u8; 2048];
        black_hole.set_nonblocking(true).unwrap();
        assert!(
            black_hole.recv_from(&mut buf).is_ok(),
            "the commune has not tried to dial its district"
        );
        assert!(commune.exited().is_none(), "{}", commune.log());
        let pid = commune.pid().unwrap() as libc::pid_t;
        let asked = Instant::now();
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let status = wait_for(
            "the daemon to exit after SIGTERM",
            Duration::from_secs(30),
            Duration::from_millis(10),
            || commune.exited().ok_or_else(|| "still running".to_string()),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let took = asked.elapsed();
        eprintln!("stopped {took:?} after SIGTERM, {status}");
        assert!(status.success(), "{status}: {}", commune.log());
        assert!(commune.log().contains("stopped"), "{}", commune.log());
        assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    });
}
