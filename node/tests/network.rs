//! Real nodes on loopback: separate data directories, daemons with real
//! QUIC and pinned mutual TLS, the shipped three-tier network. Waits are on
//! conditions (a node's store showing something), never fixed sleeps.
//!
//! Dossiers use procedure 1.004227 (land certificate), routed commune →
//! district → provincial tax department → provincial Department of Natural
//! Resources and Environment; both provincial agencies are served by the
//! province node.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use automerge::transaction::Transactable;
use chrono::{DateTime, TimeZone, Utc};
use lienthong::config::{PeerConfig, PeerRole};
use lienthong::daemon::{Daemon, DaemonOptions};
use lienthong::local_network::LocalNetwork;
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong::replication::admission::NodeAdmission;
use lienthong::replication::config_docs::{self, ConfigFile};
use lienthong::replication::peer_offices;
use lienthong::replication::sync_store::NodeSyncStore;
use lienthong::store::Store;
use lienthong::store::documents::{DocKey, DocKind};
use lienthong::store::index::IndexRow;
use lienthong::store::peers::PeerRow;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::fold::{self, DossierState};
use lienthong_shared::dossier::schema::{self, Applicant};
use lienthong_shared::dossier::{Action, Channel, Event, Status};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{Received, SyncStore};
use lienthong_sync::transport::driver::{DriverConfig, Role, drive};
use lienthong_sync::transport::endpoint::Endpoint;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use lienthong_sync::transport::tls::{PinnedPeers, default_transport_config};
use tokio::sync::{Notify, watch};

/// The longest any condition is waited for. Typical waits are well under a
/// second; this only bounds a failing test.
const WAIT: Duration = Duration::from_secs(30);

const PROVINCE: &str = "province:quang-nam";
const DISTRICT: &str = "district:dien-ban";
const COMMUNE: &str = "commune:dien-ban/dien-phuong";
const SIBLING: &str = "commune:dien-ban/dien-minh";
const OTHER_DISTRICT: &str = "district:duy-xuyen";
const COUSIN: &str = "commune:duy-xuyen/duy-son";
const TAX: &str = "province:quang-nam/cuc-thue";
const LAND: &str = "province:quang-nam/so-tai-nguyen-moi-truong";

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

/// Local time (Asia/Ho_Chi_Minh) on a day of March 2026, inside the
/// shipped calendar: 2 March 2026 is a Monday.
fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// The `now` derived states are compared at (the same on every node).
fn judged_at() -> DateTime<Utc> {
    at(20, 9, 0)
}

fn land_dossier(applicant: &str) -> NewDossier {
    let applicant = Applicant {
        name: applicant.into(),
        ..Applicant::default()
    };
    NewDossier::at_the_desk("1.004227", applicant)
}

fn network(root: &Path, offices: &[&str]) -> LocalNetwork {
    let offices: Vec<OfficeId> = offices.iter().map(|o| office(o)).collect();
    LocalNetwork::init(root, builtin::QUANG_NAM_3TIER, builtin::CATALOGUE, &offices).unwrap()
}

/// Receive a land dossier at the node's own desk and forward it to its
/// district (the next step of the route). Returns its key.
fn receive_and_forward(node: &mut Node, applicant: &str, to: &str) -> DocKey {
    let desk = node.office().clone();
    let recorded =
        officer::receive(node, &desk, "Hoa", at(2, 8, 30), &land_dossier(applicant)).unwrap();
    record(node, &recorded.code, None, at(2, 10, 0), forward(to, 8));
    recorded.key
}

fn record(node: &mut Node, query: &str, acting: Option<&str>, at: DateTime<Utc>, action: Action) {
    let acting = acting.map(office);
    officer::record(node, query, acting.as_ref(), "cán bộ", at, action).unwrap();
}

fn forward(to: &str, days: u32) -> Action {
    Action::Forwarded {
        to: office(to),
        task: "Xử lý".into(),
        days,
    }
}

fn hex(key: &DocKey) -> String {
    lienthong::store::documents::hex(key)
}

/// The index row of a dossier on a node, if it holds it.
fn row(node: &mut Node, key: &DocKey) -> Option<IndexRow> {
    officer::resolve(node, &hex(key)).ok()
}

fn transfer_to(node: &mut Node, key: &DocKey) -> Option<String> {
    row(node, key).and_then(|r| r.transfer_to)
}

fn status(node: &mut Node, key: &DocKey) -> Option<Status> {
    row(node, key).and_then(|r| r.status)
}

/// The document's heads on a node, sorted; None if it does not hold it.
fn heads(node: &mut Node, key: &DocKey) -> Option<Vec<ChangeHash>> {
    let mut heads = node.store.read(|r| r.document_heads(key)).unwrap()?;
    heads.sort();
    Some(heads)
}

/// The heads `peer` is known (to this node) to hold, sorted.
fn known_heads(node: &mut Node, peer: &NodeId, key: &DocKey) -> Vec<ChangeHash> {
    let mut heads = node
        .store
        .read(|r| r.peer_heads(peer.as_bytes(), key))
        .unwrap();
    heads.sort();
    heads
}

fn holds(node: &mut Node, key: &DocKey) -> bool {
    heads(node, key).is_some()
}

/// The dossier's state folded from the node's copy.
fn state(node: &mut Node, key: &DocKey) -> DossierState {
    let (_, dossier) = officer::load(node, key).unwrap();
    fold::fold(&dossier, &node.fold_context(judged_at()))
}

fn count(node: &Node, sql: &str) -> i64 {
    node.store
        .connection()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn dossier_rows(node: &Node) -> i64 {
    count(node, "SELECT count(*) FROM dossiers")
}

fn dossier_documents(node: &Node) -> i64 {
    count(
        node,
        "SELECT count(*) FROM documents WHERE kind = 'dossier'",
    )
}

fn last_seq(node: &mut Node) -> i64 {
    node.store.read(|r| r.last_seq()).unwrap()
}

fn peer_row(node: &mut Node, peer: &NodeId) -> PeerRow {
    node.store.read(|r| r.peer(peer.as_bytes())).unwrap()
}

fn node_id(net: &LocalNetwork, id: &str) -> NodeId {
    net.open(&office(id)).unwrap().node_id()
}

fn dir_of(net: &LocalNetwork, id: &str) -> PathBuf {
    net.get(&office(id)).unwrap().dir.clone()
}

/// Documents in the node's feed offered to `peer_office`'s node (the
/// scope-filtered feed a session serves from).
fn feed_for(node: &mut Node, peer_office: &str) -> Vec<DocKey> {
    let last = last_seq(node);
    node.store
        .read(|r| r.feed_for_node(peer_office, 0, last, 100_000))
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect()
}

fn config_text(node: &mut Node, file: ConfigFile) -> Option<String> {
    let (_, doc) = node.store.read(|r| r.load_document(&file.key())).unwrap()?;
    config_docs::text_of(&doc)
}

fn config_path(node: &Node, file: ConfigFile) -> PathBuf {
    match file {
        ConfigFile::Network => node.dir.resolve(&node.config.network),
        ConfigFile::Catalogue => node.dir.resolve(&node.config.catalogue),
    }
}

/// Wait until `downstream` is caught up with `upstream` both ways: its
/// checkpoint of the upstream feed has passed the upstream's feed head, and
/// the upstream has confirmed the downstream's feed head (and the reverse
/// view, on the upstream node, agrees). Feed heads are read again until
/// they hold still, so nothing is in flight between the two when it returns.
async fn wait_caught_up(net: &LocalNetwork, downstream: &str, upstream: &str) {
    let (down, up) = (office(downstream), office(upstream));
    let (down_id, up_id) = (node_id(net, downstream), node_id(net, upstream));
    let start = Instant::now();
    loop {
        let mut d = net.open(&down).unwrap();
        let mut u = net.open(&up).unwrap();
        let (d_seq, u_seq) = (last_seq(&mut d), last_seq(&mut u));
        let d_view = peer_row(&mut d, &up_id);
        let u_view = peer_row(&mut u, &down_id);
        let caught_up = d_view.incoming >= u_seq
            && d_view.outgoing >= d_seq
            && u_view.incoming >= d_seq
            && u_view.outgoing >= u_seq;
        if caught_up && last_seq(&mut d) == d_seq && last_seq(&mut u) == u_seq {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "{downstream} and {upstream} not caught up after {WAIT:?}: \
             {downstream} at {d_seq} sees {d_view:?}; {upstream} at {u_seq} sees {u_view:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_goes_up_to_the_province_and_its_result_comes_back_to_the_commune_desk() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]);
    net.start_all().await.unwrap();
    let (commune, district, province) = (office(COMMUNE), office(DISTRICT), office(PROVINCE));

    let mut c = net.open(&commune).unwrap();
    let key = receive_and_forward(&mut c, "Nguyễn Văn An", DISTRICT);
    let code = row(&mut c, &key).unwrap().code;

    net.wait_until(&district, "the transfer", WAIT, |n| {
        transfer_to(n, &key).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    let mut d = net.open(&district).unwrap();
    record(&mut d, &code, None, at(2, 14, 0), Action::Accepted);
    record(&mut d, &code, None, at(3, 9, 0), forward(TAX, 5));

    net.wait_until(&province, "the transfer to the tax department", WAIT, |n| {
        transfer_to(n, &key).as_deref() == Some(TAX)
    })
    .await
    .unwrap();
    let mut p = net.open(&province).unwrap();
    // The dashboard's freshness: the province noted when the commune's
    // dossier last arrived from a peer (issue 9).
    let arrivals = p.store.read(|r| r.arrivals_by_origin()).unwrap();
    assert!(arrivals.contains_key(COMMUNE), "{arrivals:?}");
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
            result: "Giấy chứng nhận quyền sử dụng đất".into(),
            attachment: None,
            return_office,
        },
    );

    net.wait_until(&commune, "the result", WAIT, |n| {
        status(n, &key) == Some(Status::Resolved)
    })
    .await
    .unwrap();
    let mut c = net.open(&commune).unwrap();
    let resolved = state(&mut c, &key);
    assert_eq!(resolved.holder.as_ref(), Some(&commune));
    assert_eq!(
        resolved.result.as_ref().map(|r| &r.return_office),
        Some(&commune),
        "the commune desk is the return office"
    );
    assert_eq!(
        resolved.result.as_ref().map(|r| &r.issued_by),
        Some(&office(LAND))
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
            status(n, &key) == Some(Status::Returned)
        })
        .await
        .unwrap();
    }
    let mut c = net.open(&commune).unwrap();
    let expected_heads = heads(&mut c, &key).unwrap();
    let expected_state = state(&mut c, &key);
    let expected_row = row(&mut c, &key).unwrap();
    assert_eq!(expected_state.status, Some(Status::Returned));
    assert_eq!(expected_state.holder.as_ref(), Some(&commune));
    assert!(
        expected_state.conflicts.is_empty(),
        "{:?}",
        expected_state.conflicts
    );
    for node in [&district, &province] {
        let mut n = net.open(node).unwrap();
        assert_eq!(
            heads(&mut n, &key).unwrap(),
            expected_heads,
            "{node} holds the same changes"
        );
        assert_eq!(
            state(&mut n, &key),
            expected_state,
            "{node} derives the same state"
        );
        assert_eq!(
            row(&mut n, &key).unwrap(),
            expected_row,
            "{node} indexes it the same"
        );
        assert_eq!(dossier_rows(&n), 1);
    }
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_made_while_the_parent_is_down_arrives_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]);
    net.start_all().await.unwrap();
    let (commune, district, province) = (office(COMMUNE), office(DISTRICT), office(PROVINCE));
    wait_caught_up(&net, COMMUNE, DISTRICT).await;
    net.stop(&district).await.unwrap();
    // The commune's session with its parent has ended.
    let district_id = node_id(&net, DISTRICT);
    net.wait_until(&commune, "the link to go down", WAIT, |n| {
        !peer_row(n, &district_id).connected
    })
    .await
    .unwrap();

    let mut c = net.open(&commune).unwrap();
    let key = receive_and_forward(&mut c, "Trần Thị Bình", DISTRICT);
    drop(c);
    let mut d = net.open(&district).unwrap();
    assert!(!holds(&mut d, &key), "nothing reaches a stopped node");
    drop(d);

    net.start(&district).await.unwrap();
    net.wait_until(&district, "the dossier", WAIT, |n| {
        transfer_to(n, &key).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    net.wait_until(&province, "the relayed dossier", WAIT, |n| {
        transfer_to(n, &key).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    let mut c = net.open(&commune).unwrap();
    let expected = heads(&mut c, &key).unwrap();
    for node in [&district, &province] {
        let mut n = net.open(node).unwrap();
        assert_eq!(heads(&mut n, &key).unwrap(), expected, "{node}");
        assert_eq!(
            row(&mut n, &key).unwrap().holder.as_deref(),
            Some(COMMUNE),
            "in transfer, the commune still holds it"
        );
    }
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sibling_commune_never_receives_the_dossier() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(
        dir.path(),
        &[PROVINCE, DISTRICT, COMMUNE, SIBLING, OTHER_DISTRICT, COUSIN],
    );
    net.start_all().await.unwrap();
    let (district, province) = (office(DISTRICT), office(PROVINCE));

    let mut c = net.open(&office(COMMUNE)).unwrap();
    let ours = receive_and_forward(&mut c, "Lê Văn Cường", DISTRICT);
    let ours_code = row(&mut c, &ours).unwrap().code;
    drop(c);
    let mut s = net.open(&office(SIBLING)).unwrap();
    let theirs = receive_and_forward(&mut s, "Phạm Thị Dung", DISTRICT);
    drop(s);

    net.wait_until(&district, "both transfers", WAIT, |n| {
        transfer_to(n, &ours).as_deref() == Some(DISTRICT)
            && transfer_to(n, &theirs).as_deref() == Some(DISTRICT)
    })
    .await
    .unwrap();
    // Widen the scope: the dossier goes on to the province.
    let mut d = net.open(&district).unwrap();
    record(&mut d, &ours_code, None, at(2, 14, 0), Action::Accepted);
    record(&mut d, &ours_code, None, at(3, 9, 0), forward(TAX, 5));
    drop(d);
    net.wait_until(&province, "both dossiers", WAIT, |n| {
        transfer_to(n, &ours).as_deref() == Some(TAX) && holds(n, &theirs)
    })
    .await
    .unwrap();

    // Everything has synced: every link has passed its upstream's feed head.
    wait_caught_up(&net, DISTRICT, PROVINCE).await;
    wait_caught_up(&net, COMMUNE, DISTRICT).await;
    wait_caught_up(&net, SIBLING, DISTRICT).await;
    wait_caught_up(&net, OTHER_DISTRICT, PROVINCE).await;
    wait_caught_up(&net, COUSIN, OTHER_DISTRICT).await;

    let mut s = net.open(&office(SIBLING)).unwrap();
    assert!(!holds(&mut s, &ours), "the sibling never holds the dossier");
    assert!(row(&mut s, &ours).is_none());
    assert_eq!(
        (dossier_rows(&s), dossier_documents(&s)),
        (1, 1),
        "only its own"
    );
    let mut c = net.open(&office(COMMUNE)).unwrap();
    assert!(!holds(&mut c, &theirs), "nor the other way round");
    assert_eq!((dossier_rows(&c), dossier_documents(&c)), (1, 1));
    for other in [OTHER_DISTRICT, COUSIN] {
        let n = net.open(&office(other)).unwrap();
        assert_eq!(
            (dossier_rows(&n), dossier_documents(&n)),
            (0, 0),
            "{other} holds no dossier of another district"
        );
        let configs = count(&n, "SELECT count(*) FROM documents WHERE kind = 'config'");
        assert_eq!(
            configs, 2,
            "{other} did sync (the configuration reached it)"
        );
    }

    // The district's feed, filtered by scope, never offered either commune
    // the other's dossier; and the province's never offered them to the
    // other district.
    let mut d = net.open(&district).unwrap();
    let to_sibling = feed_for(&mut d, SIBLING);
    assert!(!to_sibling.contains(&ours));
    assert!(
        to_sibling.contains(&theirs),
        "control: its own dossier is in its feed"
    );
    let to_commune = feed_for(&mut d, COMMUNE);
    assert!(!to_commune.contains(&theirs));
    assert!(to_commune.contains(&ours));
    assert!(!d.store.read(|r| r.in_scope(&ours, SIBLING)).unwrap());
    let sibling_id = node_id(&net, SIBLING);
    let known = known_heads(&mut d, &sibling_id, &ours);
    assert!(
        known.is_empty(),
        "the district never recorded the sibling holding it"
    );
    let mut p = net.open(&province).unwrap();
    let to_other = feed_for(&mut p, OTHER_DISTRICT);
    assert!(!to_other.contains(&ours) && !to_other.contains(&theirs));
    net.stop_all().await;
}

/// Initialise a lone node for `office_id` (with its own fresh key pair) that
/// dials `target` at `addr` expecting node id `expected`.
fn lone_node(
    dir: &Path,
    office_id: &str,
    target: &str,
    expected: NodeId,
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

fn raw_endpoint(identity: &NodeIdentity, pinned: &[NodeId]) -> Endpoint {
    Endpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        identity,
        PinnedPeers::new(pinned.iter().copied()),
        Arc::new(default_transport_config()),
    )
    .unwrap()
}

fn peer_ids(node: &Node) -> Vec<Vec<u8>> {
    let mut statement = node
        .store
        .connection()
        .prepare("SELECT node_id FROM peers ORDER BY node_id")
        .unwrap();
    statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_mismatched_peers_are_refused_and_nothing_they_send_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(&dir.path().join("net"), &[PROVINCE, DISTRICT, COMMUNE]);
    net.start_all().await.unwrap();
    let district = office(DISTRICT);
    let district_dir = dir_of(&net, DISTRICT);
    let district_id = node_id(&net, DISTRICT);
    let province_id = node_id(&net, PROVINCE);
    let district_addr = net.get(&district).unwrap().addr.unwrap();

    // An impostor: a node for the same commune office with its own key
    // pair, which the district has not pinned. It knows the district's real
    // node id and address, and has a dossier for it.
    let impostor = dir.path().join("impostor");
    lone_node(&impostor, COMMUNE, DISTRICT, district_id, district_addr);
    let impostor_id = Node::open(&impostor).unwrap().node_id();
    let mut node = Node::open(&impostor).unwrap();
    let forged = receive_and_forward(&mut node, "Kẻ Mạo Danh", DISTRICT);
    drop(node);
    let options = DaemonOptions {
        backoff: (Duration::from_millis(100), Duration::from_millis(500)),
        ..DaemonOptions::default()
    };
    let daemon = Daemon::start(&impostor, options).await.unwrap();

    // Meanwhile the real commune's dossier goes through: the district is
    // up and syncing with the office the impostor claims to be.
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let genuine = receive_and_forward(&mut c, "Nguyễn Văn Thật", DISTRICT);
    drop(c);
    net.wait_until(&district, "the genuine dossier", WAIT, |n| {
        holds(n, &genuine)
    })
    .await
    .unwrap();
    // The impostor has tried and been turned away (recorded in its store),
    // and its next attempt too.
    let refusal = async |after: Option<DateTime<Utc>>| {
        let start = Instant::now();
        loop {
            let mut n = Node::open(&impostor).unwrap();
            let row = peer_row(&mut n, &district_id);
            if let (Some(error), Some(at)) = (row.last_error, row.last_error_at)
                && after.is_none_or(|after| at > after)
            {
                return (error, at);
            }
            assert!(
                start.elapsed() < WAIT,
                "the impostor never recorded a refusal"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (_, first) = refusal(None).await;
    let (refused, _) = refusal(Some(first)).await;
    // The genuine link carries on meanwhile.
    let genuine_seq = {
        let mut c = net.open(&office(COMMUNE)).unwrap();
        let key = receive_and_forward(&mut c, "Nguyễn Văn Thật 2", DISTRICT);
        net.wait_until(&district, "a second genuine dossier", WAIT, |n| {
            holds(n, &key)
        })
        .await
        .unwrap();
        last_seq(&mut c)
    };
    daemon.shutdown().await;
    assert!(
        refused.contains(&format!("unknown peer {impostor_id}: not pinned")),
        "the district refused the impostor's key in the handshake: {refused}"
    );
    let mut n = Node::open(&impostor).unwrap();
    let view = peer_row(&mut n, &district_id);
    assert_eq!(
        (view.incoming, view.outgoing, view.last_success),
        (0, 0, None),
        "the impostor never synced anything"
    );

    let mut d = Node::open(&district_dir).unwrap();
    assert!(
        !holds(&mut d, &forged),
        "nothing from a refused peer is stored"
    );
    assert_eq!(dossier_rows(&d), 2, "only the genuine dossiers");
    assert!(
        !peer_ids(&d).contains(&impostor_id.as_bytes().to_vec()),
        "the district never had a session with the impostor"
    );
    let commune_id = node_id(&net, COMMUNE);
    assert!(peer_row(&mut d, &commune_id).incoming >= genuine_seq);

    // A stranger dialling directly: the TLS handshake fails on the
    // district's side; the connection closes without a session.
    let stranger = NodeIdentity::generate("stranger").unwrap();
    let endpoint = raw_endpoint(&stranger, &[district_id]);
    let attempt = tokio::time::timeout(WAIT, endpoint.connect(district_addr, &district_id))
        .await
        .expect("the district answers a stranger's handshake");
    let reason = match attempt {
        Err(e) => e.to_string(),
        Ok(connection) => {
            // TLS 1.3: the client may finish before the server has checked
            // its certificate; the server's refusal closes it right after.
            let closed = tokio::time::timeout(WAIT, connection.closed())
                .await
                .expect("the district closes a stranger's connection");
            closed.to_string()
        }
    };
    assert!(
        reason.contains(&format!("unknown peer {}: not pinned", stranger.node_id())),
        "refused in the TLS handshake, not after it: {reason}"
    );
    endpoint.close("done");

    // A peer presenting a certificate for another node than the one
    // dialled is refused, even when that node is pinned too: the commune
    // (pinned by the district, pinning district and province) dials the
    // district's address expecting the province.
    net.stop(&office(COMMUNE)).await.unwrap();
    let commune_identity = Node::open(&dir_of(&net, COMMUNE)).unwrap().identity;
    let endpoint = raw_endpoint(&commune_identity, &[district_id, province_id]);
    let wrong = tokio::time::timeout(WAIT, endpoint.connect(district_addr, &province_id))
        .await
        .expect("the handshake ends");
    let error = wrong.expect_err("a server presenting another node's certificate is refused");
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "wrong peer: dialled {province_id} but the server presented {district_id}"
        )),
        "{text}"
    );
    // Control: the same endpoint reaches the district when it dials it as itself.
    let right = tokio::time::timeout(WAIT, endpoint.connect(district_addr, &district_id))
        .await
        .expect("the handshake ends")
        .expect("the commune's own identity is accepted by the district");
    right.close(0u32.into(), b"done");
    endpoint.close("done");
    let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_paths_to_the_province_deliver_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]);
    let (commune, district, province) = (office(COMMUNE), office(DISTRICT), office(PROVINCE));
    net.add_extra_peer(&commune, &province).unwrap();
    net.start_all().await.unwrap();
    let (commune_id, district_id) = (node_id(&net, COMMUNE), node_id(&net, DISTRICT));

    let mut c = net.open(&commune).unwrap();
    let key = receive_and_forward(&mut c, "Hoàng Văn Em", DISTRICT);
    let code = row(&mut c, &key).unwrap().code;
    record(
        &mut c,
        &code,
        None,
        at(2, 10, 30),
        Action::Note {
            text: "một".into()
        },
    );
    record(
        &mut c,
        &code,
        None,
        at(2, 11, 0),
        Action::Note { text: "hai".into() },
    );
    let expected = heads(&mut c, &key).unwrap();
    drop(c);
    // Both paths have carried it: the province knows that the commune and
    // the district each hold these heads (each either sent them or
    // acknowledged them).
    net.wait_until(&province, "both paths", WAIT, |n| {
        heads(n, &key).as_ref() == Some(&expected)
            && known_heads(n, &commune_id, &key) == expected
            && known_heads(n, &district_id, &key) == expected
    })
    .await
    .unwrap();
    net.wait_until(&district, "the dossier", WAIT, |n| {
        heads(n, &key).as_ref() == Some(&expected)
    })
    .await
    .unwrap();
    wait_caught_up(&net, DISTRICT, PROVINCE).await;
    wait_caught_up(&net, COMMUNE, DISTRICT).await;

    let mut p = net.open(&province).unwrap();
    assert_eq!(dossier_rows(&p), 1, "one index row");
    assert_eq!(dossier_documents(&p), 1, "one document");
    let hex_key = key.to_vec();
    let feed_rows: i64 = p
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM feed WHERE doc_id = ?1",
            [&hex_key],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(feed_rows, 1, "one feed entry");
    let (_, dossier) = officer::load(&mut p, &key).unwrap();
    // The receipt (received, and the commune taking it into its own
    // processing) and the two notes.
    assert_eq!(dossier.events.len(), 6, "each event once");
    let mut c = net.open(&commune).unwrap();
    assert_eq!(state(&mut p, &key), state(&mut c, &key));
    assert_eq!(row(&mut p, &key), row(&mut c, &key));
    assert!(state(&mut p, &key).conflicts.is_empty());
    net.stop_all().await;
}

/// The race behind two paths, made deterministic: two sessions (one per
/// path) load the same stored copy of a dossier, each receives a different
/// change to it, and they commit one after the other. The second must not
/// store its stale copy over the first: both changes are kept, and the
/// stored heads are those of the document as it loads.
#[test]
fn two_sessions_committing_the_same_dossier_keep_both_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(
        dir.path(),
        &office(COMMUNE),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap();
    let desk = node.office().clone();
    let code = officer::receive(&mut node, &desk, "Hoa", at(2, 8, 0), &land_dossier("An"))
        .unwrap()
        .code;
    // Three writes: the store holds the document compacted, so the next
    // commit appends a chunk and the one after compacts again.
    for (hour, text) in [(9, "một"), (10, "hai")] {
        let note = Action::Note { text: text.into() };
        record(&mut node, &code, None, at(2, hour, 0), note);
    }
    let key = officer::resolve(&mut node, &code).unwrap().key;
    let (_, stored) = node.store.read(|r| r.load_document(&key)).unwrap().unwrap();
    let loaded = stored.get_heads();
    let change_from = |peer: u8, text: &str| {
        let mut copy = stored
            .fork()
            .with_actor(automerge::ActorId::from(vec![peer; 16]));
        let mut tx = copy.transaction();
        let event = Event {
            id: officer::new_event_id(),
            at: at(2, 11, 0),
            office: office(COMMUNE),
            officer: "cán bộ".into(),
            action: Action::Note { text: text.into() },
        };
        schema::append_event(&mut tx, &event).unwrap();
        tx.commit();
        copy
    };
    let peers: std::collections::HashMap<_, _> =
        [([1u8; 32], office(DISTRICT)), ([2u8; 32], office(PROVINCE))]
            .into_iter()
            .collect();
    let session = || {
        NodeSyncStore::new(
            Store::open(&node.dir.store_file()).unwrap(),
            node.network.clone(),
            node.calendar.clone(),
            peers.clone(),
        )
    };
    let (mut first, mut second) = (session(), session());
    for (store, peer, text) in [(&mut first, 1u8, "từ xã"), (&mut second, 2u8, "từ tỉnh")] {
        let document = change_from(peer, text);
        let received = Received {
            doc: DocumentId(key),
            peer_heads: document.get_heads(),
            document,
            before: loaded.clone(),
            snapshot: None,
            attestations: Vec::new(),
            reading: None,
        };
        store
            .commit_received(&[peer; 32], vec![received], 1)
            .unwrap();
    }
    drop((first, second));

    let (_, dossier) = officer::load(&mut node, &key).unwrap();
    let notes: Vec<&str> = dossier
        .valid_events()
        .filter_map(|e| match &e.action {
            Action::Note { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 4, "no acknowledged change is lost: {notes:?}");
    assert!(
        notes.contains(&"từ xã") && notes.contains(&"từ tỉnh"),
        "{notes:?}"
    );
    let (_, document) = node.store.read(|r| r.load_document(&key)).unwrap().unwrap();
    let mut as_loaded = document.get_heads();
    as_loaded.sort();
    assert_eq!(
        heads(&mut node, &key).unwrap(),
        as_loaded,
        "the stored heads are true"
    );
    // An officer can still act on it (the command checks the stored heads).
    let note = Action::Note { text: "ba".into() };
    record(&mut node, &code, None, at(2, 14, 0), note);
}

/// What a node's replication bookkeeping says: its feed, per peer the
/// checkpoints both ways, and what each peer is known to hold. (Not the
/// peer's feed head as last heard: every Hello refreshes that.)
#[derive(Debug, PartialEq)]
struct Bookkeeping {
    last_seq: i64,
    feed: Vec<(Vec<u8>, i64)>,
    peers: Vec<(Vec<u8>, i64, i64)>,
    peer_docs: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

fn bookkeeping(node: &mut Node) -> Bookkeeping {
    let conn = node.store.connection();
    let feed = conn
        .prepare("SELECT doc_id, seq FROM feed ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let peers = conn
        .prepare("SELECT node_id, incoming, outgoing FROM peers ORDER BY node_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let peer_docs = conn
        .prepare("SELECT node_id, doc_id, heads FROM peer_docs ORDER BY node_id, doc_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    Bookkeeping {
        last_seq: last_seq(node),
        feed,
        peers,
        peer_docs,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_reconnect_exchanges_no_offers() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]);
    net.start_all().await.unwrap();
    let (commune, district) = (office(COMMUNE), office(DISTRICT));
    let district_id = node_id(&net, DISTRICT);
    let district_addr = net.get(&district).unwrap().addr.unwrap();

    let mut c = net.open(&commune).unwrap();
    let keys: Vec<DocKey> = (0..4)
        .map(|i| receive_and_forward(&mut c, &format!("Người nộp {i}"), DISTRICT))
        .collect();
    drop(c);
    net.wait_until(&office(PROVINCE), "every dossier", WAIT, |n| {
        keys.iter().all(|k| holds(n, k))
    })
    .await
    .unwrap();
    wait_caught_up(&net, DISTRICT, PROVINCE).await;
    wait_caught_up(&net, COMMUNE, DISTRICT).await;
    let commune_before = bookkeeping(&mut net.open(&commune).unwrap());
    let district_before = bookkeeping(&mut net.open(&district).unwrap());
    assert!(
        commune_before.feed.len() >= 6,
        "four dossiers and the two config documents"
    );

    // The commune goes down. Reconnect once by hand with exactly what its
    // daemon runs (its identity, store, admission; the district's daemon on
    // the other side) to read the session's counters.
    net.stop(&commune).await.unwrap();
    let node = net.open(&commune).unwrap();
    let endpoint = raw_endpoint(
        &node.identity,
        &node
            .config
            .peers
            .iter()
            .map(|p| p.node_id)
            .collect::<Vec<_>>(),
    );
    let connection = endpoint.connect(district_addr, &district_id).await.unwrap();
    let peers = peer_offices(&node.config);
    let store = NodeSyncStore::new(
        Store::open(&node.dir.store_file()).unwrap(),
        node.network.clone(),
        node.calendar.clone(),
        peers.clone(),
    );
    let admission = NodeAdmission::new(
        node.network.clone(),
        node.calendar.clone(),
        node.office().clone(),
        *node.node_id().as_bytes(),
        peers,
    );
    let (_stop, shutdown) = watch::channel(false);
    let driven = tokio::time::timeout(
        WAIT,
        drive(
            connection,
            Role::Dialer,
            *district_id.as_bytes(),
            store,
            admission,
            DriverConfig {
                exit_when_synced: true,
                ..DriverConfig::default()
            },
            Arc::new(Notify::new()),
            shutdown,
            None,
        ),
    )
    .await
    .expect("an idle reconnect reaches sync");
    endpoint.close("done");
    let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
    drop(node);
    driven.result.unwrap();
    assert!(driven.synced);
    let stats = driven.stats;
    assert_eq!(
        (stats.offered, stats.skipped, stats.received, stats.refused),
        (0, 0, 0, 0),
        "no document offered either way: {stats:?}"
    );
    assert_eq!(
        (stats.frames_sent, stats.frames_received),
        (1, 1),
        "one Hello each way and nothing else: {stats:?}"
    );

    // The commune's daemon restarts and reconnects by itself: it reaches
    // "in sync" with the district without anything moving.
    let restarted = Utc::now();
    net.start(&commune).await.unwrap();
    let commune_id = node_id(&net, COMMUNE);
    net.wait_until(&commune, "in sync after the restart", WAIT, |n| {
        let row = peer_row(n, &district_id);
        row.connected && row.last_success.is_some_and(|t| t >= restarted)
    })
    .await
    .unwrap();
    net.wait_until(&district, "in sync after the restart", WAIT, |n| {
        let row = peer_row(n, &commune_id);
        row.connected && row.last_success.is_some_and(|t| t >= restarted)
    })
    .await
    .unwrap();
    assert_eq!(
        bookkeeping(&mut net.open(&commune).unwrap()),
        commune_before
    );
    assert_eq!(
        bookkeeping(&mut net.open(&district).unwrap()),
        district_before
    );
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_flows_down_from_the_province_and_never_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = network(dir.path(), &[PROVINCE, DISTRICT, COMMUNE]);
    net.start_all().await.unwrap();
    let (commune, district, province) = (office(COMMUNE), office(DISTRICT), office(PROVINCE));

    let p = net.open(&province).unwrap();
    let authored: Vec<(ConfigFile, String)> = ConfigFile::ALL
        .into_iter()
        .map(|file| {
            (
                file,
                std::fs::read_to_string(config_path(&p, file)).unwrap(),
            )
        })
        .collect();
    drop(p);
    // The commune only talks to its district: the documents are relayed.
    for (file, text) in &authored {
        net.wait_until(&commune, file.name(), WAIT, |n| {
            config_text(n, *file).as_ref() == Some(text)
        })
        .await
        .unwrap();
    }
    let c = net.open(&commune).unwrap();
    assert_eq!(
        count(&c, "SELECT count(*) FROM documents WHERE kind = 'config'"),
        2
    );
    drop(c);

    // The province corrects its catalogue: the next start publishes it, and
    // it replaces the commune's file.
    let p = net.open(&province).unwrap();
    let catalogue = config_path(&p, ConfigFile::Catalogue);
    drop(p);
    let corrected = format!(
        "{}\n# Sửa đổi của tỉnh (kiểm thử)\n",
        std::fs::read_to_string(&catalogue).unwrap()
    );
    std::fs::write(&catalogue, &corrected).unwrap();
    net.stop(&province).await.unwrap();
    net.start(&province).await.unwrap();
    for node in [&district, &commune] {
        net.wait_until(node, "the corrected catalogue file", WAIT, |n| {
            std::fs::read_to_string(config_path(n, ConfigFile::Catalogue)).ok()
                == Some(corrected.clone())
        })
        .await
        .unwrap();
    }

    // A commune that edits a configuration document itself cannot push it
    // up: the district refuses it (it comes from below).
    let mut c = net.open(&commune).unwrap();
    let key = ConfigFile::Catalogue.key();
    let actor = c.actor();
    let forged = format!("{corrected}# Sửa đổi trái phép của xã\n");
    c.store
        .write(|w| -> Result<(), lienthong::store::StoreError> {
            let (kind, mut doc) = w.reader().load_document(&key)?.unwrap();
            assert_eq!(kind, DocKind::Config);
            let before = doc.get_heads();
            doc.set_actor(actor);
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, "text", forged.as_str()).unwrap();
            tx.commit();
            config_docs::save_received(w, &key, &doc, &before)
        })
        .unwrap();
    drop(c);
    wait_caught_up(&net, COMMUNE, DISTRICT).await;
    let mut d = net.open(&district).unwrap();
    assert_eq!(
        config_text(&mut d, ConfigFile::Catalogue).as_ref(),
        Some(&corrected),
        "configuration never flows up"
    );
    assert_eq!(
        std::fs::read_to_string(config_path(&d, ConfigFile::Catalogue)).unwrap(),
        corrected
    );
    net.stop_all().await;
}

/// What a node stored of received documents, table by table (not
/// `origin_arrivals`, which records the commit's time).
fn stored_rows(node: &Node) -> Vec<(String, Vec<Vec<String>>)> {
    [
        "documents",
        "doc_chunks",
        "dossiers",
        "doc_scope",
        "dossier_search",
        "feed",
        "peer_docs",
        "outbox",
    ]
    .into_iter()
    .map(|table| {
        let conn = node.store.connection();
        let mut statement = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
            .unwrap();
        let columns = statement.column_count();
        let rows = statement
            .query_map([], |r| {
                (0..columns)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        (table.to_string(), rows)
    })
    .collect()
}

/// Admission's reading of a dossier (`AdmittedDossier`), handed to the
/// commit in `Received::reading`, is what the commit stores from: the same
/// rows as when the commit reads the dossier itself; used only when it was
/// read at the heads of the document committed (a reading of another
/// state of the dossier is ignored and the document read again).
#[test]
fn the_commit_stores_from_admission_s_reading_only_at_the_same_heads() {
    use lienthong::replication::admission::AdmittedDossier;
    let init = |dir: &Path| {
        Node::init(
            dir,
            &office(COMMUNE),
            InitSources {
                network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
                catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
            },
        )
        .unwrap()
    };
    let source_dir = tempfile::tempdir().unwrap();
    let mut source = init(source_dir.path());
    let desk = source.office().clone();
    let code = officer::receive(&mut source, &desk, "Hoa", at(2, 8, 0), &land_dossier("An"))
        .unwrap()
        .code;
    let key = officer::resolve(&mut source, &code).unwrap().key;
    let (_, first) = source
        .store
        .read(|r| r.load_document(&key))
        .unwrap()
        .unwrap();
    record(
        &mut source,
        &code,
        None,
        at(2, 9, 0),
        Action::Note {
            text: "một".into()
        },
    );
    let (_, document) = source
        .store
        .read(|r| r.load_document(&key))
        .unwrap()
        .unwrap();
    assert_ne!(
        first.get_heads(),
        document.get_heads(),
        "precondition: two states"
    );

    let peers: std::collections::HashMap<_, _> =
        [([1u8; 32], office(DISTRICT))].into_iter().collect();
    // Commit `document` into a fresh node with `reading`; its rows.
    let commit = |reading: Option<AdmittedDossier>| {
        let dir = tempfile::tempdir().unwrap();
        let node = init(dir.path());
        let mut store = NodeSyncStore::new(
            Store::open(&node.dir.store_file()).unwrap(),
            node.network.clone(),
            node.calendar.clone(),
            peers.clone(),
        );
        let received = Received {
            doc: DocumentId(key),
            peer_heads: document.get_heads(),
            document: document.fork(),
            before: Vec::new(),
            snapshot: Some(document.save()),
            attestations: Vec::new(),
            reading: reading.map(|r| Box::new(r) as lienthong_sync::protocol::Reading),
        };
        store.commit_received(&[1; 32], vec![received], 1).unwrap();
        drop(store);
        stored_rows(&node)
    };
    let read = |d: &automerge::Automerge| schema::read(d).unwrap();
    let alone = commit(None);
    let dossiers = alone.iter().find(|(t, _)| t == "dossiers").unwrap();
    assert_eq!(dossiers.1.len(), 1, "precondition: the dossier is indexed");

    // Admission's reading at the same heads: the same rows.
    let reused = commit(Some(AdmittedDossier {
        heads: document.get_heads(),
        dossier: read(&document),
    }));
    assert_eq!(reused, alone);

    // A reading of the earlier state: ignored, the document read again.
    let stale = commit(Some(AdmittedDossier {
        heads: first.get_heads(),
        dossier: read(&first),
    }));
    assert_eq!(stale, alone);

    // And the reading is what the commit stores from: one altered here,
    // at the document's heads, shows in the index.
    let mut altered = read(&document);
    altered.facts.applicant.name = "Người Khác".into();
    let used = commit(Some(AdmittedDossier {
        heads: document.get_heads(),
        dossier: altered,
    }));
    assert_ne!(used, alone);
    assert!(
        format!("{used:?}").contains("Người Khác"),
        "the index was written from the reading"
    );
}
