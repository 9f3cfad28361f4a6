//! The node directory of issue 8 with real daemons over real QUIC: entries
//! with validity kept by the province (`lienthong directory`), a node whose
//! entry ended refused, a rotated key (`lienthong identity rotate`) whose
//! old history stays valid, and a node outside the directory refused until
//! the province adds it. Each test fails when the check it names is
//! removed (the refusal never comes, or what it guards is stored).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, Automerge};
use chrono::Utc;
use lienthong::config::DataDir;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong::replication::authorship::attested::Directory;
use lienthong::replication::authorship::authors::{EventAuthor, event_authors};
use lienthong::store::Store;
use lienthong::store::documents::{DocKey, DocKind};
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::{self, Applicant};
use lienthong_shared::dossier::{Action, Event, EventId};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::attest::Signer;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use support::{COMMUNE, DISTRICT, PROVINCE, WAIT, at, fails, office, ok, refusal};

/// Three real nodes whose network file names every node's id, but those of
/// `unnamed`; started.
async fn three_tiers(root: &Path, unnamed: &[&str]) -> LocalNetwork {
    let offices = [PROVINCE, DISTRICT, COMMUNE].map(office);
    let mut net =
        LocalNetwork::init(root, builtin::QUANG_NAM_3TIER, builtin::CATALOGUE, &offices).unwrap();
    net.name_nodes_in_network().unwrap();
    for name in unnamed {
        let id = node_id(&net, name);
        for o in &offices {
            let path = network_file(&net, o.as_str());
            let text = std::fs::read_to_string(&path).unwrap();
            let line = format!("node_id = \"{id}\"\n");
            assert!(text.contains(&line), "precondition: {name} is named");
            std::fs::write(&path, text.replace(&line, "")).unwrap();
        }
    }
    net.start_all().await.unwrap();
    net
}

fn dir(net: &LocalNetwork, id: &str) -> PathBuf {
    net.get(&office(id)).unwrap().dir.clone()
}

fn network_file(net: &LocalNetwork, id: &str) -> PathBuf {
    let node = net.open(&office(id)).unwrap();
    node.dir.resolve(&node.config.network)
}

fn identity(net: &LocalNetwork, id: &str) -> NodeIdentity {
    NodeIdentity::load(&DataDir::new(dir(net, id)).identity_dir()).unwrap()
}

fn node_id(net: &LocalNetwork, id: &str) -> NodeId {
    identity(net, id).node_id()
}

fn data(net: &LocalNetwork, id: &str) -> String {
    dir(net, id).display().to_string()
}

/// A land dossier received at the commune and forwarded to the district,
/// once the district holds it.
async fn at_the_district(net: &LocalNetwork, name: &str) -> DocKey {
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let applicant = Applicant {
        name: name.into(),
        ..Applicant::default()
    };
    let recorded = officer::receive(
        &mut c,
        &office(COMMUNE),
        "Hoa",
        at(2, 8, 30),
        &NewDossier::at_the_desk("1.004227", applicant),
    )
    .unwrap();
    officer::record(
        &mut c,
        &recorded.code,
        None,
        "Hoa",
        at(2, 10, 0),
        Action::Forwarded {
            to: office(DISTRICT),
            task: "Xử lý".into(),
            days: 8,
        },
    )
    .unwrap();
    let key = recorded.key;
    wait_for_dossier(net, DISTRICT, &key).await;
    key
}

async fn wait_for_dossier(net: &LocalNetwork, at_node: &str, key: &DocKey) {
    let waited = net
        .wait_until(&office(at_node), "the commune's dossier", WAIT, |n| {
            officer::resolve(n, &lienthong::store::documents::hex(key))
                .ok()
                .and_then(|r| r.transfer_to)
                .as_deref()
                == Some(DISTRICT)
        })
        .await;
    if let Err(e) = waited {
        // Say what the node refused from its peers, to tell why.
        let mut n = net.open(&office(at_node)).unwrap();
        let peers: Vec<_> = n.config.peers.iter().map(|p| p.node_id).collect();
        let rows: Vec<_> = peers
            .iter()
            .map(|p| n.store.read(|r| r.peer(p.as_bytes())).unwrap())
            .collect();
        panic!("{e}; its peers: {rows:#?}");
    }
}

fn holds(node: &mut Node, key: &DocKey) -> bool {
    node.store.read(|r| r.load_document(key)).unwrap().is_some()
}

fn holds_change(node: &mut Node, key: &DocKey, doc: &Automerge) -> bool {
    let Some((_, held)) = node.store.read(|r| r.load_document(key)).unwrap() else {
        return false;
    };
    doc.get_heads()
        .iter()
        .all(|h| held.get_change_meta_by_hash(h).is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_directory_entry_ended_is_refused_at_session_start() {
    let root = tempfile::tempdir().unwrap();
    let mut net = three_tiers(root.path(), &[]).await;
    at_the_district(&net, "Trước khi kết thúc").await;
    let commune = node_id(&net, COMMUNE);

    // The province ends the commune's entry.
    let printed = ok(&[
        "directory",
        "end",
        "--data",
        &data(&net, PROVINCE),
        "--node",
        &commune.to_string(),
    ]);
    assert!(printed.contains("ended 1 entry"), "{printed}");

    // It reaches the district as the province's network document; the
    // district refuses every session with the commune, saying why.
    let reason = refusal(&net, DISTRICT, &commune, "its directory entry ended").await;
    assert!(
        reason.contains("does not sync with it") && reason.contains("lienthong peer add"),
        "{reason}"
    );
    let district_file = std::fs::read_to_string(network_file(&net, DISTRICT)).unwrap();
    assert!(
        district_file.contains("until = "),
        "the district applied the province's directory: {district_file}"
    );

    // What the commune writes now does not reach the district.
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let late = officer::receive(
        &mut c,
        &office(COMMUNE),
        "Hoa",
        at(3, 8, 30),
        &NewDossier::at_the_desk("1.004227", Applicant::default()),
    )
    .unwrap();
    officer::record(
        &mut c,
        &late.code,
        None,
        "Hoa",
        at(3, 9, 0),
        Action::Forwarded {
            to: office(DISTRICT),
            task: "Xử lý".into(),
            days: 8,
        },
    )
    .unwrap();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let mut d = net.open(&office(DISTRICT)).unwrap();
        assert!(
            !holds(&mut d, &late.key),
            "the district synced with a node whose entry ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    net.stop_all().await;
}

/// Stop `office`'s daemon and give it an empty store: it syncs everything
/// from scratch when it starts again.
async fn wipe_store(net: &mut LocalNetwork, id: &str) {
    net.stop(&office(id)).await.unwrap();
    let store = DataDir::new(dir(net, id)).store_file();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", store.display()));
        if path.exists() {
            std::fs::remove_file(&path).unwrap();
        }
    }
    Store::create(&store).unwrap();
    net.start(&office(id)).await.unwrap();
}

/// The author of each of `key`'s events at `node`, with its office.
fn authors(net: &LocalNetwork, node: &str, key: &DocKey) -> Vec<(String, EventAuthor)> {
    let mut n = net.open(&office(node)).unwrap();
    let directory = Directory::new(
        &n.network,
        (*n.node_id().as_bytes(), n.office().clone()),
        &lienthong::replication::peer_offices(&n.config),
    );
    let (_, doc) = n.store.read(|r| r.load_document(key)).unwrap().unwrap();
    let found = n
        .store
        .read(|r| event_authors(r, key, &doc, &directory))
        .unwrap();
    let dossier = schema::read(&doc).unwrap();
    dossier
        .valid_events()
        .map(|e| e.office.to_string())
        .zip(found)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_keeps_its_old_history_valid_and_writes_nothing_after_its_end() {
    let root = tempfile::tempdir().unwrap();
    let mut net = three_tiers(root.path(), &[]).await;
    let before = at_the_district(&net, "Viết bằng khóa cũ").await;
    let old = node_id(&net, COMMUNE);
    let old_key = Signer::new(identity(&net, COMMUNE).attestation_key_pair().unwrap());

    // The commune rotates its key, node stopped.
    net.stop(&office(COMMUNE)).await.unwrap();
    let printed = ok(&["identity", "rotate", "--data", &data(&net, COMMUNE)]);
    let new = node_id(&net, COMMUNE);
    assert_ne!(new, old);
    assert!(
        printed.contains(&format!("new node id {new}"))
            && printed.contains(&format!("directory end --node {old}")),
        "{printed}"
    );
    let kept = net
        .open(&office(COMMUNE))
        .unwrap()
        .store
        .previous_identities()
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].0,
        old.to_string(),
        "the old id is kept for reference"
    );

    // The province ends the old key and adds the new one; the district
    // pins the new one.
    let end = Utc::now().to_rfc3339();
    let province = data(&net, PROVINCE);
    ok(&[
        "directory",
        "end",
        "--data",
        &province,
        "--node",
        &old.to_string(),
        "--at",
        &end,
    ]);
    ok(&[
        "directory",
        "add",
        "--data",
        &province,
        "--node",
        &new.to_string(),
        "--office",
        COMMUNE,
        "--from",
        &end,
    ]);
    let listed = ok(&["directory", "list", "--data", &province]);
    assert!(
        listed.contains(&format!("ended    {old}")) && listed.contains(&format!("in force {new}")),
        "{listed}"
    );
    let district = data(&net, DISTRICT);
    ok(&[
        "peer",
        "remove",
        "--data",
        &district,
        "--node-id",
        &old.to_string(),
    ]);
    ok(&[
        "peer",
        "add",
        "--data",
        &district,
        "--role",
        "child",
        "--office",
        COMMUNE,
        "--node-id",
        &new.to_string(),
    ]);
    net.start(&office(COMMUNE)).await.unwrap();
    let after = at_the_district(&net, "Viết bằng khóa mới").await;

    // A district syncing from scratch admits both, each by its own key.
    wipe_store(&mut net, DISTRICT).await;
    wait_for_dossier(&net, DISTRICT, &before).await;
    wait_for_dossier(&net, DISTRICT, &after).await;
    for (key, by) in [(&before, old), (&after, new)] {
        let commune_events: Vec<EventAuthor> = authors(&net, DISTRICT, key)
            .into_iter()
            .filter(|(o, _)| o == COMMUNE)
            .map(|(_, a)| a)
            .collect();
        assert!(!commune_events.is_empty(), "precondition: commune events");
        for author in commune_events {
            assert_eq!(
                author,
                EventAuthor::Signed {
                    node: by.to_string(),
                    office: Some(office(COMMUNE)),
                }
            );
        }
    }

    // The old key (stolen, say) writes after its end: refused — once the
    // district judges by the province's directory (its file, applied from
    // the network document; sessions restart within a poll of a second).
    net.wait_until(&office(DISTRICT), "the province's directory", WAIT, |n| {
        n.network
            .directory_entries()
            .iter()
            .any(|e| e.node_id == old.to_string() && e.until.is_some())
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let (_, held) = c.store.read(|r| r.load_document(&after)).unwrap().unwrap();
    let mut forged = held.fork();
    forged.set_actor(ActorId::from(old.actor_bytes().as_slice()));
    let mut tx = forged.transaction();
    let note = Event {
        id: EventId("after-the-end".into()),
        at: at(4, 9, 0),
        office: office(COMMUNE),
        officer: "Kẻ giữ khóa cũ".into(),
        action: Action::Note {
            text: "ghi sau khi khóa hết hạn".into(),
        },
    };
    schema::append_event(&mut tx, &note).unwrap();
    tx.commit_with(CommitOptions::default().with_time(Utc::now().timestamp_millis()));
    let before_heads = held.get_heads();
    let attestations: Vec<_> = forged
        .get_changes_meta(&before_heads)
        .iter()
        .map(|m| old_key.sign(&DocumentId(after), &m.hash.0))
        .collect();
    c.store
        .write(|w| {
            w.put_attestations(&after, &attestations)?;
            w.save_document(&after, DocKind::Dossier, &forged, &before_heads)
        })
        .unwrap();
    let reason = refusal(&net, DISTRICT, &new, "ended at").await;
    assert!(
        reason.contains(&old.short().to_string()) && reason.contains("stay valid"),
        "{reason}"
    );
    let mut d = net.open(&office(DISTRICT)).unwrap();
    assert!(
        !holds_change(&mut d, &after, &forged),
        "the district stored a change the old key wrote after its end"
    );
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commune_outside_the_directory_is_refused_at_the_province_until_it_is_added() {
    let root = tempfile::tempdir().unwrap();
    let net = three_tiers(root.path(), &[COMMUNE]).await;
    let commune = node_id(&net, COMMUNE);
    let district = node_id(&net, DISTRICT);

    // The district works with the commune it pinned; the province refuses
    // the commune's changes, saying the province must add it.
    let key = at_the_district(&net, "Xã chưa có trong danh bạ").await;
    let reason = refusal(&net, PROVINCE, &district, "the province must add it").await;
    assert!(
        reason.contains(&format!("lienthong directory add --node {commune}")),
        "{reason}"
    );
    let mut p = net.open(&office(PROVINCE)).unwrap();
    assert!(
        !holds(&mut p, &key),
        "the province stored the unknown commune's dossier"
    );

    // Only the province keeps the directory.
    let refused = support::fails(&[
        "directory",
        "add",
        "--data",
        &data(&net, DISTRICT),
        "--node",
        &commune.to_string(),
        "--office",
        COMMUNE,
    ]);
    assert!(refused.contains("kept at the province's node"), "{refused}");

    // Added: what was refused is offered again and admitted.
    ok(&[
        "directory",
        "add",
        "--data",
        &data(&net, PROVINCE),
        "--node",
        &commune.to_string(),
        "--office",
        COMMUNE,
    ]);
    wait_for_dossier(&net, PROVINCE, &key).await;
    // The province held the district where it refused, and released it
    // when the directory changed (no longer offered again each session).
    let mut p = net.open(&office(PROVINCE)).unwrap();
    let limit = p
        .store
        .read(|r| r.peer_limit(district.as_bytes()))
        .unwrap()
        .expect("the refusal held the district's checkpoint");
    assert_eq!(limit.kind, lienthong::store::limits::LimitKind::Directory);
    assert!(
        limit.lifted_at.is_some(),
        "the hold was released: {limit:?}"
    );
}

fn catalogue_file(net: &LocalNetwork, id: &str) -> PathBuf {
    let node = net.open(&office(id)).unwrap();
    node.dir.resolve(&node.config.catalogue)
}

/// `node` pins `old` no more, and `new` in its place with the same role
/// and office (the re-pin docs/operations.md asks after a rotation), if it
/// pinned `old`. Returns whether it did.
fn repin(net: &LocalNetwork, node: &str, old: &NodeId, new: &NodeId) -> bool {
    let n = net.open(&office(node)).unwrap();
    let Some(pin) = n.config.peers.iter().find(|p| p.node_id == *old).cloned() else {
        return false;
    };
    drop(n);
    let data = data(net, node);
    let role = format!("{:?}", pin.role).to_lowercase();
    ok(&[
        "peer",
        "remove",
        "--data",
        &data,
        "--node-id",
        &old.to_string(),
    ]);
    let new = new.to_string();
    let mut args = vec![
        "peer",
        "add",
        "--data",
        &data,
        "--role",
        &role,
        "--office",
        pin.office.as_str(),
        "--node-id",
        &new,
    ];
    if let Some(address) = &pin.address {
        args.extend(["--address", address]);
    }
    ok(&args);
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_rotates_its_own_key_in_two_steps_and_its_new_key_signs_configuration() {
    let root = tempfile::tempdir().unwrap();
    let mut net = three_tiers(root.path(), &[]).await;
    let province = data(&net, PROVINCE);
    let old = node_id(&net, PROVINCE);
    let old_key = Signer::new(identity(&net, PROVINCE).attestation_key_pair().unwrap());

    // Wrong order: rotating at once is refused, naming the two steps.
    net.stop(&office(PROVINCE)).await.unwrap();
    let refused = fails(&["identity", "rotate", "--data", &province]);
    assert!(
        refused.contains("two steps") && refused.contains("--prepare"),
        "{refused}"
    );
    assert_eq!(node_id(&net, PROVINCE), old, "nothing was changed");

    // Step 1: the next key, staged (0600), then named with the old key.
    let printed = ok(&["identity", "rotate", "--prepare", "--data", &province]);
    let staged = DataDir::new(dir(&net, PROVINCE)).staged_identity_dir();
    let new = NodeIdentity::load(&staged).unwrap().node_id();
    assert!(
        printed.contains(&format!("next node id {new}")),
        "{printed}"
    );
    assert_ne!(new, old);
    assert_eq!(node_id(&net, PROVINCE), old, "the current key stays in use");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(staged.join(NodeIdentity::KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the staged private key is the owner's only"
        );
    }
    let again = fails(&["identity", "rotate", "--prepare", "--data", &province]);
    assert!(
        again.contains(&format!("staged already: node id {new}")),
        "{again}"
    );
    let unpublished = fails(&["identity", "rotate", "--data", &province]);
    assert!(
        unpublished.contains(&format!("staged key {new} has no entry")),
        "{unpublished}"
    );
    net.start(&office(PROVINCE)).await.unwrap();
    ok(&[
        "directory",
        "add",
        "--data",
        &province,
        "--node",
        &new.to_string(),
        "--office",
        PROVINCE,
    ]);
    let names_new = |n: &mut Node| {
        n.network
            .directory_entries()
            .iter()
            .any(|e| e.node_id == new.to_string() && e.office == office(PROVINCE))
    };
    net.wait_until(
        &office(COMMUNE),
        "the new province key named",
        WAIT,
        names_new,
    )
    .await
    .unwrap();

    // Step 2: rotate; the old key's entry is ended with the new key.
    net.stop(&office(PROVINCE)).await.unwrap();
    let printed = ok(&["identity", "rotate", "--data", &province]);
    assert_eq!(node_id(&net, PROVINCE), new);
    assert!(!staged.exists(), "the staged key is now the key");
    assert!(
        printed.contains("ended 1 directory entry of the old key")
            && printed.contains("signed with the new key"),
        "{printed}"
    );
    let listed = ok(&["directory", "list", "--data", &province]);
    assert!(
        listed.contains(&format!("ended    {old}")) && listed.contains(&format!("in force {new}")),
        "{listed}"
    );
    assert!(
        repin(&net, DISTRICT, &old, &new),
        "precondition: the district pins the province"
    );
    // The commune pins its district only in this tree; re-pinned if not.
    repin(&net, COMMUNE, &old, &new);
    // A catalogue change, published with the new key when it starts.
    let catalogue = catalogue_file(&net, PROVINCE);
    let changed = format!(
        "{}\n# Sửa bằng khóa mới của tỉnh.\n",
        std::fs::read_to_string(&catalogue).unwrap()
    );
    std::fs::write(&catalogue, &changed).unwrap();
    net.start(&office(PROVINCE)).await.unwrap();

    let commune_catalogue = catalogue_file(&net, COMMUNE);
    net.wait_until(
        &office(COMMUNE),
        "the new key's catalogue and end",
        WAIT,
        |n| {
            std::fs::read_to_string(&commune_catalogue).ok().as_deref() == Some(changed.as_str())
                && n.network
                    .directory_entries()
                    .iter()
                    .any(|e| e.node_id == old.to_string() && e.until.is_some())
        },
    )
    .await
    .unwrap();
    assert!(
        !net.open(&office(DISTRICT))
            .unwrap()
            .store
            .read(|r| r.peer(new.as_bytes()))
            .unwrap()
            .last_refusal
            .is_some_and(|r| r.contains("configuration")),
        "the district refused the new key's configuration"
    );

    // The old key (kept by a thief, say) writes the network after its end:
    // refused, and no node applies it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let key = lienthong::replication::config_docs::ConfigFile::Network.key();
    let mut p = net.open(&office(PROVINCE)).unwrap();
    let (_, held) = p.store.read(|r| r.load_document(&key)).unwrap().unwrap();
    let mut forged = held.fork();
    forged.set_actor(ActorId::from(old.actor_bytes().as_slice()));
    let text = lienthong::replication::config_docs::text_of(&held).unwrap();
    let forged_text = text.replace(
        &format!("id = \"{new}\""),
        &format!("id = \"{}\"", NodeId::from_bytes([7; 32])),
    );
    assert_ne!(
        forged_text, text,
        "precondition: the forgery changes the file"
    );
    let mut tx = forged.transaction();
    automerge::transaction::Transactable::put(
        &mut tx,
        automerge::ROOT,
        "text",
        forged_text.as_str(),
    )
    .unwrap();
    tx.commit_with(CommitOptions::default().with_time(Utc::now().timestamp_millis()));
    let before_heads = held.get_heads();
    let attestations: Vec<_> = forged
        .get_changes_meta(&before_heads)
        .iter()
        .map(|m| old_key.sign(&DocumentId(key), &m.hash.0))
        .collect();
    assert!(!attestations.is_empty(), "precondition: a forged change");
    p.store
        .write(|w| {
            w.put_attestations(&key, &attestations)?;
            w.save_document(&key, DocKind::Config, &forged, &before_heads)
        })
        .unwrap();
    drop(p);
    let reason = refusal(&net, DISTRICT, &new, "ended at").await;
    assert!(reason.contains(&old.short().to_string()), "{reason}");
    let mut d = net.open(&office(DISTRICT)).unwrap();
    assert!(
        !holds_change(&mut d, &key, &forged),
        "the district stored a network change the old province key wrote after its end"
    );
    for node in [DISTRICT, COMMUNE] {
        let file = std::fs::read_to_string(network_file(&net, node)).unwrap();
        assert!(
            file.contains(&new.to_string())
                && !file.contains(&NodeId::from_bytes([7; 32]).to_string()),
            "{node} applied the old key's network"
        );
    }
    net.stop_all().await;
}

/// Any node may stage its next key: `rotate` then puts exactly that key in
/// place (the id the province was given), and the staged copy is gone. A
/// province whose network names no node rotates in one step.
#[test]
fn a_staged_key_is_the_one_rotate_puts_in_place() {
    let root = tempfile::tempdir().unwrap();
    let commune = support::init(root.path(), "commune", COMMUNE);
    let data = commune.display().to_string();
    let old = NodeIdentity::load(&DataDir::new(&commune).identity_dir())
        .unwrap()
        .node_id();
    let printed = ok(&["identity", "rotate", "--prepare", "--data", &data]);
    let staged = DataDir::new(&commune).staged_identity_dir();
    let next = NodeIdentity::load(&staged).unwrap().node_id();
    assert!(
        printed.contains(&format!("directory add --node {next}")),
        "{printed}"
    );
    let printed = ok(&["identity", "rotate", "--data", &data]);
    let now = NodeIdentity::load(&DataDir::new(&commune).identity_dir())
        .unwrap()
        .node_id();
    assert_eq!(now, next, "the staged key, not a new one");
    assert_ne!(now, old);
    assert!(!staged.exists());
    assert!(
        printed.contains(&format!("directory end --node {old}")),
        "{printed}"
    );

    // The shipped network names no node: pins are the directory, and the
    // province needs no staged key.
    let province = support::init(root.path(), "province", PROVINCE);
    let printed = ok(&[
        "identity",
        "rotate",
        "--data",
        &province.display().to_string(),
    ]);
    assert!(
        printed.contains("--role parent --office province:quang-nam"),
        "{printed}"
    );
    assert!(!printed.contains("directory end"), "{printed}");
}
