//! Running a node for real (issue 10): backup while it works, restore,
//! reinstall — and dossier codes that never repeat — with real daemons on
//! loopback syncing over QUIC. Waits poll a condition with a deadline.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use lienthong::cli::backup::{make_backup, restore_backup};
use lienthong::config::{PeerConfig, PeerRole};
use lienthong::local_network::LocalNetwork;
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::Applicant;

const WAIT: Duration = Duration::from_secs(30);
const DISTRICT: &str = "district:dien-ban";
const COMMUNE: &str = "commune:dien-ban/dien-phuong";

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

/// Local time on a day of March 2026 (2 March is a Monday).
fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn receive(node: &mut Node, applicant: &str, when: DateTime<Utc>) -> String {
    let desk = node.office().clone();
    let new = NewDossier::at_the_desk(
        "1.004227",
        Applicant {
            name: applicant.into(),
            ..Applicant::default()
        },
    );
    officer::receive(node, &desk, "Hoa", when, &new)
        .unwrap()
        .code
}

fn codes(node: &Node) -> Vec<String> {
    let mut statement = node
        .store
        .connection()
        .prepare("SELECT code FROM dossiers ORDER BY code")
        .unwrap();
    statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn holds(node: &Node, code: &str) -> bool {
    codes(node).iter().any(|c| c == code)
}

fn fenced(node: &mut Node) -> bool {
    node.store.read(|r| r.code_fence()).unwrap().is_some()
}

fn sequence(code: &str) -> u32 {
    code.rsplit('-').next().unwrap().parse().unwrap()
}

fn two_tier(root: &Path) -> LocalNetwork {
    LocalNetwork::init(
        root,
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[office(DISTRICT), office(COMMUNE)],
    )
    .unwrap()
}

/// Every code at the district is distinct and names a distinct dossier.
fn assert_no_code_twice(district: &Node) {
    let all = codes(district);
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "a code held twice: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_from_a_day_old_backup_never_reissues_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = two_tier(&dir.path().join("net"));
    net.start_all().await.unwrap();
    let (commune, district) = (office(COMMUNE), office(DISTRICT));
    let commune_dir = net.get(&commune).unwrap().dir.clone();

    // Monday: A, then the nightly backup, taken with the daemon running.
    let a = receive(&mut net.open(&commune).unwrap(), "An", at(2, 9, 0));
    net.wait_until(&district, "A", WAIT, |n| holds(n, &a))
        .await
        .unwrap();
    let backup = dir.path().join("backup-monday");
    make_backup(&commune_dir, &backup, at(2, 17, 0)).unwrap();

    // After the backup: B on Monday, C on Tuesday; both reach the district.
    let b = receive(&mut net.open(&commune).unwrap(), "Bình", at(2, 14, 0));
    let c = receive(&mut net.open(&commune).unwrap(), "Chi", at(3, 9, 0));
    net.wait_until(&district, "B and C", WAIT, |n| holds(n, &b) && holds(n, &c))
        .await
        .unwrap();

    // Tuesday 11:00 the commune's disk dies; the node comes back from Monday's backup.
    net.stop(&commune).await.unwrap();
    std::fs::remove_dir_all(&commune_dir).unwrap();
    restore_backup(&backup, &commune_dir, at(3, 11, 0)).unwrap();
    let mut restored = Node::open(&commune_dir).unwrap();
    assert!(holds(&restored, &a), "the backup holds A");
    assert!(
        !holds(&restored, &b) && !holds(&restored, &c),
        "precondition: the backup predates B and C"
    );
    assert!(fenced(&mut restored));

    // The desk works before the link is back: Tuesday's next code would
    // have been C's without the fence.
    let d = receive(&mut restored, "Dũng", at(3, 11, 30));
    drop(restored);
    assert!(![&a, &b, &c].contains(&&d), "{d} repeats a code");
    assert_eq!(sequence(&d), 9001, "recovery range: {d}");

    // Back online: it catches up from the district, and the fence lifts.
    net.start(&commune).await.unwrap();
    net.wait_until(&commune, "caught up (B, C back, fence lifted)", WAIT, |n| {
        holds(n, &b) && holds(n, &c) && !fenced(n)
    })
    .await
    .unwrap();
    // Counters learned from what came back: Tuesday continues after C.
    let e = receive(&mut net.open(&commune).unwrap(), "Em", at(3, 14, 0));
    assert_eq!(sequence(&e), sequence(&c) + 1, "{e} after {c}");
    let f = receive(&mut net.open(&commune).unwrap(), "Phúc", at(2, 15, 0));
    assert_eq!(sequence(&f), sequence(&b) + 1, "Monday after {b}: {f}");
    for code in [&d, &e, &f] {
        net.wait_until(&district, "the new dossiers", WAIT, |n| holds(n, code))
            .await
            .unwrap();
    }
    let district_node = net.open(&district).unwrap();
    assert_eq!(codes(&district_node).len(), 6);
    assert_no_code_twice(&district_node);
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reinstalled_from_nothing_never_reissues_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = two_tier(&dir.path().join("net"));
    net.start_all().await.unwrap();
    let (commune, district) = (office(COMMUNE), office(DISTRICT));
    let commune_dir = net.get(&commune).unwrap().dir.clone();
    let a = receive(&mut net.open(&commune).unwrap(), "An", at(2, 9, 0));
    let b = receive(&mut net.open(&commune).unwrap(), "Bình", at(3, 9, 0));
    net.wait_until(&district, "A and B", WAIT, |n| holds(n, &a) && holds(n, &b))
        .await
        .unwrap();

    // The commune PC is replaced: a fresh node for the same office, no backup.
    net.stop(&commune).await.unwrap();
    let old_id = Node::open(&commune_dir).unwrap().node_id();
    std::fs::remove_dir_all(&commune_dir).unwrap();
    let mut fresh = Node::init(
        &commune_dir,
        &commune,
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap();
    lienthong::cli::init::fence_reinstalled(&mut fresh, at(3, 10, 0)).unwrap();
    assert!(
        codes(&fresh).is_empty(),
        "precondition: a store from nothing"
    );
    // Pinned both ways, as the operators would.
    let district_id = net.open(&district).unwrap().node_id();
    fresh.config.peers = vec![PeerConfig {
        role: PeerRole::Parent,
        office: district.clone(),
        node_id: district_id,
        address: None,
    }];
    fresh.config.listen = "127.0.0.1:0".parse().unwrap();
    fresh.config.save(&fresh.dir.config_file()).unwrap();
    let new_id = fresh.node_id();
    {
        let mut d = net.open(&district).unwrap();
        for peer in &mut d.config.peers {
            if peer.node_id == old_id {
                peer.node_id = new_id;
            }
        }
        d.config.save(&d.dir.config_file()).unwrap();
    }

    // Offline, Tuesday: without the fence this would be B's code again.
    let c = receive(&mut fresh, "Chi", at(3, 10, 30));
    drop(fresh);
    assert!(c != a && c != b, "{c} repeats a code");
    assert_eq!(sequence(&c), 9001);

    net.stop(&district).await.unwrap();
    net.start(&district).await.unwrap();
    net.start(&commune).await.unwrap();
    net.wait_until(&commune, "caught up (A, B back, fence lifted)", WAIT, |n| {
        holds(n, &a) && holds(n, &b) && !fenced(n)
    })
    .await
    .unwrap();
    let d = receive(&mut net.open(&commune).unwrap(), "Dũng", at(3, 11, 0));
    assert_eq!(sequence(&d), sequence(&b) + 1, "{d} after {b}");
    for code in [&c, &d] {
        net.wait_until(&district, "the new dossiers", WAIT, |n| holds(n, code))
            .await
            .unwrap();
    }
    let district_node = net.open(&district).unwrap();
    assert_eq!(codes(&district_node).len(), 4);
    assert_no_code_twice(&district_node);
    net.stop_all().await;
}

#[test]
fn restore_refuses_a_used_directory_and_a_corrupt_backup_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_tier(&dir.path().join("net"));
    let commune_dir = net.get(&office(COMMUNE)).unwrap().dir.clone();
    receive(&mut net.open(&office(COMMUNE)).unwrap(), "An", at(2, 9, 0));
    let backup = dir.path().join("backup");
    let manifest = make_backup(&commune_dir, &backup, at(2, 17, 0)).unwrap();
    let key = manifest
        .files
        .iter()
        .find(|f| f.path == "identity/node.key")
        .unwrap();
    assert!(key.secret, "the private key is marked secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for path in ["", "identity/node.key", "store.db", "backup.json"] {
            let mode = std::fs::metadata(backup.join(path))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{path} is owner-only: {mode:o}");
        }
    }
    let again = make_backup(&commune_dir, &backup, at(2, 18, 0))
        .unwrap_err()
        .to_string();
    assert!(again.contains("already exists"), "{again}");

    // Into a directory that holds something: refused, untouched.
    let used = dir.path().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("keep.txt"), "x").unwrap();
    let error = format!(
        "{:#}",
        restore_backup(&backup, &used, at(3, 9, 0)).unwrap_err()
    );
    assert!(error.contains("not empty"), "{error}");
    assert_eq!(std::fs::read_to_string(used.join("keep.txt")).unwrap(), "x");

    // A flipped byte in the store: refused, and no half node left behind.
    let store = backup.join("store.db");
    let mut bytes = std::fs::read(&store).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&store, &bytes).unwrap();
    let target = dir.path().join("restored");
    let error = format!(
        "{:#}",
        restore_backup(&backup, &target, at(3, 9, 0)).unwrap_err()
    );
    assert!(error.contains("corrupt"), "{error}");
    assert!(!target.exists());

    // Not a backup at all.
    let error = format!(
        "{:#}",
        restore_backup(&commune_dir, &target, at(3, 9, 0)).unwrap_err()
    );
    assert!(error.contains("not a Liên Thông backup"), "{error}");
    assert!(!target.exists());
}

/// Backups taken while a desk keeps receiving: each is one consistent
/// moment — every indexed dossier has its document, the store is sound,
/// and later backups hold at least what earlier ones did.
#[test]
fn backups_taken_while_officers_write_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_tier(&dir.path().join("net"));
    let commune_dir = net.get(&office(COMMUNE)).unwrap().dir.clone();
    let writer_dir = commune_dir.clone();
    const DOSSIERS: usize = 30;
    let writer = std::thread::spawn(move || {
        let mut node = Node::open(&writer_dir).unwrap();
        for i in 0..DOSSIERS {
            receive(
                &mut node,
                &format!("Dân {i}"),
                at(2, 8, 0) + chrono::Duration::minutes(i as i64),
            );
        }
    });
    let mut counts = Vec::new();
    for i in 0..4 {
        let backup = dir.path().join(format!("b{i}"));
        make_backup(&commune_dir, &backup, Utc::now()).unwrap();
        let restored = dir.path().join(format!("r{i}"));
        restore_backup(&backup, &restored, at(2, 17, 0)).unwrap();
        let node = Node::open(&restored).unwrap();
        node.store.integrity_check().unwrap();
        let orphans: i64 = node
            .store
            .connection()
            .query_row(
                "SELECT count(*) FROM dossiers d LEFT JOIN documents x ON x.doc_id = d.doc_id WHERE x.doc_id IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);
        counts.push(codes(&node).len());
    }
    writer.join().unwrap();
    let last = dir.path().join("b-last");
    make_backup(&commune_dir, &last, Utc::now()).unwrap();
    let final_dir = dir.path().join("r-last");
    restore_backup(&last, &final_dir, at(2, 17, 0)).unwrap();
    counts.push(codes(&Node::open(&final_dir).unwrap()).len());
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(*counts.last().unwrap(), DOSSIERS, "{counts:?}");
}

fn link(
    node: &mut Node,
    peer: &lienthong_sync::transport::identity::NodeId,
) -> lienthong::store::peers::PeerRow {
    node.store.read(|r| r.peer(peer.as_bytes())).unwrap()
}

fn peer_command(command: lienthong::cli::init::PeerCommand) {
    lienthong::cli::init::peer(&command).unwrap();
}

fn data(dir: &Path) -> lienthong::cli::args::DataArgs {
    lienthong::cli::args::DataArgs {
        data: dir.to_path_buf(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_added_and_removed_take_effect_on_running_daemons() {
    use lienthong::cli::init::PeerCommand;
    let dir = tempfile::tempdir().unwrap();
    let mut net = two_tier(&dir.path().join("net"));
    net.start_all().await.unwrap();
    let (commune, district) = (office(COMMUNE), office(DISTRICT));
    let commune_dir = net.get(&commune).unwrap().dir.clone();
    let district_dir = net.get(&district).unwrap().dir.clone();
    let commune_id = net.open(&commune).unwrap().node_id();
    let district_id = net.open(&district).unwrap().node_id();
    let district_addr = net.get(&district).unwrap().addr.unwrap();

    let a = receive(&mut net.open(&commune).unwrap(), "An", at(2, 9, 0));
    net.wait_until(&district, "A", WAIT, |n| {
        holds(n, &a) && link(n, &commune_id).connected
    })
    .await
    .unwrap();

    // The district unpins the commune: its open connection closes.
    let removed_at = std::time::Instant::now();
    peer_command(PeerCommand::Remove {
        data: data(&district_dir),
        node_id: commune_id,
    });
    net.wait_until(&district, "the link closed", WAIT, |n| {
        !link(n, &commune_id).connected
    })
    .await
    .unwrap();
    net.wait_until(&commune, "the link closed", WAIT, |n| {
        !link(n, &district_id).connected
    })
    .await
    .unwrap();
    let closed_in = removed_at.elapsed();
    // The commune keeps dialling and is refused at the handshake.
    let since = chrono::Utc::now();
    let b = receive(&mut net.open(&commune).unwrap(), "Bình", at(2, 10, 0));
    net.wait_until(&commune, "a refused redial", WAIT, |n| {
        link(n, &district_id)
            .last_error_at
            .is_some_and(|t| t > since)
    })
    .await
    .unwrap();
    assert!(
        !holds(&net.open(&district).unwrap(), &b),
        "B went to an unpinned peer"
    );

    // Pinned again: the commune's next dial gets through, B arrives.
    peer_command(PeerCommand::Add {
        data: data(&district_dir),
        role: PeerRole::Child,
        office: commune.clone(),
        node_id: commune_id,
        address: None,
    });
    net.wait_until(&district, "B after pinning again", WAIT, |n| holds(n, &b))
        .await
        .unwrap();

    // The commune unpins its parent: its dial loop stops, the link closes.
    peer_command(PeerCommand::Remove {
        data: data(&commune_dir),
        node_id: district_id,
    });
    net.wait_until(&commune, "the link closed", WAIT, |n| {
        !link(n, &district_id).connected
    })
    .await
    .unwrap();
    let c = receive(&mut net.open(&commune).unwrap(), "Chi", at(2, 11, 0));
    // And pins it again with its address: a new dial loop, C arrives.
    peer_command(PeerCommand::Add {
        data: data(&commune_dir),
        role: PeerRole::Parent,
        office: district.clone(),
        node_id: district_id,
        address: Some(district_addr.to_string()),
    });
    net.wait_until(&district, "C after the parent is pinned again", WAIT, |n| {
        holds(n, &c)
    })
    .await
    .unwrap();
    eprintln!("unpinning closed the link on both sides in {closed_in:?}");
    assert!(closed_in < Duration::from_secs(5), "{closed_in:?}");
    net.stop_all().await;
}

/// The value of the sample `line_start` (name and labels as written).
fn sample(text: &str, line_start: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_the_console_port_count_dossiers_peers_and_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = two_tier(&dir.path().join("net"));
    net.start_all().await.unwrap();
    let (commune, district) = (office(COMMUNE), office(DISTRICT));
    let district_id = net.open(&district).unwrap().node_id();
    let a = receive(&mut net.open(&commune).unwrap(), "An", at(2, 9, 0));
    let b = receive(&mut net.open(&commune).unwrap(), "Bình", at(2, 10, 0));
    net.wait_until(&district, "A and B", WAIT, |n| holds(n, &a) && holds(n, &b))
        .await
        .unwrap();
    net.wait_until(&commune, "in sync with the district", WAIT, |n| {
        let l = link(n, &district_id);
        l.connected && l.last_success.is_some()
    })
    .await
    .unwrap();

    let console = lienthong::console::Console::start(
        net.open(&commune).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        lienthong::replication::Clock::system(),
    )
    .await
    .unwrap();
    let url = format!("http://{}/metrics", console.local_addr());
    let text = scrape(url.clone()).await;

    let holder = format!("holder=\"{COMMUNE}\"");
    assert_eq!(
        sample(
            &text,
            &format!("lienthong_dossiers{{status=\"4\",status_name=\"processing\",{holder}}}")
        ),
        Some(2),
        "{text}"
    );
    // Due in April 2026, judged now (the system clock): both overdue.
    assert_eq!(
        sample(&text, &format!("lienthong_dossiers_overdue{{{holder}}}")),
        Some(2),
        "{text}"
    );
    let peer = format!("peer=\"{DISTRICT}\",node=\"{}\"", district_id.short());
    assert_eq!(
        sample(&text, &format!("lienthong_peer_connected{{{peer}}}")),
        Some(1),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &format!("lienthong_peer_last_success_timestamp_seconds{{{peer}}}")
        )
        .unwrap()
            > 0
    );
    assert_eq!(
        sample(&text, &format!("lienthong_peer_refused_total{{{peer}}}")),
        Some(0)
    );
    assert_eq!(sample(&text, "lienthong_daemon_up"), Some(1));
    assert!(sample(&text, "lienthong_store_bytes").unwrap() > 0);
    // Every sample belongs to a declared family.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "undeclared {name}"
        );
    }
    // Daemons stopped (the scheduler queues deadline notices for these
    // overdue dossiers while it runs): the outbox as the store has it, and
    // no daemon up.
    net.stop_all().await;
    let text = scrape(url).await;
    console.shutdown().await;
    let unsent: i64 = net
        .open(&commune)
        .unwrap()
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sample(&text, "lienthong_outbox_depth"), Some(unsent as u64));
    assert_eq!(sample(&text, "lienthong_daemon_up"), Some(0));
    assert_eq!(
        sample(&text, &format!("lienthong_peer_connected{{{peer}}}")),
        Some(0)
    );
}

async fn scrape(url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url).call().unwrap();
        let kind = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        response.body_mut().read_to_string().unwrap()
    })
    .await
    .unwrap()
}

/// A `lienthong run` child process with JSON logs, killed (by its own pid)
/// when dropped.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(data: &Path) -> Running {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lienthong"))
            .args([
                "run",
                "--listen",
                "127.0.0.1:0",
                "--console",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(data)
            .env("LIENTHONG_LOG_FORMAT", "json")
            .env("LIENTHONG_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The first JSON log line whose message is `message`.
    fn wait_for(&self, message: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `{message}` log line within {WAIT:?}"));
            if !line.starts_with('{') {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if value["fields"]["message"] == message {
                return value;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn json_logs_carry_the_link_span_with_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_tier(&dir.path().join("net"));
    let district_dir = net.get(&office(DISTRICT)).unwrap().dir.clone();
    let commune_dir = net.get(&office(COMMUNE)).unwrap().dir.clone();
    let district_id = Node::open(&district_dir).unwrap().node_id();

    let district = Running::start(&district_dir);
    let running = district.wait_for("node running");
    assert_eq!(running["level"], "INFO");
    assert_eq!(running["fields"]["office"], DISTRICT);
    let addr = running["fields"]["local_addr"]
        .as_str()
        .unwrap()
        .to_string();

    // Point the commune at the district's OS-chosen port, then start it.
    let mut commune_node = Node::open(&commune_dir).unwrap();
    for peer in &mut commune_node.config.peers {
        if peer.node_id == district_id {
            peer.address = Some(addr.clone());
        }
    }
    commune_node
        .config
        .save(&commune_node.dir.config_file())
        .unwrap();
    drop(commune_node);
    let commune = Running::start(&commune_dir);
    let up = commune.wait_for("link up");
    assert_eq!(up["span"]["name"], "link", "{up}");
    assert_eq!(up["span"]["peer"], DISTRICT, "{up}");
    assert_eq!(up["span"]["node"], district_id.short().to_string(), "{up}");
    assert!(
        up["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "dial"),
        "the dial loop's span encloses the link: {up}"
    );
    assert!(
        up["fields"].get("peer").is_none(),
        "peer only in the span: {up}"
    );
}

#[test]
fn the_backup_and_restore_commands_say_what_they_did_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let net = two_tier(&dir.path().join("net"));
    let commune_dir = net.get(&office(COMMUNE)).unwrap().dir.clone();
    let bin = env!("CARGO_BIN_EXE_lienthong");
    let backup = dir.path().join("backup");
    let out = std::process::Command::new(bin)
        .args(["backup", "--data"])
        .arg(&commune_dir)
        .arg("--out")
        .arg(&backup)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("SECRET"), "{stdout}");
    let restore = |data: &Path| {
        std::process::Command::new(bin)
            .args(["restore", "--from"])
            .arg(&backup)
            .arg("--data")
            .arg(data)
            .output()
            .unwrap()
    };
    let restored = restore(&dir.path().join("restored"));
    assert!(restored.status.success());
    assert!(
        String::from_utf8_lossy(&restored.stdout).contains("recovery range"),
        "the operator is told about the code fence"
    );
    let refused = restore(&commune_dir);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
}
