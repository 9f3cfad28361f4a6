//! Two nodes' documents merge before any network exists: changes exchanged
//! by hand between the commune's and the district's stores.

use std::path::Path;

use automerge::Automerge;
use chrono::{DateTime, TimeZone, Utc};
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::fold::{self, ConflictReason};
use lienthong_shared::dossier::schema::{self, Applicant};
use lienthong_shared::dossier::{Action, Channel, Status};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn node(root: &Path, name: &str, office: &str) -> Node {
    Node::init(
        &root.join(name),
        &office.parse().unwrap(),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap()
}

/// Merge `changes` (a saved document or changes) into `node`'s copy of
/// `key`, or create it, and index it — as a peer's batch would be.
fn absorb(node: &mut Node, key: &[u8; 16], changes: &[u8]) {
    let existing = node.store.read(|r| r.load_document(key)).unwrap();
    let (mut doc, before) = match existing {
        Some((_, doc)) => {
            let heads = doc.get_heads();
            (doc, heads)
        }
        None => (Automerge::new(), Vec::new()),
    };
    doc.load_incremental(changes).unwrap();
    let dossier = schema::read(&doc).unwrap();
    let Node {
        store,
        network,
        calendar,
        ..
    } = node;
    let ctx = fold::FoldContext {
        calendar,
        rule_sets: &network.rule_sets,
        now: at(20, 9),
    };
    let state = fold::fold(&dossier, &ctx);
    store
        .write(|w| officer::save_dossier(w, key, &doc, &before, &dossier, &state, &network.offices))
        .unwrap();
}

fn document(node: &mut Node, key: &[u8; 16]) -> Automerge {
    node.store
        .read(|r| r.load_document(key))
        .unwrap()
        .unwrap()
        .1
}

#[test]
fn a_commune_and_its_district_merge_concurrent_work_into_one_state() {
    let root = tempfile::tempdir().unwrap();
    let commune_id: OfficeId = "commune:dien-ban/dien-phuong".parse().unwrap();
    let mut commune = node(root.path(), "commune", commune_id.as_str());
    let mut district = node(root.path(), "district", "district:dien-ban");
    let mut sibling = node(root.path(), "sibling", "commune:dien-ban/dien-minh");

    let new = NewDossier {
        procedure: "1.004227".into(),
        applicant: Applicant {
            name: "Nguyễn Văn An".into(),
            ..Applicant::default()
        },
        channel: Channel::Direct,
        result_delivery: Channel::Direct,
        components: Vec::new(),
        submitted_only: false,
    };
    let code = officer::receive(&mut commune, &commune_id, "Hoa", at(2, 9), &new)
        .unwrap()
        .code;
    let forward = Action::Forwarded {
        to: "district:dien-ban".parse().unwrap(),
        task: "Kiểm tra".into(),
        days: 8,
    };
    let key = officer::record(&mut commune, &code, None, "Hoa", at(2, 10), forward)
        .unwrap()
        .key;

    // The district gets the commune's document (as a file, a USB stick…).
    let saved = document(&mut commune, &key).save();
    absorb(&mut district, &key, &saved);
    let district_heads = document(&mut district, &key).get_heads();

    // Concurrently: the district accepts and approves; the commune desk
    // notes a phone call and records the applicant's withdrawal request.
    officer::record(
        &mut district,
        &code,
        None,
        "Bình",
        at(3, 9),
        Action::Accepted,
    )
    .unwrap();
    officer::record(
        &mut district,
        &code,
        None,
        "Bình",
        at(4, 9),
        Action::Approved {
            note: String::new(),
        },
    )
    .unwrap();
    officer::record(
        &mut commune,
        &code,
        None,
        "Hoa",
        at(3, 10),
        Action::Note {
            text: "Công dân gọi hỏi".into(),
        },
    )
    .unwrap();
    // The commune, no longer the holder, "approves" too: kept, but a conflict.
    let wrong = officer::record(
        &mut commune,
        &code,
        None,
        "Hoa",
        at(3, 11),
        Action::Approved {
            note: String::new(),
        },
    );
    assert!(
        wrong.is_err(),
        "the CLI refuses a non-holder's approval up front"
    );
    officer::record(
        &mut commune,
        &code,
        None,
        "Hoa",
        at(3, 15),
        Action::WithdrawalRequested {
            reason: "Công dân xin rút".into(),
        },
    )
    .unwrap();

    // Exchange what each has that the other lacks, both ways.
    let from_commune = document(&mut commune, &key).save_after(&district_heads);
    let from_district = document(&mut district, &key).save_after(&district_heads);
    absorb(&mut district, &key, &from_commune);
    absorb(&mut commune, &key, &from_district);
    let mut a = document(&mut commune, &key).get_heads();
    let mut b = document(&mut district, &key).get_heads();
    a.sort();
    b.sort();
    assert_eq!(a, b, "both hold the same changes");
    assert_eq!(a.len(), 2, "the two offices' concurrent work, merged");

    // Both derive the identical state and index row.
    let row_c = officer::resolve(&mut commune, &code).unwrap();
    let row_d = officer::resolve(&mut district, &code).unwrap();
    assert_eq!(row_c, row_d);
    assert_eq!(row_c.status, Some(Status::WithdrawalRequested));
    assert_eq!(row_c.holder.as_deref(), Some("district:dien-ban"));

    // A change only the commune made while it was not the holder is kept and
    // shown as a conflict on both: append it directly, as a buggy or
    // offline-confused node would.
    let mut doc = document(&mut commune, &key);
    let before = doc.get_heads();
    let mut tx = doc.transaction();
    schema::append_event(
        &mut tx,
        &lienthong_shared::dossier::Event {
            id: officer::new_event_id(),
            at: at(5, 9),
            office: commune_id.clone(),
            officer: "Hoa".into(),
            action: Action::Approved {
                note: String::new(),
            },
        },
    )
    .unwrap();
    tx.commit();
    let change = doc.save_after(&before);
    absorb(&mut commune, &key, &change);
    absorb(&mut district, &key, &change);
    // Both nodes derive the same state, with the same conflicts, and the
    // commune's approval (it was not the holder) is one of them. (Whether
    // the district's approval also conflicts depends on where the merge puts
    // it relative to the concurrent withdrawal request — deterministic, and
    // the same on both nodes.)
    let mut states = Vec::new();
    for node in [&mut commune, &mut district] {
        let doc = document(node, &key);
        let dossier = schema::read(&doc).unwrap();
        let ctx = fold::FoldContext {
            calendar: &node.calendar,
            rule_sets: &node.network.rule_sets,
            now: at(20, 9),
        };
        let state = fold::fold(&dossier, &ctx);
        let rogue = state
            .conflicts
            .iter()
            .find(|c| c.office.as_ref() == Some(&commune_id) && c.kind == "approved")
            .expect("the commune's approval is reported as a conflict");
        assert!(matches!(
            rogue.reason,
            ConflictReason::NotAllowedInStatus { .. } | ConflictReason::NotHolder { .. }
        ));
        assert_eq!(dossier.events.len(), 7, "nothing dropped");
        states.push(state);
    }
    assert_eq!(states[0], states[1]);
    let conflicts = states[0].conflicts.len() as u32;
    assert_eq!(
        officer::resolve(&mut commune, &code).unwrap().conflicts,
        conflicts
    );
    assert_eq!(
        officer::resolve(&mut district, &code).unwrap().conflicts,
        conflicts
    );

    // Scope: the sibling commune is not among the nodes this dossier goes to.
    let scope: Vec<String> = commune
        .store
        .connection()
        .prepare("SELECT node FROM doc_scope WHERE doc_id = ?1 ORDER BY node")
        .unwrap()
        .query_map([&key[..]], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(scope.contains(&"district:dien-ban".to_string()));
    assert!(scope.contains(&"province:quang-nam".to_string()));
    assert!(
        !scope.contains(&"commune:dien-ban/dien-minh".to_string()),
        "{scope:?}"
    );
    assert!(officer::resolve(&mut sibling, &code).is_err());
}
