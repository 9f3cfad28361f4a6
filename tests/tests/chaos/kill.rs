//! `kill -9` of a daemon in the middle of a sync batch, and of officer
//! commands in the middle of their writes while the daemons sync.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use lienthong::local_network::{LocalNetwork, config_of};
use lienthong::node::Node;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_tests::chaos::cluster::{Cluster, test_options};
use lienthong_tests::chaos::desk::{Ledger, new_dossier};
use lienthong_tests::chaos::process::{NodeProcess, cli, command, sum_field};
use lienthong_tests::chaos::view::{self, assert_agree};
use lienthong_tests::chaos::*;
use lienthong_tests::linkemu::{LinkConfig, LinkEmulator};
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, OpenFlags};

const WAIT: Duration = Duration::from_secs(90);

fn read_only(dir: &Path) -> Connection {
    let conn = Connection::open_with_flags(dir.join("store.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn count_from(dir: &Path, origin: &str) -> u64 {
    read_only(dir)
        .query_row(
            "SELECT count(*) FROM dossiers WHERE origin = ?1",
            [origin],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64
}

/// The checkpoint `dir`'s node keeps of `peer`'s feed.
fn incoming_checkpoint(dir: &Path, peer: &[u8; 32]) -> i64 {
    read_only(dir)
        .query_row(
            "SELECT coalesce(max(incoming), 0) FROM peers WHERE node_id = ?1",
            [&peer[..]],
            |r| r.get(0),
        )
        .unwrap()
}

/// Dossiers of `dir`'s feed at or below `seq`.
fn feed_entries_upto(dir: &Path, seq: i64) -> u64 {
    read_only(dir)
        .query_row(
            "SELECT count(*) FROM feed f JOIN documents d USING (doc_id)
             WHERE d.kind = 'dossier' AND f.seq <= ?1",
            [seq],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64
}

/// Point `dir`'s parent peer at `addr`.
fn set_parent_address(dir: &Path, addr: SocketAddr) {
    let mut config = config_of(dir).unwrap();
    for peer in &mut config.peers {
        if peer.role == lienthong::config::PeerRole::Parent {
            peer.address = Some(addr.to_string());
        }
    }
    config.save(&dir.join("node.toml")).unwrap();
}

fn views_of(
    dirs: &BTreeMap<OfficeId, PathBuf>,
) -> Result<BTreeMap<OfficeId, view::QuickView>, String> {
    dirs.iter()
        .map(|(o, d)| Ok((o.clone(), view::quick(d)?)))
        .collect()
}

async fn wait_converged(dirs: &BTreeMap<OfficeId, PathBuf>) {
    wait_for("convergence", WAIT, Duration::from_millis(100), || {
        view::divergence(&views_of(dirs)?).map_or(Ok(()), Err)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// A commune holding `N` dossiers received offline syncs them to its
/// district over a narrow link. The district's daemon is a `lienthong run`
/// child process; once about 60% have arrived, and right after an officer's
/// note at the district was acknowledged, it gets SIGKILL. After the
/// restart:
/// - the checkpoint the district kept never covers a dossier it does not
///   hold (it moves only with durable data);
/// - the commune re-sends only what lies above that checkpoint: the
///   restarted district stores at most `N − covered` documents from it, and
///   the bytes re-sent on the link are at most that share of a full sync's
///   (measured on the district → province link, which carries all `N` in
///   one session once healed);
/// - the restarted node is back in session with both neighbours within
///   seconds (not after a minute of the peers clinging to dead connections);
/// - every acknowledged write (the commune's receipts, the district's note)
///   is on every node in scope, codes are unique and the nodes agree.
#[test]
fn a_district_killed_mid_sync_resumes_from_its_checkpoint() {
    run(async {
        const N: u64 = 240;
        let root = tempfile::tempdir().unwrap();
        let (province, district, commune) =
            (office(PROVINCE), office(DIEN_BAN), office(DIEN_PHUONG));
        let mut net = LocalNetwork::init(
            root.path(),
            builtin::QUANG_NAM_3TIER,
            builtin::CATALOGUE,
            &[province.clone(), district.clone(), commune.clone()],
        )
        .unwrap();
        net.set_options(test_options());
        let dirs: BTreeMap<OfficeId, PathBuf> = [&province, &district, &commune]
            .into_iter()
            .map(|o| (o.clone(), net.get(o).unwrap().dir.clone()))
            .collect();
        let (commune_dir, district_dir) = (dirs[&commune].clone(), dirs[&district].clone());
        let commune_id = *Node::open(&commune_dir).unwrap().node_id().as_bytes();

        let mut ledger = Ledger::default();
        for i in 0..N {
            let i = i as u32;
            let at = story(2 + (i / 60) % 5, 8 + i % 8, (i * 7) % 60);
            ledger.receive(
                &commune_dir,
                &commune,
                at,
                &new_dossier(LAND, &format!("Người nộp {i}")),
            );
        }

        // The province listens behind a link that stays cut until the
        // commune's sync is over; then it measures a full sync of the N.
        net.start(&province).await.unwrap();
        let uplink = LinkEmulator::start(
            "127.0.0.1:0".parse().unwrap(),
            net.get(&province).unwrap().addr.unwrap(),
            LinkConfig::default()
                .with_delay(Duration::from_millis(10))
                .with_cut(true),
            LinkConfig::default()
                .with_delay(Duration::from_millis(10))
                .with_cut(true),
            11,
        )
        .await
        .unwrap();
        set_parent_address(&district_dir, uplink.local_addr());
        let log = root.path().join("district.log");
        let mut daemon =
            NodeProcess::spawn(&district_dir, "127.0.0.1:0".parse().unwrap(), &log).await;
        let district_addr = daemon.addr;
        // A narrow commune link (200 kbit/s up), so the sync lasts seconds.
        let link = LinkEmulator::start(
            "127.0.0.1:0".parse().unwrap(),
            district_addr,
            LinkConfig::default()
                .with_delay(Duration::from_millis(10))
                .with_bandwidth(200_000),
            LinkConfig::default().with_delay(Duration::from_millis(10)),
            7,
        )
        .await
        .unwrap();
        net.dial_through(&commune, &district, link.local_addr());
        net.start(&commune).await.unwrap();

        wait_for(
            "60% of the dossiers at the district",
            WAIT,
            Duration::from_millis(2),
            || {
                let n = count_from(&district_dir, DIEN_PHUONG);
                if n >= N * 3 / 5 {
                    Ok(n)
                } else {
                    Err(format!("{n} so far"))
                }
            },
        )
        .await
        .unwrap();
        // An officer at the district writes a note on one that arrived; the
        // command prints only once its write is durable.
        let noted: String = read_only(&district_dir)
            .query_row(
                "SELECT code FROM dossiers WHERE origin = ?1 ORDER BY code LIMIT 1",
                [DIEN_PHUONG],
                |r| r.get(0),
            )
            .unwrap();
        let out = cli(&[
            "note",
            "--data",
            district_dir.to_str().unwrap(),
            &noted,
            "--officer",
            "Lê Văn Bình",
            "--text",
            "Đã kiểm tra hiện trạng",
            "--at",
            "2026-03-09 08:00",
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ledger.note_json(&district, &serde_json::from_slice(&out.stdout).unwrap());

        daemon.kill9();
        let held = count_from(&district_dir, DIEN_PHUONG);
        let checkpoint = incoming_checkpoint(&district_dir, &commune_id);
        let covered = feed_entries_upto(&commune_dir, checkpoint);
        let bytes_before = link.stats().up.bytes_in;
        eprintln!(
            "killed: the district holds {held} of {N}; its checkpoint {checkpoint} covers {covered}; {bytes_before} B sent so far"
        );
        assert!(held < N, "the kill came too late: all {N} had arrived");
        assert!(
            covered <= held,
            "the checkpoint covers {covered} dossiers but only {held} are durable"
        );
        assert!(covered > 0, "no batch was committed before the kill");

        let mut daemon = NodeProcess::spawn(&district_dir, district_addr, &log).await;
        let restarted = Instant::now();
        let pair: BTreeMap<OfficeId, PathBuf> = dirs
            .iter()
            .filter(|(o, _)| **o != province)
            .map(|(o, d)| (o.clone(), d.clone()))
            .collect();
        wait_converged(&pair).await;
        let resumed_in = restarted.elapsed();
        let resent_bytes = link.stats().up.bytes_in - bytes_before;
        let resent = sum_field(
            &daemon.log(),
            "stored changes from peer peer=commune",
            "documents",
        );

        // Now the province: one session carrying all N, the reference.
        let before_heal = uplink.stats().up.bytes_in;
        uplink.set_cut(false);
        wait_converged(&dirs).await;
        let full_bytes = uplink.stats().up.bytes_in - before_heal;
        eprintln!(
            "resumed and in sync {resumed_in:?} after the restart: {resent} documents ({resent_bytes} B) re-sent for the {} missing; a full sync of {N} is {full_bytes} B",
            N - held
        );
        assert!(
            resent <= N - covered,
            "the restarted district stored {resent} documents from the commune; only {} lay above its checkpoint",
            N - covered
        );
        let share = (N - covered) as f64 / N as f64;
        let bound = full_bytes as f64 * share * 1.25 + 16_384.0;
        assert!(
            (resent_bytes as f64) < bound,
            "{resent_bytes} B re-sent after the restart; resuming from the checkpoint should cost at most {bound:.0} B ({:.0}% of a full {full_bytes} B sync, plus a handshake)",
            share * 100.0
        );
        assert!(
            resumed_in < Duration::from_secs(30),
            "the restarted district took {resumed_in:?} to be back in sync"
        );

        daemon.terminate();
        net.stop_all().await;
        let views: BTreeMap<OfficeId, _> = dirs
            .iter()
            .map(|(o, d)| (o.clone(), view::full(d).unwrap()))
            .collect();
        let agreement = assert_agree(&views);
        assert_eq!(agreement.dossiers as u64, N);
        ledger.assert_kept(&views);
        Node::open(&district_dir)
            .unwrap()
            .store
            .integrity_check()
            .unwrap();
        link.shutdown().await;
        uplink.shutdown().await;
    });
}

/// What a killed officer command left for the officer.
struct Outcome {
    printed: Option<serde_json::Value>,
}

/// Spawn `lienthong ARGS --json`, optionally with the binary's crash hook
/// at `point`, optionally killing it after `after`.
async fn officer_command(args: &[String], point: Option<&str>, after: Option<Duration>) -> Outcome {
    let mut command = command();
    command
        .args(args)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = point {
        command.env(lienthong::store::CRASH_AT_ENV, point);
    }
    let child = command.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    if let Some(after) = after {
        // The chaos is the moment of the kill; nothing waits on it.
        tokio::time::sleep(after).await;
        if !waiting.is_finished() {
            // SAFETY: our own child, not yet reaped (the waiter holds it).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    let output = waiting.await.unwrap();
    let printed = if output.status.success() {
        Some(
            serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout))),
        )
    } else {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            output.status.signal(),
            Some(libc::SIGKILL),
            "{args:?} failed without being killed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Killed after it printed (on its way out, which takes longer on a
        // loaded machine): what it printed is an acknowledgement like any
        // other, and the ledger holds the node to it. Killed before, it
        // printed nothing, not half a line.
        if output.stdout.is_empty() {
            None
        } else {
            Some(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                panic!(
                    "a killed command printed a partial acknowledgement ({e}): {}",
                    String::from_utf8_lossy(&output.stdout)
                )
            }))
        }
    };
    Outcome { printed }
}

fn receive_args(dir: &Path, i: usize) -> Vec<String> {
    [
        "receive",
        "--data",
        dir.to_str().unwrap(),
        "--officer",
        "Trần Thị Hoa",
        "--procedure",
        LAND,
        "--applicant",
        &format!("Người nộp {i}"),
        "--at",
        "2026-03-03 09:00",
    ]
    .map(String::from)
    .to_vec()
}

fn forward_args(dir: &Path, code: &str) -> Vec<String> {
    [
        "forward",
        "--data",
        dir.to_str().unwrap(),
        code,
        "--officer",
        "Trần Thị Hoa",
        "--at",
        "2026-03-03 10:00",
    ]
    .map(String::from)
    .to_vec()
}

/// Officer commands at a commune are killed with SIGKILL in the middle of
/// their writes — at each of the binary's crash points (a code taken, half
/// a document written, just before and just after the commit) and at
/// seeded random moments — while the commune's daemon syncs with its
/// district and the province over lossy links. Then:
/// - every command that printed its result (the officer saw a code) left
///   its dossier and event, on every node in scope;
/// - no dossier code is ever issued twice, not even the codes of killed
///   commands whose writes were rolled back, nor of a write made durable
///   just before the kill;
/// - the store passes SQLite's integrity check and the three nodes agree.
#[test]
fn officer_commands_killed_mid_write_lose_nothing_acknowledged() {
    run(async {
        let lossy = |_: &OfficeId| {
            let link = LinkConfig::default()
                .with_delay(Duration::from_millis(20))
                .with_loss(0.05);
            (link.clone(), link)
        };
        let cluster = Cluster::start(&[PROVINCE, DIEN_BAN, DIEN_PHUONG], 21, lossy).await;
        let (district, commune) = (office(DIEN_BAN), office(DIEN_PHUONG));
        let dir = cluster.dir(&commune);
        let mut ledger = Ledger::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let points = [
            None,
            Some("after_code"),
            None,
            Some("after_chunk"),
            None,
            Some("before_commit"),
            None,
            Some("after_commit"),
        ];
        // Without a crash point, a command is killed at a random moment
        // within its usual run time, or left alone.
        let random_kill = |rng: &mut rand_chacha::ChaCha8Rng| {
            rng.random_bool(0.6)
                .then(|| Duration::from_micros(rng.random_range(0..40_000)))
        };
        let mut forwarded = Vec::new();
        let mut killed = 0;
        for i in 0..24 {
            let point = points[i % points.len()];
            let after = if point.is_none() {
                random_kill(&mut rng)
            } else {
                None
            };
            let Some(printed) = officer_command(&receive_args(&dir, i), point, after)
                .await
                .printed
            else {
                killed += 1;
                continue;
            };
            ledger.note_json(&commune, &printed);
            let code = printed["code"].as_str().unwrap().to_string();
            // Every acknowledged one goes on to the district, under the same threats.
            let point = points[(i / 2 + 3) % points.len()];
            let after = if point.is_none() {
                random_kill(&mut rng)
            } else {
                None
            };
            match officer_command(&forward_args(&dir, &code), point, after)
                .await
                .printed
            {
                Some(printed) => {
                    ledger.note_json(&commune, &printed);
                    forwarded.push(code);
                }
                None => killed += 1,
            }
        }
        // Commands that run to the end after all that take fresh codes.
        let earlier: BTreeSet<String> = view::quick(&dir)
            .unwrap()
            .values()
            .map(|q| q.code.clone())
            .collect();
        for i in 100..103 {
            let printed = officer_command(&receive_args(&dir, i), None, None)
                .await
                .printed
                .unwrap();
            let code = printed["code"].as_str().unwrap().to_string();
            assert!(!earlier.contains(&code), "code {code} issued again");
            ledger.note_json(&commune, &printed);
        }
        eprintln!(
            "{killed} commands killed, {} acknowledged, {} dossiers forwarded",
            ledger.acks.len(),
            forwarded.len()
        );
        assert!(killed >= 8, "only {killed} commands were killed");

        cluster
            .wait_all_converged(WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let views = cluster.full_views();
        let agreement = assert_agree(&views);
        ledger.assert_kept(&views);
        for code in &forwarded {
            let (_, full) = views[&district]
                .iter()
                .find(|(_, f)| &f.code == code)
                .unwrap();
            assert!(
                full.state.contains(&format!("\"to\":\"{DIEN_BAN}\"")),
                "{code} is in transfer to the district"
            );
        }
        eprintln!(
            "{} dossiers, {} copies agree",
            agreement.dossiers, agreement.copies
        );
        Node::open(&dir).unwrap().store.integrity_check().unwrap();
        cluster.shutdown().await;
    });
}
