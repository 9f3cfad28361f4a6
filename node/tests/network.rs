//! Real nodes on loopback: separate data directories, daemons with real
//! QUIC and pinned mutual TLS, the shipped three-tier network. Waits are on
//! conditions (a node's store showing something), never fixed sleeps.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use lienthong::config::{PeerConfig, PeerRole};
use lienthong::daemon::{Daemon, DaemonOptions};
use lienthong::local_network::LocalNetwork;
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong::replication::config_docs::ConfigFile;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::Applicant;
use lienthong_shared::dossier::{Action, Channel, Status};

const WAIT: Duration = Duration::from_secs(30);

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

/// Local time in March 2026 (Asia/Ho_Chi_Minh).
fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

const PROVINCE: &str = "province:quang-nam";
const DISTRICT: &str = "district:dien-ban";
const COMMUNE: &str = "commune:dien-ban/dien-phuong";
const SIBLING: &str = "commune:dien-ban/dien-minh";
const TAX: &str = "province:quang-nam/cuc-thue";
const LAND: &str = "province:quang-nam/so-tai-nguyen-moi-truong";

fn land_dossier() -> NewDossier {
    NewDossier {
        procedure: "1.004227".into(),
        applicant: Applicant {
            name: "Nguyễn Văn An".into(),
            ..Applicant::default()
        },
        channel: Channel::Direct,
        result_delivery: Channel::Direct,
        components: Vec::new(),
        submitted_only: false,
    }
}

async fn network(root: &Path, offices: &[&str]) -> LocalNetwork {
    let offices: Vec<OfficeId> = offices.iter().map(|o| office(o)).collect();
    LocalNetwork::init(root, builtin::QUANG_NAM_3TIER, builtin::CATALOGUE, &offices).unwrap()
}

fn status_of(node: &mut Node, code: &str) -> Option<Status> {
    officer::resolve(node, code).ok().and_then(|row| row.status)
}

fn transfer_to(node: &mut Node, code: &str) -> Option<String> {
    officer::resolve(node, code)
        .ok()
        .and_then(|row| row.transfer_to)
}

fn heads(node: &mut Node, code: &str) -> Vec<automerge::ChangeHash> {
    let key = officer::resolve(node, code).unwrap().key;
    let mut heads = node
        .store
        .read(|r| r.document_heads(&key))
        .unwrap()
        .unwrap();
    heads.sort();
    heads
}

fn dossier_count(node: &mut Node) -> i64 {
    node.store
        .connection()
        .query_row("SELECT count(*) FROM dossiers", [], |r| r.get(0))
        .unwrap()
}

fn record(node: &mut Node, code: &str, office_id: Option<&str>, at: DateTime<Utc>, action: Action) {
    let acting = office_id.map(office);
    officer::record(node, code, acting.as_ref(), "cán bộ", at, action).unwrap();
}

fn forward(to: &str, days: u32) -> Action {
    Action::Forwarded {
        to: office(to),
        task: "Xử lý".into(),
        days,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_goes_up_to_the_province_and_its_result_comes_back_to_the_commune_desk() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE, SIBLING]).await;
    net.start_all().await.unwrap();
    let (commune, district, province) = (office(COMMUNE), office(DISTRICT), office(PROVINCE));

    let mut c = net.open(&commune).unwrap();
    let code = officer::receive(&mut c, &commune, "Hoa", at(2, 8, 30), &land_dossier())
        .unwrap()
        .code;
    record(&mut c, &code, None, at(2, 10, 0), forward(DISTRICT, 8));

    net.wait_until(&district, "the transfer", WAIT, |n| {
        transfer_to(n, &code).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    record(&mut d, &code, None, at(2, 14, 0), Action::Accepted);
    record(&mut d, &code, None, at(3, 9, 0), forward(TAX, 5));

    net.wait_until(&province, "the transfer to tax", WAIT, |n| {
        transfer_to(n, &code).as_deref() == Some(TAX)
    })
    .await
    .unwrap();
    let mut p = net.open(&province).unwrap();
    record(&mut p, &code, Some(TAX), at(3, 14, 0), Action::Accepted);
    record(&mut p, &code, Some(TAX), at(4, 9, 0), forward(LAND, 7));
    record(&mut p, &code, Some(LAND), at(4, 10, 0), Action::Accepted);
    record(
        &mut p,
        &code,
        Some(LAND),
        at(5, 9, 0),
        Action::Approved {
            note: String::new(),
        },
    );
    let key = officer::resolve(&mut p, &code).unwrap().key;
    let (_, dossier) = officer::load(&mut p, &key).unwrap();
    let return_office = officer::return_office(&p, &dossier, &office(LAND));
    assert_eq!(
        return_office, commune,
        "R1: the result goes back to the receiving desk"
    );
    record(
        &mut p,
        &code,
        Some(LAND),
        at(5, 10, 0),
        Action::ResultIssued {
            result: "Giấy chứng nhận".into(),
            attachment: None,
            return_office,
        },
    );

    net.wait_until(&commune, "the result", WAIT, |n| {
        status_of(n, &code) == Some(Status::Resolved)
    })
    .await
    .unwrap();
    let mut c = net.open(&commune).unwrap();
    assert_eq!(
        officer::resolve(&mut c, &code).unwrap().holder.as_deref(),
        Some(COMMUNE)
    );
    record(
        &mut c,
        &code,
        None,
        at(6, 8, 0),
        Action::Returned {
            channel: Channel::Direct,
        },
    );

    for node in [&district, &province] {
        net.wait_until(node, "the return", WAIT, |n| {
            status_of(n, &code) == Some(Status::Returned)
        })
        .await
        .unwrap();
    }
    let mut c = net.open(&commune).unwrap();
    let expected = heads(&mut c, &code);
    for node in [&district, &province] {
        let mut n = net.open(node).unwrap();
        assert_eq!(
            heads(&mut n, &code),
            expected,
            "{node} holds the same changes"
        );
        let row = officer::resolve(&mut n, &code).unwrap();
        assert_eq!(row.status, Some(Status::Returned));
        assert_eq!(row.holder.as_deref(), Some(COMMUNE));
        assert_eq!(row.conflicts, 0);
    }
    // The sibling commune never held it.
    let mut s = net.open(&office(SIBLING)).unwrap();
    assert_eq!(dossier_count(&mut s), 0);
    assert!(officer::resolve(&mut s, &code).is_err());
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_made_while_the_parent_is_down_arrives_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]).await;
    net.start_all().await.unwrap();
    let (commune, district, province) = (office(COMMUNE), office(DISTRICT), office(PROVINCE));
    net.stop(&district).await.unwrap();

    let mut c = net.open(&commune).unwrap();
    let code = officer::receive(&mut c, &commune, "Hoa", at(2, 8, 30), &land_dossier())
        .unwrap()
        .code;
    record(&mut c, &code, None, at(2, 10, 0), forward(DISTRICT, 8));
    // The commune's daemon keeps trying its parent; nothing arrives meanwhile.
    let mut d = net.open(&district).unwrap();
    assert!(officer::resolve(&mut d, &code).is_err());
    drop(d);

    net.start(&district).await.unwrap();
    net.wait_until(&district, "the dossier", WAIT, |n| {
        transfer_to(n, &code).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    net.wait_until(&province, "the relayed dossier", WAIT, |n| {
        transfer_to(n, &code).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_paths_to_the_province_deliver_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]).await;
    let (commune, province) = (office(COMMUNE), office(PROVINCE));
    net.add_extra_peer(&commune, &province).unwrap();
    net.start_all().await.unwrap();

    let mut c = net.open(&commune).unwrap();
    let code = officer::receive(&mut c, &commune, "Hoa", at(2, 8, 30), &land_dossier())
        .unwrap()
        .code;
    record(
        &mut c,
        &code,
        None,
        at(2, 9, 0),
        Action::Note {
            text: "một".into()
        },
    );
    record(
        &mut c,
        &code,
        None,
        at(2, 9, 30),
        Action::Note { text: "hai".into() },
    );
    let expected = heads(&mut c, &code);
    net.wait_until(&province, "both notes", WAIT, |n| {
        officer::resolve(n, &code).is_ok() && heads(n, &code) == expected
    })
    .await
    .unwrap();
    net.wait_until(&office(DISTRICT), "the dossier", WAIT, |n| {
        officer::resolve(n, &code).is_ok() && heads(n, &code) == expected
    })
    .await
    .unwrap();
    let mut p = net.open(&province).unwrap();
    assert_eq!(dossier_count(&mut p), 1, "one copy, one index row");
    let key = officer::resolve(&mut p, &code).unwrap().key;
    let (_, dossier) = officer::load(&mut p, &key).unwrap();
    assert_eq!(dossier.events.len(), 3, "each event once");
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_and_office_tree_flow_down_from_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]).await;
    net.start_all().await.unwrap();
    for file in ConfigFile::ALL {
        net.wait_until(&office(COMMUNE), file.name(), WAIT, |n| {
            n.store
                .read(|r| r.document_heads(&file.key()))
                .unwrap()
                .is_some()
        })
        .await
        .unwrap();
    }
    net.stop_all().await;
}

/// Initialise a lone node for `office_id` that dials `target` at `addr`
/// expecting `expected` as its id.
fn lone_node(
    dir: &Path,
    office_id: &str,
    target: &str,
    expected: lienthong_sync::transport::identity::NodeId,
    addr: std::net::SocketAddr,
) {
    let mut node = Node::init(
        dir,
        &office(office_id),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap();
    node.config.listen = "127.0.0.1:0".parse().unwrap();
    node.config.peers = vec![PeerConfig {
        role: PeerRole::Parent,
        office: office(target),
        node_id: expected,
        address: Some(addr.to_string()),
    }];
    node.config.save(&node.dir.config_file()).unwrap();
}

fn last_error(dir: &Path, peer: &lienthong_sync::transport::identity::NodeId) -> Option<String> {
    let mut node = Node::open(dir).ok()?;
    node.store
        .read(|r| r.peer(peer.as_bytes()))
        .ok()?
        .last_error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_mismatched_peers_are_refused_and_nothing_they_send_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(&dir.path().join("net"), &[PROVINCE, DISTRICT]).await;
    net.start_all().await.unwrap();
    let district = office(DISTRICT);
    let district_dir = net.get(&district).unwrap().dir.clone();
    let district_id = Node::open(&district_dir).unwrap().node_id();
    let province_id = Node::open(&net.get(&office(PROVINCE)).unwrap().dir)
        .unwrap()
        .node_id();
    let district_addr = net.get(&district).unwrap().addr.unwrap();

    // An impostor commune with its own key, not pinned by the district.
    let impostor = dir.path().join("impostor");
    lone_node(&impostor, COMMUNE, DISTRICT, district_id, district_addr);
    // A node that dials the district's address expecting another node (the province).
    let mismatched = dir.path().join("mismatched");
    lone_node(&mismatched, SIBLING, DISTRICT, province_id, district_addr);

    for (path, office_id) in [(&impostor, COMMUNE), (&mismatched, SIBLING)] {
        let mut node = Node::open(path).unwrap();
        let code = officer::receive(
            &mut node,
            &office(office_id),
            "X",
            at(2, 9, 0),
            &land_dossier(),
        )
        .unwrap()
        .code;
        record(&mut node, &code, None, at(2, 9, 30), forward(DISTRICT, 8));
    }
    let options = DaemonOptions {
        backoff: (Duration::from_millis(100), Duration::from_millis(500)),
        ..DaemonOptions::default()
    };
    let a = Daemon::start(&impostor, options.clone()).await.unwrap();
    let b = Daemon::start(&mismatched, options).await.unwrap();
    // Wait until each has tried and failed (recorded in its store).
    let deadline = std::time::Instant::now() + WAIT;
    while last_error(&impostor, &district_id).is_none()
        || last_error(&mismatched, &province_id).is_none()
    {
        assert!(std::time::Instant::now() < deadline, "no refusal recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.shutdown().await;
    b.shutdown().await;
    let mut d = Node::open(&district_dir).unwrap();
    assert_eq!(
        dossier_count(&mut d),
        0,
        "nothing from a refused peer is stored"
    );
    let mismatch = last_error(&mismatched, &province_id).unwrap();
    assert!(!mismatch.is_empty());
    net.stop_all().await;
}
