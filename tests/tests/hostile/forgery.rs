//! Issue 8: a compromised commune rewrites a dossier's record — with its
//! own pinned key, over real QUIC — and the district refuses the message
//! whole: the event log only grows and the facts are fixed at receipt
//! (`node/src/replication/authorship/history.rs`, called by admission).
//! Each test fails if that check is removed: the district would store the
//! rewritten record (the store's fingerprint would change).

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc, Value};
use lienthong::node::Node;
use lienthong_sync::DocumentId;
use lienthong_tests::hostile::world::whole_document_message;
use lienthong_tests::hostile::{Ending, Trial, run, unchanged};

/// The seeded dossier as the commune holds it, writing as the commune's
/// node (its actor), as the compromised node would.
fn seeded_at_commune(trial: &Trial) -> Automerge {
    let mut node = Node::open(&trial.world.commune).expect("open the commune's store");
    let actor = node.actor();
    let mut doc = node
        .store
        .read(|r| r.load_document(&trial.world.seed.dossier))
        .expect("read the seeded dossier")
        .expect("precondition: the commune holds the seeded dossier")
        .1;
    doc.set_actor(actor);
    doc
}

fn map(doc: &Automerge, parent: &automerge::ObjId, key: &str) -> automerge::ObjId {
    match doc.get(parent, key).expect("read the document") {
        Some((Value::Object(_), id)) => id,
        other => panic!("precondition: `{key}` is an object, found {other:?}"),
    }
}

/// Send the rewritten dossier and expect the district to refuse it,
/// storing nothing.
async fn refused(trial: Trial, doc: Automerge) {
    let key = trial.world.seed.dossier;
    let mut peer = trial.attacker_after_hello().await;
    let seq = trial.world.seed.commune_feed + 1_000;
    peer.send([
        // Signed with the commune's own key, as the compromised node would:
        // the record's history check is what must refuse it.
        trial.world.commune_attest(&key, &doc),
        lienthong_sync::protocol::Frame::Offer {
            seq,
            doc: DocumentId(key),
            message: whole_document_message(&doc),
        },
        lienthong_sync::protocol::Frame::Through { seq },
    ])
    .await;
    trial
        .verdict(peer, Ending::RefusedOrClosed(DocumentId(key)), unchanged)
        .await;
}

#[test]
fn a_commune_rewriting_the_applicants_name_and_id_number_is_refused() {
    run(async {
        let trial = Trial::start("forgery-facts").await;
        let mut doc = seeded_at_commune(&trial);
        let facts = map(&doc, &ROOT, "facts");
        let applicant = map(&doc, &facts, "applicant");
        let mut tx = doc.transaction();
        tx.put(&applicant, "name", "Kẻ Mạo Danh")
            .expect("rewrite the name");
        tx.put(&applicant, "id_number", "000000000000")
            .expect("rewrite the id number");
        tx.commit();
        refused(trial, doc).await;
    })
}

#[test]
fn a_commune_deleting_an_event_is_refused() {
    run(async {
        let trial = Trial::start("forgery-delete").await;
        let mut doc = seeded_at_commune(&trial);
        let events = map(&doc, &ROOT, "events");
        let count = doc.length(&events);
        assert!(
            count >= 2,
            "precondition: the seeded log has {count} events"
        );
        let mut tx = doc.transaction();
        tx.delete(&events, count - 1)
            .expect("delete the last event");
        tx.commit();
        refused(trial, doc).await;
    })
}

#[test]
fn a_commune_changing_the_officer_on_an_event_is_refused() {
    run(async {
        let trial = Trial::start("forgery-edit").await;
        let mut doc = seeded_at_commune(&trial);
        let events = map(&doc, &ROOT, "events");
        let first = match doc.get(&events, 0).expect("read the log") {
            Some((Value::Object(ObjType::Map), id)) => id,
            other => panic!("precondition: the first event is a map, found {other:?}"),
        };
        let mut tx = doc.transaction();
        tx.put(&first, "officer", "Người khác")
            .expect("rewrite the officer");
        tx.commit();
        refused(trial, doc).await;
    })
}

/// The control: a change that only appends a note (what an honest commune
/// may do) is stored — so the refusals above are for the rewriting, not for
/// any change under the commune's actor.
#[test]
fn a_commune_appending_a_note_is_stored() {
    run(async {
        let trial = Trial::start("forgery-control").await;
        let key = trial.world.seed.dossier;
        let mut doc = seeded_at_commune(&trial);
        let commune: lienthong_shared::OfficeId = lienthong_tests::hostile::world::COMMUNE
            .parse()
            .expect("the commune's id");
        let event = lienthong_shared::dossier::Event {
            id: lienthong_shared::dossier::EventId("ghi-chu-trung-thuc".into()),
            at: chrono::Utc::now(),
            office: commune,
            officer: "Cán bộ xã".into(),
            action: lienthong_shared::dossier::Action::Note {
                text: "Ghi chú".into(),
            },
        };
        let mut tx = doc.transaction();
        lienthong_shared::dossier::schema::append_event(&mut tx, &event).expect("append a note");
        tx.commit();
        let heads = doc.get_heads();
        let mut peer = trial.attacker_after_hello().await;
        let seq = trial.world.seed.commune_feed + 1_000;
        peer.send([
            trial.world.commune_attest(&key, &doc),
            lienthong_sync::protocol::Frame::Offer {
                seq,
                doc: DocumentId(key),
                message: whole_document_message(&doc),
            },
            lienthong_sync::protocol::Frame::Through { seq },
        ])
        .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mut district = Node::open(&trial.world.district).expect("open the district");
            let stored = district
                .store
                .read(|r| r.load_document(&key))
                .expect("read the district's copy")
                .map(|(_, d)| d.get_heads());
            if stored.as_ref() == Some(&heads) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the honest note was not stored at the district within 30 s (heads {stored:?})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        peer.close().await;
    })
}
