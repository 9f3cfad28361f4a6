//! Enrolment in one step (issue 10): `invite` at a running parent,
//! `init --join` at the new node, with real daemons over QUIC on loopback.
//! Waits poll a condition with a deadline.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use lienthong::config::{NodeConfig, PeerRole};
use lienthong::daemon::{Daemon, DaemonOptions};
use lienthong::enrol::{self, InvitationCode};
use lienthong::node::Node;
use support::{BIRTH, COMMUNE, DISTRICT, SIBLING};

const WAIT: Duration = Duration::from_secs(30);

fn options() -> DaemonOptions {
    DaemonOptions {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        config_poll: Duration::from_millis(100),
        backoff: (Duration::from_millis(200), Duration::from_secs(1)),
        ..DaemonOptions::default()
    }
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

fn peers(dir: &Path) -> Vec<(PeerRole, String)> {
    NodeConfig::load(&dir.join("node.toml"))
        .unwrap()
        .peers
        .iter()
        .map(|p| (p.role, p.office.to_string()))
        .collect()
}

fn holds(dir: &Path, code: &str) -> bool {
    let node = Node::open(dir).unwrap();
    node.store
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM dossiers WHERE code = ?1",
            [code],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `init --join` as a separate process (the real CLI), off the runtime.
async fn join(code: String, dir: &Path) -> std::process::Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        support::run(&[
            "init",
            "--data",
            path(&dir),
            "--join",
            &code,
            "--listen",
            "127.0.0.1:0",
        ])
    })
    .await
    .unwrap()
}

fn refused(out: &std::process::Output, dir: &Path, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "join succeeded: {stderr}");
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in: {stderr}"
    );
    assert!(
        !dir.join("node.toml").exists(),
        "a refused join left a node in {}",
        dir.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_with_one_code_and_wrong_expired_reused_codes_and_strangers_get_nothing() {
    let root = tempfile::tempdir().unwrap();
    let district = support::init(root.path(), "district", DISTRICT);
    let parent = Daemon::start(&district, options()).await.unwrap();
    let address = parent.local_addr().to_string();
    let invite = |office: &str| {
        support::ok(&[
            "invite",
            "--data",
            path(&district),
            "--office",
            office,
            "--address",
            &address,
            "--expires",
            "1h",
        ])
        .trim()
        .to_string()
    };
    // No invitation: the door is shut, a made-up code gets nothing.
    let mut made_up = InvitationCode::decode(&invite(COMMUNE)).unwrap();
    let good = made_up.encode();
    made_up.id = [0xAA; 8];
    let stranger = root.path().join("stranger");

    // Wrong secret for a real invitation: refused, nothing pinned.
    let mut wrong = InvitationCode::decode(&good).unwrap();
    wrong.secret[0] ^= 1;
    tokio::time::sleep(Duration::from_millis(400)).await; // the door opens
    let out = join(wrong.encode(), &root.path().join("wrong")).await;
    refused(&out, &root.path().join("wrong"), "not valid");
    assert!(peers(&district).is_empty(), "a wrong code pinned something");

    // The right code: both sides pin each other.
    let commune = root.path().join("commune");
    let out = join(good.clone(), &commune).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        peers(&commune),
        vec![(PeerRole::Parent, DISTRICT.to_string())]
    );
    assert_eq!(
        peers(&district),
        vec![(PeerRole::Child, COMMUNE.to_string())]
    );
    let commune_id = Node::open(&commune).unwrap().node_id();
    assert_eq!(
        NodeConfig::load(&district.join("node.toml")).unwrap().peers[0].node_id,
        commune_id,
        "the parent pinned the identity the new node holds"
    );
    assert_eq!(Node::open(&commune).unwrap().office().as_str(), COMMUNE);

    // The same code again: refused as used; and with every invitation
    // spent the door is shut, so a made-up code cannot even handshake.
    let out = join(good.clone(), &root.path().join("again")).await;
    refused(&out, &root.path().join("again"), "no open invitation");
    let out = join(made_up.encode(), &stranger).await;
    refused(&out, &stranger, "no open invitation");

    // While another invitation is open: a reused code says it was used,
    // an expired one says it expired.
    let _open = invite(SIBLING);
    let expired = {
        let mut node = Node::open(&district).unwrap();
        let now = chrono::Utc::now();
        enrol::invite(
            &mut node,
            &SIBLING.parse().unwrap(),
            &address,
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        )
        .unwrap()
        .encode()
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let out = join(good, &root.path().join("reused")).await;
    refused(&out, &root.path().join("reused"), "already used");
    let out = join(expired, &root.path().join("expired")).await;
    refused(&out, &root.path().join("expired"), "expired at");
    assert_eq!(peers(&district).len(), 1, "refusals pinned nothing");

    // A stranger's node that pinned the district as its parent by hand
    // dials the sync protocol while the door is open: refused, and its
    // dossier never reaches the district.
    support::init(root.path(), "stranger", SIBLING);
    let district_id = Node::open(&district).unwrap().node_id().to_string();
    support::ok(&[
        "peer",
        "add",
        "--data",
        path(&stranger),
        "--role",
        "parent",
        "--office",
        DISTRICT,
        "--node-id",
        &district_id,
        "--address",
        &address,
    ]);
    let intruder = Daemon::start(&stranger, options()).await.unwrap();
    let theirs = support::receive(&stranger, BIRTH, "2026-02-13 09:00");

    // The joined node syncs a dossier up.
    let child = Daemon::start(&commune, options()).await.unwrap();
    let ours = support::receive(&commune, BIRTH, "2026-02-13 09:30");
    wait_until("the joined node's dossier at the district", || {
        holds(&district, &ours)
    })
    .await;
    assert!(
        !holds(&district, &theirs),
        "a stranger's dossier reached the district"
    );
    assert_eq!(peers(&district).len(), 1);
    intruder.shutdown().await;
    child.shutdown().await;
    parent.shutdown().await;
}

#[test]
fn invite_says_what_is_wrong_and_stores_nothing() {
    let root = tempfile::tempdir().unwrap();
    let district = support::init(root.path(), "district", DISTRICT);
    // node.toml listens on every interface: the address must be given.
    let err = support::fails(&["invite", "--data", path(&district), "--office", COMMUNE]);
    assert!(err.contains("--address HOST:PORT"), "{err}");
    let err = support::fails(&[
        "invite",
        "--data",
        path(&district),
        "--office",
        support::PROVINCE,
        "--address",
        "127.0.0.1:7400",
    ]);
    assert!(
        err.contains("is not a child of this node's office"),
        "{err}"
    );
    let err = support::fails(&[
        "invite",
        "--data",
        path(&district),
        "--office",
        COMMUNE,
        "--address",
        "127.0.0.1:7400",
        "--expires",
        "90d",
    ]);
    assert!(err.contains("between 1 minute and 30 days"), "{err}");
    let err = support::fails(&[
        "init",
        "--data",
        path(&root.path().join("x")),
        "--join",
        "ABC!",
    ]);
    assert!(err.contains("not base32"), "{err}");
    let mut node = Node::open(&district).unwrap();
    assert!(node.store.read(|r| r.invitations()).unwrap().is_empty());
    // A good one is stored without its secret.
    let code = support::ok(&[
        "invite",
        "--data",
        path(&district),
        "--office",
        COMMUNE,
        "--address",
        "127.0.0.1:7400",
    ]);
    let code = InvitationCode::decode(code.trim()).unwrap();
    let rows = node.store.read(|r| r.invitations()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, code.id);
    let secret_stored: i64 = node
        .store
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM invitations WHERE instr(secret_hash, ?1) > 0",
            [&code.secret[..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(secret_stored, 0, "the secret itself is not stored");
}
