//! What a hostile or broken peer can cost a node, end to end: real nodes on
//! loopback (QUIC, pinned mutual TLS), a commune that sends what no commune
//! should, and the district that must refuse it, keep running, and say so
//! in `status`. Also poison already in a store: a reference no node could
//! hold, a damaged snapshot — `lienthong run` starts anyway, quarantines
//! them, and never sends them on.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use lienthong::daemon::DaemonOptions;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong::replication::Clock;
use lienthong::store::documents::DocKey;
use lienthong::store::limits::{LimitKind, PeerLimit};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::{self, Applicant};
use lienthong_shared::dossier::{Action, AttachmentRef, fold};
use lienthong_sync::transport::identity::NodeId;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const BIN: &str = env!("CARGO_BIN_EXE_lienthong");
const DISTRICT: &str = "district:dien-ban";
const COMMUNE: &str = "commune:dien-ban/dien-phuong";
/// 2⁶²: the size of the reference that used to abort a node at every start.
const HUGE: u64 = 1 << 62;

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// A district and one of its communes, with daemon options for both.
fn pair(root: &Path, options: Option<DaemonOptions>) -> LocalNetwork {
    let mut net = LocalNetwork::init(
        root,
        builtin::QUANG_NAM_3TIER,
        builtin::CATALOGUE,
        &[office(DISTRICT), office(COMMUNE)],
    )
    .unwrap();
    if let Some(options) = options {
        net.set_options(options);
    }
    net
}

/// A land dossier received at the commune and forwarded to the district.
fn send_up(node: &mut Node, applicant: &str) -> DocKey {
    let desk = node.office().clone();
    let new = NewDossier::at_the_desk(
        "1.004227",
        Applicant {
            name: applicant.into(),
            ..Applicant::default()
        },
    );
    let recorded = officer::receive(node, &desk, "Hoa", at(2, 8), &new).unwrap();
    officer::record(
        node,
        &recorded.code,
        None,
        "Hoa",
        at(2, 10),
        Action::Forwarded {
            to: office(DISTRICT),
            task: "Xử lý".into(),
            days: 8,
        },
    )
    .unwrap();
    recorded.key
}

/// Write an attachment reference into a stored dossier directly, as a
/// hostile (or broken) node would: no blob, no check.
fn inject_reference(node: &mut Node, key: &DocKey, reference: &AttachmentRef) {
    // Under the node's own actor, so its store signs the change (issue 8):
    // the size limit, not a missing signature, is what must refuse it.
    let actor = node.actor();
    let (store, ctx, tree) = node.split(at(2, 11));
    store
        .write(|w| -> Result<(), officer::ActionError> {
            let (_, mut doc) = w.reader().load_document(key)?.unwrap();
            doc.set_actor(actor);
            let heads = doc.get_heads();
            let mut tx = doc.transaction();
            schema::add_attachment(&mut tx, "Bản vẽ", reference)?;
            tx.commit();
            let dossier = schema::read(&doc)?;
            let state = fold::fold(&dossier, &ctx);
            officer::save_dossier(w, key, &doc, &heads, &dossier, &state, tree)?;
            Ok(())
        })
        .unwrap();
}

fn huge_reference() -> AttachmentRef {
    AttachmentRef {
        hash: "ab".repeat(32),
        size: HUGE,
        media_type: "application/pdf".into(),
        name: "bản vẽ.pdf".into(),
        chunks_root: "cd".repeat(32),
    }
}

fn holds(node: &mut Node, key: &DocKey) -> bool {
    node.store
        .read(|r| r.document_heads(key))
        .unwrap()
        .is_some()
}

/// Documents of the peer's refused by this node so far.
fn refusals(node: &mut Node, peer: &NodeId) -> u64 {
    node.store
        .read(|r| r.peer(peer.as_bytes()))
        .unwrap()
        .refused
}

/// The limit the peer last ran into (there must be one).
fn peer_limit(node: &mut Node, peer: &NodeId) -> PeerLimit {
    node.store
        .read(|r| r.peer_limit(peer.as_bytes()))
        .unwrap()
        .expect("the peer ran into a limit")
}

fn status_json(dir: &Path) -> Value {
    let out = Command::new(BIN)
        .args(["status", "--json", "--data", dir.to_str().unwrap()])
        .env_remove("LIENTHONG_DATA")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn set_limits(dir: &Path, edit: impl FnOnce(&mut lienthong::config::Limits)) {
    let mut node = Node::open(dir).unwrap();
    edit(&mut node.config.limits);
    node.config.save(&node.dir.config_file()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_claiming_2_62_bytes_is_refused_at_admission() {
    let root = tempfile::tempdir().unwrap();
    let mut net = pair(root.path(), None);
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    // The hostile commune holds itself to no limit (its own start would
    // otherwise quarantine the reference and never send it).
    set_limits(&net.get(&commune).unwrap().dir, |l| {
        l.max_attachment_bytes = u64::MAX;
        l.max_dossier_attachment_bytes = u64::MAX;
    });
    let mut c = net.open(&commune).unwrap();
    let commune_id = c.node_id();
    let good = send_up(&mut c, "Nguyễn Văn An");
    // Every field of a reference is the peer's word: a short hash too.
    let malformed = send_up(&mut c, "Đỗ Văn Giang");
    inject_reference(
        &mut c,
        &malformed,
        &AttachmentRef {
            hash: "ab".into(),
            size: 10,
            ..huge_reference()
        },
    );
    let bad = send_up(&mut c, "Trần Văn Bình");
    inject_reference(&mut c, &bad, &huge_reference());
    let after = send_up(&mut c, "Lê Thị Cúc");
    drop(c);

    net.start_all().await.unwrap();
    net.wait_until(&district, "the good dossiers", WAIT, |n| {
        holds(n, &good) && holds(n, &after)
    })
    .await
    .unwrap();
    net.wait_until(&district, "the refusal recorded", WAIT, |n| {
        n.store
            .read(|r| r.peer(commune_id.as_bytes()))
            .unwrap()
            .refused
            > 0
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    assert!(
        !holds(&mut d, &bad),
        "the dossier with a 2^62 reference is refused"
    );
    let row = d.store.read(|r| r.peer(commune_id.as_bytes())).unwrap();
    let reason = row.last_refusal.unwrap();
    assert!(
        reason.contains("max_attachment_bytes") && reason.contains(&HUGE.to_string()),
        "{reason}"
    );
    let blobs: i64 = d
        .store
        .connection()
        .query_row("SELECT count(*) FROM blob_refs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, 0, "nothing of the reference is stored");
    drop(d);

    // The district is still up and serving: its own change reaches the commune.
    let mut d = net.open(&district).unwrap();
    let code = officer::resolve(&mut d, &lienthong::store::documents::hex(&good))
        .unwrap()
        .code;
    officer::record(&mut d, &code, None, "Lan", at(3, 9), Action::Accepted).unwrap();
    drop(d);
    net.wait_until(&commune, "the district's acceptance", WAIT, |n| {
        officer::resolve(n, &code).unwrap().holder.as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    let shown = status_json(&net.get(&district).unwrap().dir);
    let peer = &shown["peers"][0];
    assert!(peer["refused"].as_u64().unwrap() >= 1, "{peer:#}");
    assert!(
        peer["last_refusal"]
            .as_str()
            .unwrap()
            .contains("max_attachment_bytes"),
        "{peer:#}"
    );
    net.stop_all().await;
}

/// `lienthong run` of `dir` as a child process; killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_run(dir: &Path) -> Daemon {
    Daemon(
        Command::new(BIN)
            .args([
                "run",
                "--data",
                dir.to_str().unwrap(),
                "--console",
                "127.0.0.1:0",
            ])
            .env_remove("LIENTHONG_DATA")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_poison_is_quarantined_and_lienthong_run_still_serves() {
    let root = tempfile::tempdir().unwrap();
    let mut net = pair(root.path(), None);
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    let commune_dir = net.get(&commune).unwrap().dir.clone();
    let mut c = net.open(&commune).unwrap();
    let good = send_up(&mut c, "Nguyễn Văn An");
    // A reference no node could hold, already in the store (from before
    // admission checked it): the node used to abort at every start.
    let huge = send_up(&mut c, "Trần Văn Bình");
    inject_reference(&mut c, &huge, &huge_reference());
    let huge_refs: i64 = c
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM blob_refs WHERE size = ?1",
            [HUGE as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(huge_refs, 1, "precondition: the reference is stored");
    // A snapshot damaged on disk: a zstd frame that does not decompress.
    let damaged = send_up(&mut c, "Lê Thị Cúc");
    c.store
        .connection()
        .execute(
            "UPDATE documents SET snapshot = x'28B52FFD0400DEADBEEF', chunk_count = 0 WHERE doc_id = ?1",
            [&damaged[..]],
        )
        .unwrap();
    c.store
        .connection()
        .execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [&damaged[..]])
        .unwrap();
    drop(c);

    // The district in this process; the commune as `lienthong run`.
    net.start(&district).await.unwrap();
    let district_addr = net.get(&district).unwrap().addr.unwrap();
    let mut c = Node::open(&commune_dir).unwrap();
    c.config.peers[0].address = Some(district_addr.to_string());
    c.config.listen = "127.0.0.1:0".parse().unwrap();
    c.config.save(&c.dir.config_file()).unwrap();
    drop(c);
    let mut daemon = spawn_run(&commune_dir);

    net.wait_until(&district, "the good dossier", WAIT, |n| holds(n, &good))
        .await
        .unwrap();
    let start = Instant::now();
    let shown = loop {
        let shown = status_json(&commune_dir);
        let listed = shown["quarantined"].as_array().unwrap().len();
        if listed == 2 && shown["daemon_running"] == true {
            break shown;
        }
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "lienthong run exited"
        );
        assert!(start.elapsed() < WAIT, "not quarantined: {shown:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let problems: Vec<&str> = shown["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["problem"].as_str().unwrap())
        .collect();
    assert!(
        problems.iter().any(|p| p.contains(&HUGE.to_string())),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("decompress")),
        "{problems:?}"
    );
    assert!(daemon.0.try_wait().unwrap().is_none(), "the node runs");

    // A new dossier still goes up: sessions run; the quarantined never do.
    let mut c = Node::open(&commune_dir).unwrap();
    let later = send_up(&mut c, "Phạm Văn Dũng");
    drop(c);
    net.wait_until(&district, "a dossier made after", WAIT, |n| {
        holds(n, &later)
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    assert!(!holds(&mut d, &huge), "quarantined: never sent on");
    assert!(!holds(&mut d, &damaged), "quarantined: never sent on");
    drop(d);

    // `show` explains; the damaged one is kept as it is.
    for (key, what) in [
        (&huge, HUGE.to_string()),
        (&damaged, "decompress".to_string()),
    ] {
        let out = Command::new(BIN)
            .args([
                "show",
                "--data",
                commune_dir.to_str().unwrap(),
                &lienthong::store::documents::hex(key),
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            shown["quarantined"]["problem"]
                .as_str()
                .unwrap()
                .contains(&what),
            "{shown:#}"
        );
    }
    let c = Node::open(&commune_dir).unwrap();
    let kept: Vec<u8> = c
        .store
        .connection()
        .query_row(
            "SELECT snapshot FROM documents WHERE doc_id = ?1",
            [&damaged[..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        kept,
        vec![0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x00, 0xDE, 0xAD, 0xBE, 0xEF]
    );
    drop(c);

    // And it starts again with the poison still stored.
    drop(daemon);
    let mut daemon = spawn_run(&commune_dir);
    let start = Instant::now();
    while status_json(&commune_dir)["daemon_running"] != true {
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "lienthong run exited"
        );
        assert!(start.elapsed() < WAIT, "no heartbeat after a restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(daemon);
    net.stop_all().await;
}

/// Daemon options whose clock runs `days` days ahead of the system's.
fn options_with_days(days: Arc<AtomicI64>) -> DaemonOptions {
    DaemonOptions {
        backoff: (Duration::from_millis(200), Duration::from_secs(2)),
        clock: Clock::new(move || Utc::now() + chrono::Duration::days(days.load(Ordering::SeqCst))),
        limit_check: Duration::from_millis(200),
        ..DaemonOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_over_its_daily_quota_is_refused_until_the_next_day() {
    let root = tempfile::tempdir().unwrap();
    let days = Arc::new(AtomicI64::new(0));
    let mut net = pair(root.path(), Some(options_with_days(days.clone())));
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    let district_dir = net.get(&district).unwrap().dir.clone();
    set_limits(&district_dir, |l| l.peer_new_documents_per_day = 2);
    let mut c = net.open(&commune).unwrap();
    let commune_id = c.node_id();
    let keys: Vec<DocKey> = ["An", "Bình", "Cúc", "Dũng"]
        .iter()
        .map(|name| send_up(&mut c, name))
        .collect();
    drop(c);

    net.start_all().await.unwrap();
    net.wait_until(&district, "two refusals", WAIT, |n| {
        refusals(n, &commune_id) >= 2
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    let held: Vec<bool> = keys.iter().map(|k| holds(&mut d, k)).collect();
    assert_eq!(
        held,
        [true, true, false, false],
        "the first two of the day, no more"
    );
    let row = d.store.read(|r| r.peer(commune_id.as_bytes())).unwrap();
    let reason = row.last_refusal.unwrap();
    assert!(
        reason.contains("peer_new_documents_per_day") && reason.contains("until"),
        "{reason}"
    );
    let limit = peer_limit(&mut d, &commune_id);
    assert_eq!(limit.kind, LimitKind::DocumentsPerDay);
    assert!(limit.lifted_at.is_none() && limit.until.is_some());
    drop(d);
    let shown = status_json(&district_dir);
    let peer = &shown["peers"][0];
    assert_eq!(peer["limit"]["kind"], "documents_per_day", "{peer:#}");
    assert_eq!(peer["today"]["documents"], 2, "{peer:#}");
    assert!(peer["refused"].as_u64().unwrap() >= 2, "{peer:#}");

    // The next day the refused dossiers come: the district ends the session
    // once the limit lifts, and the next one asks for them again — the
    // link never went down, nobody restarted anything.
    days.store(1, Ordering::SeqCst);
    net.wait_until(&district, "the refused dossiers, a day later", WAIT, |n| {
        keys.iter().all(|k| holds(n, k))
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    let limit = peer_limit(&mut d, &commune_id);
    assert!(limit.lifted_at.is_some(), "the limit is lifted: {limit:?}");
    drop(d);
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_disk_floor_peers_are_refused_but_officers_still_work() {
    let root = tempfile::tempdir().unwrap();
    let mut net = pair(root.path(), None);
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    let district_dir = net.get(&district).unwrap().dir.clone();
    // A floor above any disk's free space.
    set_limits(&district_dir, |l| l.min_free_disk_bytes = u64::MAX / 2);
    let mut c = net.open(&commune).unwrap();
    let commune_id = c.node_id();
    let key = send_up(&mut c, "Nguyễn Văn An");
    drop(c);

    net.start_all().await.unwrap();
    net.wait_until(&district, "a refusal", WAIT, |n| {
        refusals(n, &commune_id) >= 1
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    assert!(!holds(&mut d, &key), "nothing accepted under the floor");
    let reason = d
        .store
        .read(|r| r.peer(commune_id.as_bytes()))
        .unwrap()
        .last_refusal
        .unwrap();
    assert!(reason.contains("min_free_disk_bytes"), "{reason}");
    drop(d);

    // The district's own officers still receive dossiers.
    let out = Command::new(BIN)
        .args([
            "receive",
            "--data",
            district_dir.to_str().unwrap(),
            "--officer",
            "Lan",
            "--procedure",
            "1.004227",
            "--applicant",
            "Võ Văn Em",
            "--at",
            "2026-03-02 09:00",
            "--json",
        ])
        .env_remove("LIENTHONG_DATA")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = status_json(&district_dir);
    assert_eq!(shown["disk"]["under_floor"], true, "{shown:#}");
    assert_eq!(shown["dossiers"], 1, "{shown:#}");
    assert_eq!(
        shown["peers"][0]["limit"]["kind"], "disk_floor",
        "{shown:#}"
    );

    // Space freed (the floor lowered): the next session brings the dossier.
    set_limits(&district_dir, |l| l.min_free_disk_bytes = 0);
    net.stop(&district).await.unwrap();
    net.start(&district).await.unwrap();
    net.wait_until(&district, "the dossier after the floor lifts", WAIT, |n| {
        holds(n, &key)
    })
    .await
    .unwrap();
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_over_its_daily_bytes_is_refused_until_the_next_day() {
    let root = tempfile::tempdir().unwrap();
    let days = Arc::new(AtomicI64::new(0));
    let mut net = pair(root.path(), Some(options_with_days(days.clone())));
    let (district, commune) = (office(DISTRICT), office(COMMUNE));
    let district_dir = net.get(&district).unwrap().dir.clone();
    // Less than one dossier: the first is taken (a document's size is known
    // only once it is committed), and that uses up the day.
    set_limits(&district_dir, |l| l.peer_bytes_per_day = 1_000);
    let mut c = net.open(&commune).unwrap();
    let commune_id = c.node_id();
    let first = send_up(&mut c, "An");
    drop(c);

    net.start_all().await.unwrap();
    net.wait_until(&district, "the first dossier", WAIT, |n| holds(n, &first))
        .await
        .unwrap();
    let mut d = net.open(&district).unwrap();
    let counted = refusals(&mut d, &commune_id);
    assert_eq!(counted, 0, "the first dossier of the day is never refused");
    drop(d);

    // The next one, written while the link is up, is over the day's bytes.
    let mut c = net.open(&commune).unwrap();
    let second = send_up(&mut c, "Bình");
    drop(c);
    net.wait_until(&district, "a refusal for the day's bytes", WAIT, |n| {
        refusals(n, &commune_id) >= 1
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    assert!(!holds(&mut d, &second), "refused, so not stored");
    let row = d.store.read(|r| r.peer(commune_id.as_bytes())).unwrap();
    let reason = row.last_refusal.unwrap();
    assert!(
        reason.contains("peer_bytes_per_day") && reason.contains("until"),
        "{reason}"
    );
    let limit = peer_limit(&mut d, &commune_id);
    assert_eq!(limit.kind, LimitKind::BytesPerDay);
    drop(d);
    let shown = status_json(&district_dir);
    assert_eq!(
        shown["peers"][0]["limit"]["kind"], "bytes_per_day",
        "{shown:#}"
    );

    // A new day, a new allowance: the refused dossier comes over the same link.
    days.store(1, Ordering::SeqCst);
    net.wait_until(&district, "the refused dossier, a day later", WAIT, |n| {
        holds(n, &second)
    })
    .await
    .unwrap();
    net.stop_all().await;
}
