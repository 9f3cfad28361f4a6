//! Two nodes' documents merge before any network exists: a dossier's
//! Automerge changes carried by hand between the commune's and the
//! district's stores (as a file on a USB stick would), saved in each store
//! with everything derived from them, as a sync batch would be.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use lienthong::node::Node;
use lienthong::officer::{self, NewDossier};
use lienthong::store::documents::DocKey;
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold::ConflictReason;
use lienthong_shared::dossier::schema::{self, Applicant};
use lienthong_shared::dossier::{Action, AppraisalOutcome, Event, Status, StoredEvent};
use support::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn office(id: &str) -> OfficeId {
    id.parse().unwrap()
}

/// When both nodes judge the dossier.
fn now() -> DateTime<Utc> {
    at(20, 9)
}

fn record(node: &mut Node, code: &str, officer: &str, when: DateTime<Utc>, action: Action) {
    officer::record(node, code, None, officer, when, action).unwrap();
}

/// Everything a node derives from its copy: the state, the index row and
/// the scope rows.
fn derived(
    node: &mut Node,
    key: &DocKey,
) -> (
    lienthong_shared::dossier::fold::DossierState,
    lienthong::store::index::IndexRow,
    Vec<String>,
) {
    let (_, state) = fold_at(node, key, now());
    let row = node
        .store
        .read(|r| r.index_row(key))
        .unwrap()
        .expect("indexed");
    (state, row, scope_rows(node, key))
}

/// The event kinds and offices of the merged log, in order.
fn log(node: &mut Node, key: &DocKey) -> Vec<(String, String)> {
    let (dossier, _) = fold_at(node, key, now());
    dossier
        .events
        .iter()
        .map(|e| match e {
            StoredEvent::Valid(e) => (e.action.kind().as_str().to_string(), e.office.to_string()),
            StoredEvent::Malformed { problem, .. } => ("malformed".into(), problem.clone()),
        })
        .collect()
}

/// The whole story once, with fresh nodes (fresh identities, hence a fresh
/// order for the two offices' concurrent events). Returns whether the
/// commune's concurrent events landed first in the merged log.
fn concurrent_work_merges_into_one_state(round: usize) -> bool {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), "commune", COMMUNE);
    let mut district = node(root.path(), "district", DISTRICT);
    let mut sibling = node(root.path(), "sibling", SIBLING);

    let applicant = Applicant {
        name: "Nguyễn Văn An".into(),
        ..Applicant::default()
    };
    let new = NewDossier::at_the_desk(LAND, applicant);
    let received = officer::receive(&mut commune, &office(COMMUNE), "Hoa", at(2, 9), &new).unwrap();
    let (key, code) = (received.key, received.code);
    let forward = Action::Forwarded {
        to: office(DISTRICT),
        task: "Kiểm tra".into(),
        days: 8,
    };
    record(&mut commune, &code, "Hoa", at(2, 10), forward);

    // The district gets the commune's whole document.
    let whole = document(&mut commune, &key).save();
    assert!(absorb(&mut district, &key, &whole, now()).is_some());
    assert_eq!(
        sorted_heads(&mut district, &key),
        sorted_heads(&mut commune, &key)
    );
    let common = document(&mut district, &key).get_heads();
    // Absorbing the same bytes again changes nothing (idempotent merge).
    let before = fingerprint(district.dir.root());
    assert_eq!(absorb(&mut district, &key, &whole, now()), None);
    assert_unchanged(&before, &fingerprint(district.dir.root()), "re-absorb");

    // Concurrently, offline from each other: the district accepts,
    // appraises and approves; the commune's desk notes a call and records
    // the applicant's request to withdraw.
    record(&mut district, &code, "Bình", at(3, 9), Action::Accepted);
    record(
        &mut district,
        &code,
        "Bình",
        at(3, 14),
        Action::Appraised {
            outcome: AppraisalOutcome::Ok,
            note: "Đủ điều kiện".into(),
        },
    );
    record(
        &mut district,
        &code,
        "Bình",
        at(4, 9),
        Action::Approved {
            note: String::new(),
        },
    );
    record(
        &mut commune,
        &code,
        "Hoa",
        at(3, 10),
        Action::Note {
            text: "Công dân gọi hỏi".into(),
        },
    );
    // The commune is no longer the holder: its node refuses to approve.
    let refused = officer::record(
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
        matches!(refused, Err(officer::ActionError::NotAllowed(_))),
        "{refused:?}"
    );
    // The origin desk may record a withdrawal request whoever holds it.
    record(
        &mut commune,
        &code,
        "Hoa",
        at(3, 15),
        Action::WithdrawalRequested {
            reason: "Công dân xin rút".into(),
        },
    );

    // Exchange what each has that the other lacks, both ways, each saved
    // in one transaction with its index and scope rows.
    let from_commune = document(&mut commune, &key).save_after(&common);
    let from_district = document(&mut district, &key).save_after(&common);
    assert!(absorb(&mut district, &key, &from_commune, now()).is_some());
    assert!(absorb(&mut commune, &key, &from_district, now()).is_some());
    let heads = sorted_heads(&mut commune, &key);
    assert_eq!(heads, sorted_heads(&mut district, &key), "the same changes");
    assert_eq!(heads.len(), 2, "two concurrent branches, merged");

    // Both nodes derive the identical state, index row and scope.
    let (state, row, scope) = derived(&mut commune, &key);
    let at_district = derived(&mut district, &key);
    assert_eq!(
        (&state, &row, &scope),
        (&at_district.0, &at_district.1, &at_district.2),
        "round {round}"
    );
    let merged = log(&mut commune, &key);
    assert_eq!(merged, log(&mut district, &key));
    assert_eq!(merged.len(), 9, "nothing dropped: {merged:?}");
    // received, forwarded and accepted at the commune (its own step), then
    // its forward to the district; the concurrent branches follow.
    let commune_first = merged[4].1 == COMMUNE;
    assert_eq!(
        state.status,
        Some(Status::WithdrawalRequested),
        "{merged:?}"
    );
    assert_eq!(state.holder, Some(office(DISTRICT)));
    assert_eq!(row.status, Some(Status::WithdrawalRequested));
    assert_eq!(row.holder.as_deref(), Some(DISTRICT));
    // The log order (decided by the changes' ids, the same everywhere)
    // decides what the rules make of the concurrent events.
    let conflicts: Vec<(&str, &str)> = state
        .conflicts
        .iter()
        .map(|c| {
            (
                c.kind.as_str(),
                c.office.as_ref().map_or("", |o| o.as_str()),
            )
        })
        .collect();
    if commune_first {
        // …, forwarded, note, withdrawal_requested, accepted, …: the
        // district accepted a dossier whose applicant had asked to withdraw;
        // its appraisal and approval then came in the wrong status.
        assert_eq!(
            conflicts,
            vec![("appraised", DISTRICT), ("approved", DISTRICT)],
            "{merged:?}"
        );
        assert!(state.conflicts.iter().all(|c| matches!(
            c.reason,
            ConflictReason::NotAllowedInStatus {
                status: Some(Status::WithdrawalRequested),
                ..
            }
        )));
        assert!(!state.approved);
    } else {
        // accepted, appraised, approved, then the commune's note and the
        // withdrawal request: all within the rules.
        assert_eq!(conflicts, vec![], "{merged:?}");
        assert!(state.approved);
    }
    assert_eq!(row.conflicts as usize, conflicts.len());

    // The commune's node, confused offline, appends an approval though it
    // is not the holder (bypassing the checks, as a buggy node could): it is
    // kept on both nodes and shown as a conflict on both.
    let mut doc = document(&mut commune, &key);
    let before = doc.get_heads();
    let mut tx = doc.transaction();
    schema::append_event(
        &mut tx,
        &Event {
            id: officer::new_event_id(),
            at: at(5, 9),
            office: office(COMMUNE),
            officer: "Hoa".into(),
            action: Action::Approved {
                note: String::new(),
            },
        },
    )
    .unwrap();
    tx.commit();
    let change = doc.save_after(&before);
    absorb(&mut commune, &key, &change, now()).unwrap();
    absorb(&mut district, &key, &change, now()).unwrap();
    let (state, row, scope) = derived(&mut commune, &key);
    let (state_d, row_d, scope_d) = derived(&mut district, &key);
    assert_eq!((&state, &row, &scope), (&state_d, &row_d, &scope_d));
    let rogue = state.conflicts.last().unwrap();
    assert_eq!(
        (rogue.kind.as_str(), rogue.office.as_ref()),
        ("approved", Some(&office(COMMUNE)))
    );
    assert!(
        matches!(
            rogue.reason,
            ConflictReason::NotAllowedInStatus { .. } | ConflictReason::NotHolder { .. }
        ),
        "{:?}",
        rogue.reason
    );
    assert_eq!(row.conflicts as usize, conflicts.len() + 1);
    assert_eq!(log(&mut district, &key).len(), 10);

    // Scope: the origin, the district on the route, the province above —
    // never the sibling commune.
    assert_eq!(scope, vec![COMMUNE, DISTRICT, PROVINCE]);
    assert!(!scope.contains(&SIBLING.to_string()));
    assert!(officer::resolve(&mut sibling, &code).is_err());

    // Both stores are sound.
    check_store(commune.dir.root());
    check_store(district.dir.root());
    commune_first
}

#[test]
fn a_commune_and_its_district_merge_concurrent_work_into_one_state() {
    // Fresh identities each round: which office's concurrent events land
    // first depends on them, so a few rounds usually see both orders; the
    // assertions hold for either.
    let orders: Vec<bool> = (0..4).map(concurrent_work_merges_into_one_state).collect();
    eprintln!("commune's events first in rounds: {orders:?}");
}

#[test]
fn changes_merge_the_same_whatever_order_they_arrive_in() {
    let root = tempfile::tempdir().unwrap();
    let mut commune = node(root.path(), "commune", COMMUNE);
    let mut district = node(root.path(), "district", DISTRICT);
    let mut province = node(root.path(), "province", PROVINCE);
    let applicant = Applicant {
        name: "Trần Thị Bích".into(),
        ..Applicant::default()
    };
    let new = NewDossier::at_the_desk(LAND, applicant);
    let received = officer::receive(&mut commune, &office(COMMUNE), "Hoa", at(2, 9), &new).unwrap();
    let (key, code) = (received.key, received.code);
    let mut batches: Vec<Vec<u8>> = vec![document(&mut commune, &key).save()];
    let mut heads = document(&mut commune, &key).get_heads();
    let mut take = |node: &mut Node, batches: &mut Vec<Vec<u8>>| {
        let doc = document(node, &key);
        batches.push(doc.save_after(&heads));
        heads = doc.get_heads();
    };
    record(
        &mut commune,
        &code,
        "Hoa",
        at(2, 10),
        Action::Forwarded {
            to: office(DISTRICT),
            task: "Kiểm tra".into(),
            days: 8,
        },
    );
    take(&mut commune, &mut batches);
    for batch in &batches {
        absorb(&mut district, &key, batch, now());
    }
    record(&mut district, &code, "Bình", at(3, 9), Action::Accepted);
    take(&mut district, &mut batches);
    record(
        &mut district,
        &code,
        "Bình",
        at(4, 9),
        Action::Forwarded {
            to: office("province:quang-nam/cuc-thue"),
            task: "Xác định nghĩa vụ tài chính".into(),
            days: 5,
        },
    );
    take(&mut district, &mut batches);
    // The province gets the batches newest first, in one delivery (out of
    // order, as over two paths): each change waits for those it depends on.
    let newest_first: Vec<u8> = batches.iter().rev().flatten().copied().collect();
    assert!(absorb(&mut province, &key, &newest_first, now()).is_some());
    // A batch whose predecessors are missing is not stored on its own.
    let mut late = node(root.path(), "late", PROVINCE);
    assert_eq!(
        absorb(&mut late, &key, batches.last().unwrap(), now()),
        None
    );
    assert!(
        late.store
            .read(|r| r.load_document(&key))
            .unwrap()
            .is_none()
    );
    let (state, row, scope) = derived(&mut province, &key);
    assert_eq!(
        state.transfer.as_ref().unwrap().to,
        office("province:quang-nam/cuc-thue")
    );
    assert_eq!(state.holder, Some(office(DISTRICT)));
    let at_district = derived(&mut district, &key);
    assert_eq!(
        (&state, &row, &scope),
        (&at_district.0, &at_district.1, &at_district.2)
    );
    assert_eq!(
        sorted_heads(&mut province, &key),
        sorted_heads(&mut district, &key)
    );
    // The province's node acts for the tax department and accepts.
    record(&mut province, &code, "Cường", at(5, 9), Action::Accepted);
    let (state, ..) = derived(&mut province, &key);
    assert_eq!(state.holder, Some(office("province:quang-nam/cuc-thue")));
    check_store(province.dir.root());
}
