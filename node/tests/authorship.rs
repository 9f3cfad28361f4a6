//! Issue 8 with real nodes: province, district and commune daemons over
//! real QUIC with pinned mutual TLS, their network file naming every node's
//! id (the province-signed directory). Each forgery is written with a real
//! node's key, as a compromised node would, and must be refused by the next
//! honest node — each test fails if the check it names is removed (the
//! forged change would be stored, and the refusal never come).

mod support;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use chrono::{DateTime, Utc};
use lienthong::config::DataDir;
use lienthong::local_network::LocalNetwork;
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong::replication::config_docs::{self, ConfigFile};
use lienthong::store::documents::{DocKey, DocKind};
use lienthong_shared::builtin;
use lienthong_shared::dossier::schema::{self, Applicant};
use lienthong_shared::dossier::{Action, Event, EventId};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::attest::Signer;
use lienthong_sync::transport::identity::NodeIdentity;
use support::{COMMUNE, DISTRICT, PROVINCE, TAX, WAIT, at, office};

/// Three real nodes whose network file names their ids, started.
async fn three_tiers(root: &std::path::Path) -> LocalNetwork {
    let offices = [PROVINCE, DISTRICT, COMMUNE].map(office);
    let mut net =
        LocalNetwork::init(root, builtin::QUANG_NAM_3TIER, builtin::CATALOGUE, &offices).unwrap();
    net.name_nodes_in_network().unwrap();
    net.start_all().await.unwrap();
    net
}

fn record(node: &mut Node, code: &str, acting: Option<&str>, when: DateTime<Utc>, action: Action) {
    let acting = acting.map(office);
    officer::record(node, code, acting.as_ref(), "cán bộ", when, action).unwrap();
}

/// A land dossier received at the commune and forwarded to the district,
/// once the district holds it: its key and code.
async fn at_the_district(net: &LocalNetwork) -> (DocKey, String) {
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let applicant = Applicant {
        name: "Nguyễn Văn An".into(),
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
    record(
        &mut c,
        &recorded.code,
        None,
        at(2, 10, 0),
        Action::Forwarded {
            to: office(DISTRICT),
            task: "Xử lý".into(),
            days: 8,
        },
    );
    let key = recorded.key;
    net.wait_until(&office(DISTRICT), "the commune's dossier", WAIT, |n| {
        officer::resolve(n, &lienthong::store::documents::hex(&key))
            .ok()
            .and_then(|r| r.transfer_to)
            .as_deref()
            == Some(DISTRICT)
    })
    .await
    .unwrap();
    (key, recorded.code)
}

/// …and on to the province's tax department, once the province holds it.
async fn at_the_province(net: &LocalNetwork) -> DocKey {
    let (key, code) = at_the_district(net).await;
    let mut d = net.open(&office(DISTRICT)).unwrap();
    record(&mut d, &code, None, at(2, 14, 0), Action::Accepted);
    record(
        &mut d,
        &code,
        None,
        at(3, 9, 0),
        Action::Forwarded {
            to: office(TAX),
            task: "Thẩm định thuế".into(),
            days: 5,
        },
    );
    net.wait_until(
        &office(PROVINCE),
        "the dossier at the tax department",
        WAIT,
        |n| {
            officer::resolve(n, &lienthong::store::documents::hex(&key))
                .ok()
                .and_then(|r| r.transfer_to)
                .as_deref()
                == Some(TAX)
        },
    )
    .await
    .unwrap();
    key
}

fn identity(net: &LocalNetwork, id: &str) -> NodeIdentity {
    let dir = net.get(&office(id)).unwrap().dir.clone();
    NodeIdentity::load(&DataDir::new(&dir).identity_dir()).unwrap()
}

fn signer(net: &LocalNetwork, id: &str) -> Signer {
    Signer::new(identity(net, id).attestation_key_pair().unwrap())
}

fn actor_of(net: &LocalNetwork, id: &str) -> ActorId {
    ActorId::from(identity(net, id).node_id().actor_bytes().as_slice())
}

/// An `approved` event claiming to be the district's.
fn approval_claiming(office_id: &str) -> Event {
    Event {
        id: EventId(format!("forged-{office_id}")),
        at: at(4, 9, 0),
        office: office(office_id),
        officer: "Kẻ mạo danh".into(),
        action: Action::Approved {
            note: String::new(),
        },
    }
}

/// `doc` (as `node` holds `key`) with one more change under `actor`
/// appending `event`.
fn with_event(
    node: &mut Node,
    key: &DocKey,
    actor: ActorId,
    event: &Event,
) -> (Automerge, Automerge) {
    let (_, held) = node.store.read(|r| r.load_document(key)).unwrap().unwrap();
    let mut doc = held.fork();
    doc.set_actor(actor);
    let mut tx = doc.transaction();
    schema::append_event(&mut tx, event).unwrap();
    tx.commit();
    (held, doc)
}

/// Store `doc` on `node` as if its changes had been admitted, with the
/// attestation `signer` makes for each change new to it (a compromised
/// node's store: what it relays next).
fn store_signed(node: &mut Node, key: &DocKey, held: &Automerge, doc: &Automerge, signer: &Signer) {
    let before = held.get_heads();
    let attestations: Vec<_> = doc
        .get_changes_meta(&before)
        .iter()
        .map(|m| signer.sign(&DocumentId(*key), &m.hash.0))
        .collect();
    assert!(!attestations.is_empty(), "precondition: a new change");
    node.store
        .write(|w| {
            w.put_attestations(key, &attestations)?;
            w.save_document(key, DocKind::Dossier, doc, &before)
        })
        .unwrap();
}

/// Wait until `node` has refused something from `peer` for a reason
/// containing `why`; returns the reason.
async fn refusal(net: &LocalNetwork, node: &str, peer: &str, why: &str) -> String {
    support::refusal(net, node, &identity(net, peer).node_id(), why).await
}

fn holds_change(node: &mut Node, key: &DocKey, doc: &Automerge) -> bool {
    let forged = doc.get_heads();
    let (_, held) = node.store.read(|r| r.load_document(key)).unwrap().unwrap();
    forged
        .iter()
        .all(|h| held.get_change_meta_by_hash(h).is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commune_writing_the_districts_approval_is_refused_at_the_district() {
    let dir = tempfile::tempdir().unwrap();
    let net = three_tiers(dir.path()).await;
    let (key, _) = at_the_district(&net).await;

    // The compromised commune writes, under its own actor and key, an
    // approval in the district's name: its own store signs it.
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let actor = c.actor();
    let (held, forged) = with_event(&mut c, &key, actor, &approval_claiming(DISTRICT));
    c.store
        .write(|w| w.save_document(&key, DocKind::Dossier, &forged, &held.get_heads()))
        .unwrap();
    let signed = c
        .store
        .read(|r| r.attestations(&key, &forged.get_heads()))
        .unwrap();
    assert_eq!(
        signed.len(),
        1,
        "precondition: the commune signed its change"
    );

    let reason = refusal(
        &net,
        DISTRICT,
        COMMUNE,
        "writes events only for the offices it serves",
    )
    .await;
    assert!(
        reason.contains("Nothing of this message was stored"),
        "{reason}"
    );
    let mut d = net.open(&office(DISTRICT)).unwrap();
    assert!(
        !holds_change(&mut d, &key, &forged),
        "the district stored the forged approval"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgery_injected_past_the_district_is_refused_at_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let net = three_tiers(dir.path()).await;
    let key = at_the_province(&net).await;

    // The commune's key signs an approval in the district's name, and the
    // district stores it (as if its own admission had failed): it relays it.
    let commune_actor = actor_of(&net, COMMUNE);
    let commune_key = signer(&net, COMMUNE);
    let mut d = net.open(&office(DISTRICT)).unwrap();
    let (held, forged) = with_event(&mut d, &key, commune_actor, &approval_claiming(DISTRICT));
    store_signed(&mut d, &key, &held, &forged, &commune_key);
    assert!(
        holds_change(&mut d, &key, &forged),
        "precondition: the district holds it"
    );

    let reason = refusal(
        &net,
        PROVINCE,
        DISTRICT,
        "writes events only for the offices it serves",
    )
    .await;
    assert!(reason.contains(DISTRICT), "{reason}");
    let mut p = net.open(&office(PROVINCE)).unwrap();
    assert!(
        !holds_change(&mut p, &key, &forged),
        "the province stored the forged approval"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_writing_under_a_communes_actor_is_refused_at_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let net = three_tiers(dir.path()).await;
    let key = at_the_province(&net).await;

    // The district writes a commune event under the commune's actor, and
    // signs it with the only key it has: its own.
    let commune_actor = actor_of(&net, COMMUNE);
    let district_key = signer(&net, DISTRICT);
    let mut d = net.open(&office(DISTRICT)).unwrap();
    let note = Event {
        id: EventId("forged-note".into()),
        at: at(4, 9, 0),
        office: office(COMMUNE),
        officer: "Kẻ mạo danh".into(),
        action: Action::Note {
            text: "hồ sơ đã rút".into(),
        },
    };
    let (held, forged) = with_event(&mut d, &key, commune_actor, &note);
    store_signed(&mut d, &key, &held, &forged, &district_key);

    let reason = refusal(
        &net,
        PROVINCE,
        DISTRICT,
        "a node writes only under its own actor",
    )
    .await;
    assert!(
        reason.contains("Nothing of this message was stored"),
        "{reason}"
    );
    let mut p = net.open(&office(PROVINCE)).unwrap();
    assert!(
        !holds_change(&mut p, &key, &forged),
        "the province stored the forged note"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_document_authored_by_a_district_is_refused_by_the_commune() {
    let dir = tempfile::tempdir().unwrap();
    let net = three_tiers(dir.path()).await;
    let file = ConfigFile::Network;
    net.wait_until(
        &office(COMMUNE),
        "the province's network document",
        WAIT,
        |n| {
            n.store
                .read(|r| r.load_document(&file.key()))
                .unwrap()
                .is_some()
        },
    )
    .await
    .unwrap();

    // The district rewrites the network document (still a valid file), in
    // its own name: its store signs the change with its key.
    let mut d = net.open(&office(DISTRICT)).unwrap();
    let (_, held) = d
        .store
        .read(|r| r.load_document(&file.key()))
        .unwrap()
        .unwrap();
    let text = config_docs::text_of(&held).unwrap();
    let mut doc = held.fork();
    doc.set_actor(d.actor());
    let mut tx = doc.transaction();
    tx.put(ROOT, "text", format!("{text}\n# sửa bởi huyện\n"))
        .unwrap();
    tx.commit();
    d.store
        .write(|w| w.save_document(&file.key(), DocKind::Config, &doc, &held.get_heads()))
        .unwrap();

    let reason = refusal(
        &net,
        COMMUNE,
        DISTRICT,
        "accepted only from the province's node",
    )
    .await;
    assert!(reason.contains("network"), "{reason}");
    let mut c = net.open(&office(COMMUNE)).unwrap();
    let (_, at_commune) = c
        .store
        .read(|r| r.load_document(&file.key()))
        .unwrap()
        .unwrap();
    assert!(
        !config_docs::text_of(&at_commune)
            .unwrap()
            .contains("sửa bởi huyện"),
        "the commune took the district's network document"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_the_province_with_its_authors_verified_signature() {
    use lienthong::replication::authorship::attested::Directory;
    use lienthong::replication::authorship::authors::{EventAuthor, event_authors};
    let dir = tempfile::tempdir().unwrap();
    let net = three_tiers(dir.path()).await;
    let key = at_the_province(&net).await;
    let mut p = net.open(&office(PROVINCE)).unwrap();
    let directory = Directory::new(
        &p.network,
        (*p.node_id().as_bytes(), p.office().clone()),
        &lienthong::replication::peer_offices(&p.config),
    );
    assert!(
        directory.is_complete(),
        "precondition: the network file names the nodes"
    );
    let (_, doc) = p.store.read(|r| r.load_document(&key)).unwrap().unwrap();
    let authors = p
        .store
        .read(|r| event_authors(r, &key, &doc, &directory))
        .unwrap();
    let by = |id: &str| EventAuthor::Signed {
        node: identity(&net, id).node_id().to_string(),
        office: Some(office(id)),
    };
    // Written at the commune — relayed by the district with the commune's
    // own attestations — and at the district: each event by its office's node.
    let dossier = schema::read(&doc).unwrap();
    let expected: Vec<EventAuthor> = dossier
        .valid_events()
        .map(|event| by(event.office.as_str()))
        .collect();
    assert!(
        expected.contains(&by(COMMUNE)) && expected.contains(&by(DISTRICT)),
        "precondition: events of both offices"
    );
    assert_eq!(
        authors, expected,
        "the province holds every change with its author's attestation"
    );
}
