//! The sync session on its own: two in-memory stores, frames passed by hand.
//! No sockets, no clock, no sleeps: every test is deterministic.

use std::collections::{HashSet, VecDeque};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::memory::{MemoryStore, RefuseList};
use lienthong_sync::protocol::{
    Admission, AdmitAll, Session, SessionConfig, SessionEvent, SessionStats, SyncStore,
};
use proptest::prelude::*;

const A: [u8; 32] = [0xA; 32];
const B: [u8; 32] = [0xB; 32];

fn doc_id(i: u32) -> DocumentId {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&i.to_be_bytes());
    DocumentId(id)
}

/// A dossier-like document built with several changes.
fn make_doc(i: u32, actor: u8) -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(&[actor, (i % 251) as u8, 1, 2][..]));
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "code", format!("H49.10-260105-{i:04}"))?;
        tx.put(ROOT, "applicant", "Nguyễn Văn An")?;
        let events = tx.put_object(ROOT, "events", ObjType::List)?;
        let e = tx.insert_object(&events, 0, ObjType::Map)?;
        tx.put(&e, "kind", "received")?;
        Ok(())
    })
    .unwrap();
    for k in 0..3 {
        append(&mut doc, &format!("event {k} của hồ sơ {i}"));
    }
    doc
}

fn append(doc: &mut Automerge, note: &str) {
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        let events = match tx.get(ROOT, "events")? {
            Some((_, id)) => id,
            None => tx.put_object(ROOT, "events", ObjType::List)?,
        };
        let len = tx.length(&events);
        let e = tx.insert_object(&events, len, ObjType::Map)?;
        tx.put(&e, "kind", "note")?;
        tx.put(&e, "note", note)?;
        Ok(())
    })
    .unwrap();
}

fn store_with(n: u32, actor: u8) -> MemoryStore {
    let mut store = MemoryStore::new();
    for i in 0..n {
        store.put(doc_id(i), make_doc(i, actor));
    }
    store
}

struct Outcome {
    a: SessionStats,
    b: SessionStats,
    synced: bool,
    max_in_flight_a: usize,
}

/// Run one session between the two stores until both are synced, the
/// conversation stops, or `cut_after` frames have been delivered (the link
/// drops: undelivered frames are lost).
fn run(
    a: &mut MemoryStore,
    b: &mut MemoryStore,
    config: SessionConfig,
    cut_after: Option<usize>,
    admit_b: &mut impl Admission,
) -> Outcome {
    run_between(a, A, b, B, config, cut_after, admit_b)
}

/// One session between stores `a` (peer id `a_id`) and `b`; see `run`.
fn run_between(
    a: &mut MemoryStore,
    a_id: [u8; 32],
    b: &mut MemoryStore,
    b_id: [u8; 32],
    config: SessionConfig,
    cut_after: Option<usize>,
    admit_b: &mut impl Admission,
) -> Outcome {
    let mut sa = Session::new(b_id, config.clone(), a).unwrap();
    let mut sb = Session::new(a_id, config, b).unwrap();
    let mut a_to_b: VecDeque<Vec<u8>> = VecDeque::new();
    let mut b_to_a: VecDeque<Vec<u8>> = VecDeque::new();
    let mut delivered = 0usize;
    let mut max_in_flight_a = 0;
    for _round in 0..100_000 {
        while let Some(f) = sa.poll_transmit() {
            a_to_b.push_back(f);
        }
        while let Some(f) = sb.poll_transmit() {
            b_to_a.push_back(f);
        }
        max_in_flight_a = max_in_flight_a.max(sa.in_flight());
        if a_to_b.is_empty() && b_to_a.is_empty() {
            // Both idle: commit, then see whether that produced acks.
            sa.flush(a).unwrap();
            sb.flush(b).unwrap();
            sa.pump(a).unwrap();
            sb.pump(b).unwrap();
            while let Some(f) = sa.poll_transmit() {
                a_to_b.push_back(f);
            }
            while let Some(f) = sb.poll_transmit() {
                b_to_a.push_back(f);
            }
            if a_to_b.is_empty() && b_to_a.is_empty() {
                break;
            }
        }
        // Deliver everything queued each way (pipelined), one side then the other.
        while let Some(frame) = a_to_b.pop_front() {
            if cut_after.is_some_and(|n| delivered >= n) {
                return Outcome {
                    a: sa.stats(),
                    b: sb.stats(),
                    synced: false,
                    max_in_flight_a,
                };
            }
            delivered += 1;
            sb.handle(&frame, b, admit_b).unwrap();
        }
        sb.flush(b).unwrap();
        while let Some(frame) = b_to_a.pop_front() {
            if cut_after.is_some_and(|n| delivered >= n) {
                return Outcome {
                    a: sa.stats(),
                    b: sb.stats(),
                    synced: false,
                    max_in_flight_a,
                };
            }
            delivered += 1;
            sa.handle(&frame, a, &mut AdmitAll).unwrap();
        }
        sa.flush(a).unwrap();
    }
    Outcome {
        synced: sa.is_synced() && sb.is_synced(),
        a: sa.stats(),
        b: sb.stats(),
        max_in_flight_a,
    }
}

fn same_documents(a: &MemoryStore, b: &MemoryStore) -> bool {
    a.len() == b.len()
        && a.documents().all(|(id, doc)| {
            b.get(id)
                .is_some_and(|other| other.get_heads() == doc.get_heads())
        })
}

#[test]
fn initial_sync_moves_every_document_in_few_turns() {
    let mut a = store_with(300, 1);
    let mut b = MemoryStore::new();
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert!(same_documents(&a, &b));
    assert_eq!(outcome.a.offered, 300);
    // Pipelined: the number of turns does not grow with the number of documents.
    assert!(outcome.b.turns <= 4, "{:?}", outcome.b);
    assert_eq!(b.checkpoint(&A).incoming, 300);
    assert_eq!(a.checkpoint(&B).outgoing, 300);
}

#[test]
fn idle_reconnect_costs_a_constant_few_frames() {
    let mut sizes = Vec::new();
    for n in [10, 200] {
        let mut a = store_with(n, 1);
        let mut b = MemoryStore::new();
        assert!(
            run(
                &mut a,
                &mut b,
                SessionConfig::default(),
                None,
                &mut AdmitAll
            )
            .synced
        );
        let idle = run(
            &mut a,
            &mut b,
            SessionConfig::default(),
            None,
            &mut AdmitAll,
        );
        assert!(idle.synced);
        assert_eq!(idle.a.offered + idle.b.offered, 0);
        let bytes = idle.a.bytes_sent + idle.b.bytes_sent;
        assert!(
            idle.a.frames_sent <= 2 && idle.b.frames_sent <= 2,
            "{:?} {:?}",
            idle.a,
            idle.b
        );
        assert!(idle.a.turns <= 1 && idle.b.turns <= 1);
        sizes.push(bytes);
    }
    // Same cost at 10 and 200 documents (only the varint of the sequence grows).
    assert!(sizes[1] <= sizes[0] + 4, "{sizes:?}");
    assert!(sizes[1] < 64, "{sizes:?}");
}

#[test]
fn incremental_sync_sends_only_new_changes() {
    let mut a = store_with(200, 1);
    let mut b = MemoryStore::new();
    assert!(
        run(
            &mut a,
            &mut b,
            SessionConfig::default(),
            None,
            &mut AdmitAll
        )
        .synced
    );
    let mut new_change_bytes = 0;
    for i in (0..200).step_by(20) {
        let mut doc = a.get(&doc_id(i)).unwrap().clone();
        let heads = doc.get_heads();
        append(
            &mut doc,
            "Đã nhắn tin thông báo cho công dân đến nhận kết quả tại một cửa.",
        );
        new_change_bytes += doc
            .get_changes(&heads)
            .iter()
            .map(|c| c.raw_bytes().len())
            .sum::<usize>();
        a.put(doc_id(i), doc);
    }
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert!(same_documents(&a, &b));
    assert_eq!(outcome.a.offered, 10);
    // B's echo of what it just received is suppressed, not re-sent.
    assert_eq!(outcome.b.offered, 0);
    let bytes = (outcome.a.bytes_sent + outcome.b.bytes_sent) as usize;
    assert!(
        bytes < new_change_bytes * 2,
        "{bytes} bytes on the wire for {new_change_bytes} bytes of changes"
    );
}

#[test]
fn concurrent_edits_on_both_sides_converge() {
    let mut a = store_with(50, 1);
    let mut b = MemoryStore::new();
    assert!(
        run(
            &mut a,
            &mut b,
            SessionConfig::default(),
            None,
            &mut AdmitAll
        )
        .synced
    );
    for i in 0..50 {
        if i % 2 == 0 {
            let mut doc = a.get(&doc_id(i)).unwrap().clone();
            append(&mut doc, "ở xã");
            a.put(doc_id(i), doc);
        }
        if i % 3 == 0 {
            let mut doc = b
                .get(&doc_id(i))
                .unwrap()
                .fork()
                .with_actor(ActorId::from(&[9u8, i as u8][..]));
            append(&mut doc, "ở huyện");
            b.put(doc_id(i), doc);
        }
    }
    b.put(doc_id(1000), make_doc(1000, 2));
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert!(same_documents(&a, &b));
    assert_eq!(a.len(), 51);
}

#[test]
fn a_dropped_link_resumes_from_the_checkpoint() {
    let config = SessionConfig {
        batch_docs: 16,
        ..SessionConfig::default()
    };
    let mut a = store_with(200, 1);
    let mut b = MemoryStore::new();
    let first = run(&mut a, &mut b, config.clone(), Some(120), &mut AdmitAll);
    assert!(!first.synced);
    let checkpoint = b.checkpoint(&A).incoming;
    assert!(checkpoint >= 96, "checkpoint {checkpoint} after 120 frames");
    let durable = b.len();
    let second = run(&mut a, &mut b, config, None, &mut AdmitAll);
    assert!(second.synced);
    assert!(same_documents(&a, &b));
    // Only what was not durable is offered again: not from zero.
    assert_eq!(second.a.offered as usize, 200 - checkpoint as usize);
    assert!(second.a.offered as usize <= 200 - durable + 16);
}

#[test]
fn the_window_bounds_documents_in_flight() {
    let config = SessionConfig {
        window_docs: 8,
        batch_docs: 4,
        ..SessionConfig::default()
    };
    let mut a = store_with(100, 1);
    let mut b = MemoryStore::new();
    let outcome = run(&mut a, &mut b, config, None, &mut AdmitAll);
    assert!(outcome.synced);
    assert!(same_documents(&a, &b));
    assert!(outcome.max_in_flight_a <= 8, "{}", outcome.max_in_flight_a);
}

#[test]
fn scope_keeps_documents_from_peers_outside_it() {
    let mut a = store_with(20, 1);
    a.restrict(B, (0..10).map(doc_id));
    let mut b = MemoryStore::new();
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert_eq!(b.len(), 10);
    assert!((10..20).all(|i| b.get(&doc_id(i)).is_none()));
    // The checkpoint moves past the out-of-scope entries all the same.
    assert_eq!(b.checkpoint(&A).incoming, 20);
}

#[test]
fn a_refused_document_is_not_stored_and_not_counted_as_held() {
    let mut a = store_with(10, 1);
    let mut b = MemoryStore::new();
    let mut refuse = RefuseList([doc_id(3)].into_iter().collect());
    let outcome = run(&mut a, &mut b, SessionConfig::default(), None, &mut refuse);
    assert!(outcome.synced);
    assert_eq!(b.len(), 9);
    assert!(b.get(&doc_id(3)).is_none());
    assert_eq!(outcome.b.refused, 1);
    // A does not believe B holds it (the acknowledgement that covered the
    // refused offer does not count as holding: otherwise, once the reason
    // for refusing is gone, it would be skipped as an echo forever).
    assert!(
        a.peer_heads(&B, &doc_id(3)).unwrap().is_empty(),
        "a refused document recorded as held by the peer"
    );
    assert!(!a.peer_heads(&B, &doc_id(4)).unwrap().is_empty());
    // With admission lifted, it is offered again on change.
    let mut doc = a.get(&doc_id(3)).unwrap().clone();
    append(&mut doc, "x");
    a.put(doc_id(3), doc);
    let again = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(again.synced);
    assert!(b.get(&doc_id(3)).is_some());
}

#[test]
fn a_peer_that_lost_its_data_is_repaired_by_automerge_sync() {
    let mut a = store_with(30, 1);
    let mut b = MemoryStore::new();
    assert!(
        run(
            &mut a,
            &mut b,
            SessionConfig::default(),
            None,
            &mut AdmitAll
        )
        .synced
    );
    // B loses everything (restored from an empty backup) but A still
    // believes B holds its documents. A's next offers carry only new changes.
    let mut b = MemoryStore::new();
    for i in 0..30 {
        let mut doc = a.get(&doc_id(i)).unwrap().clone();
        append(&mut doc, "sau khi mất dữ liệu");
        a.put(doc_id(i), doc);
    }
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert!(same_documents(&a, &b));
    // Each document needed B's reply (`need`) and A's continuation.
    assert!(outcome.b.frames_sent >= 30, "{:?}", outcome.b);
}

#[test]
fn garbage_from_the_peer_closes_the_session_without_touching_the_store() {
    let mut b = store_with(5, 2);
    let before: Vec<_> = (0..5)
        .map(|i| b.get(&doc_id(i)).unwrap().get_heads())
        .collect();
    for garbage in [vec![], vec![0xff], vec![2, 1], vec![1, 0x80, 0x80, 0x80]] {
        let mut session = Session::new(A, SessionConfig::default(), &mut b).unwrap();
        while session.poll_transmit().is_some() {}
        assert!(session.handle(&garbage, &mut b, &mut AdmitAll).is_err());
        assert!(session.is_closed());
        // An error frame is queued for the peer.
        let reply = session.poll_transmit().unwrap();
        assert_eq!(reply[0], 8, "error frame");
    }
    let after: Vec<_> = (0..5)
        .map(|i| b.get(&doc_id(i)).unwrap().get_heads())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn a_bad_sync_message_refuses_that_document_only() {
    use lienthong_sync::protocol::Frame;
    let mut b = MemoryStore::new();
    let mut session = Session::new(A, SessionConfig::default(), &mut b).unwrap();
    while session.poll_transmit().is_some() {}
    let hello = Frame::Hello {
        version: lienthong_sync::protocol::PROTOCOL_VERSION,
        since: 0,
        last_seq: 2,
        window_docs: 10,
        window_bytes: 1 << 20,
    };
    session
        .handle(&hello.encode(), &mut b, &mut AdmitAll)
        .unwrap();
    let bad = Frame::Offer {
        seq: 1,
        doc: doc_id(1),
        message: vec![0x43, 1, 2, 3],
    };
    session
        .handle(&bad.encode(), &mut b, &mut AdmitAll)
        .unwrap();
    let good_doc = make_doc(2, 1);
    let good = Frame::Offer {
        seq: 2,
        doc: doc_id(2),
        message: {
            let mut state = automerge::sync::State::new();
            state.their_heads = Some(vec![]);
            state.their_have = Some(vec![]);
            state.their_need = Some(vec![]);
            state.their_capabilities = Some(vec![automerge::sync::Capability::MessageV2]);
            use automerge::sync::SyncDoc;
            good_doc.generate_sync_message(&mut state).unwrap().encode()
        },
    };
    session
        .handle(&good.encode(), &mut b, &mut AdmitAll)
        .unwrap();
    session
        .handle(&Frame::Through { seq: 2 }.encode(), &mut b, &mut AdmitAll)
        .unwrap();
    assert!(!session.is_closed());
    assert!(b.get(&doc_id(1)).is_none());
    assert_eq!(b.get(&doc_id(2)).unwrap().get_heads(), good_doc.get_heads());
    assert_eq!(b.checkpoint(&A).incoming, 2);
}

#[test]
fn a_peer_claiming_more_of_our_feed_than_exists_is_served_from_the_start() {
    use lienthong_sync::protocol::Frame;
    let mut a = store_with(3, 1);
    let mut session = Session::new(B, SessionConfig::default(), &mut a).unwrap();
    let hello = Frame::Hello {
        version: lienthong_sync::protocol::PROTOCOL_VERSION,
        since: 99,
        last_seq: 0,
        window_docs: 10,
        window_bytes: 1 << 20,
    };
    session
        .handle(&hello.encode(), &mut a, &mut AdmitAll)
        .unwrap();
    let mut offers = 0;
    while let Some(frame) = session.poll_transmit() {
        if frame[0] == 2 {
            offers += 1;
        }
    }
    assert_eq!(offers, 3);
    assert_eq!(
        session.poll_event(),
        Some(lienthong_sync::protocol::SessionEvent::FeedReset { ours: true })
    );
}

fn apply_edits(store: &mut MemoryStore, actor: u8, edits: &[(u8, bool)]) {
    for (k, (target, create)) in edits.iter().enumerate() {
        let id = doc_id(u32::from(*target % 12));
        let doc = match store.get(&id) {
            Some(doc) => {
                let mut doc = doc
                    .fork()
                    .with_actor(ActorId::from(&[actor, k as u8, *target][..]));
                append(&mut doc, &format!("{actor}/{k}"));
                doc
            }
            None if *create => make_doc(u32::from(*target % 12) + 100 * u32::from(actor), actor),
            None => continue,
        };
        store.put(id, doc);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
    ))]

    /// Three replicas (commune – district – province in a line) edit at
    /// random, links drop at random points, sessions run in a random order;
    /// once every link has run to completion, all hold identical documents.
    #[test]
    fn replicas_converge_whatever_the_drops(
        edits in proptest::collection::vec(proptest::collection::vec((any::<u8>(), any::<bool>()), 0..6), 3),
        cuts in proptest::collection::vec(proptest::option::of(0usize..40), 6),
        batch in 1usize..8,
    ) {
        let config = SessionConfig { batch_docs: batch, window_docs: 6, ..SessionConfig::default() };
        let mut stores = [MemoryStore::new(), MemoryStore::new(), MemoryStore::new()];
        for (i, store) in stores.iter_mut().enumerate() {
            apply_edits(store, i as u8 + 1, &edits[i]);
        }
        let ids: [[u8; 32]; 3] = [[1; 32], [2; 32], [3; 32]];
        let links = [(0usize, 1usize), (1, 2)];
        // Interrupted sessions first.
        for (k, cut) in cuts.iter().enumerate() {
            let (x, y) = links[k % 2];
            let (left, right) = stores.split_at_mut(y);
            let (sx, sy) = (&mut left[x], &mut right[0]);
            run_between(sx, ids[x], sy, ids[y], config.clone(), *cut, &mut AdmitAll);
        }
        // Then each link to completion, twice around (relay needs two hops).
        for _ in 0..2 {
            for (x, y) in links {
                let (left, right) = stores.split_at_mut(y);
                let synced = run_between(&mut left[x], ids[x], &mut right[0], ids[y], config.clone(), None, &mut AdmitAll).synced;
                prop_assert!(synced);
            }
        }
        prop_assert!(same_documents(&stores[0], &stores[1]));
        prop_assert!(same_documents(&stores[1], &stores[2]));
        let all: HashSet<DocumentId> = stores.iter().flat_map(|s| s.documents().map(|(id, _)| *id)).collect();
        prop_assert_eq!(all.len(), stores[0].len());
    }
}

#[test]
fn documents_read_back_identical() {
    let mut a = store_with(5, 1);
    let mut b = MemoryStore::new();
    assert!(
        run(
            &mut a,
            &mut b,
            SessionConfig::default(),
            None,
            &mut AdmitAll
        )
        .synced
    );
    let doc = b.get(&doc_id(4)).unwrap();
    let (value, _) = doc.get(ROOT, "applicant").unwrap().unwrap();
    assert_eq!(value.as_str(), Some("Nguyễn Văn An"));
}

fn blob_content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32 * 31 + u32::from(seed)) as u8 ^ (i / 7) as u8)
        .collect()
}

#[test]
fn a_blob_travels_in_verified_chunks() {
    let mut a = MemoryStore::new();
    let content = blob_content(1_000_000, 1);
    let (hash, root) = a.add_blob(&content);
    let mut b = MemoryStore::new();
    b.want_blob(hash, content.len() as u64, root);
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert_eq!(b.blob(&hash), Some(content.as_slice()));
    assert_eq!(outcome.b.blobs_received, 1);
    assert_eq!(outcome.b.blob_bytes_received, content.len() as u64);
    // Each chunk sent once.
    assert_eq!(a.chunks_served[&hash], 16);
}

#[test]
fn a_cut_blob_transfer_resumes_from_the_chunks_already_stored() {
    let mut a = MemoryStore::new();
    let content = blob_content(3_000_000, 2);
    let (hash, root) = a.add_blob(&content);
    let mut b = MemoryStore::new();
    b.want_blob(hash, content.len() as u64, root);
    let first = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        Some(25),
        &mut AdmitAll,
    );
    assert!(!first.synced);
    let held = b.partial_chunks(&hash);
    assert!(held > 0, "some chunks stored before the cut");
    let served_before = a.chunks_served[&hash];
    let second = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(second.synced);
    assert_eq!(b.blob(&hash), Some(content.as_slice()));
    let total = content.len().div_ceil(65_536);
    let served_after = a.chunks_served[&hash] - served_before;
    // Only what was missing is sent again (not from zero).
    assert_eq!(served_after, total - held, "held {held} of {total}");
}

#[test]
fn a_corrupt_chunk_is_fetched_again() {
    let mut a = MemoryStore::new();
    let content = blob_content(500_000, 3);
    let (hash, root) = a.add_blob(&content);
    a.corrupt_chunk = Some((hash, 3, 1));
    let mut b = MemoryStore::new();
    b.want_blob(hash, content.len() as u64, root);
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert_eq!(b.blob(&hash), Some(content.as_slice()));
    assert_eq!(outcome.b.blob_chunks_refetched, 1);
    assert_eq!(a.chunks_served[&hash], content.len().div_ceil(65_536) + 1);
}

#[test]
fn a_blob_the_peer_lacks_is_not_waited_for() {
    let mut a = MemoryStore::new();
    let mut b = MemoryStore::new();
    b.want_blob([7; 32], 1000, [8; 32]);
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert!(b.blob(&[7; 32]).is_none());
}

#[test]
fn a_manifest_that_does_not_match_the_reference_is_refused() {
    let mut a = MemoryStore::new();
    let content = blob_content(200_000, 4);
    let (hash, _) = a.add_blob(&content);
    let mut b = MemoryStore::new();
    b.want_blob(hash, content.len() as u64, [9; 32]);
    let outcome = run(
        &mut a,
        &mut b,
        SessionConfig::default(),
        None,
        &mut AdmitAll,
    );
    assert!(outcome.synced);
    assert!(b.blob(&hash).is_none());
    assert_eq!(b.partial_chunks(&hash), 0);
}

/// Deliver frames both ways until neither session has anything to say.
fn exchange(sa: &mut Session, a: &mut MemoryStore, sb: &mut Session, b: &mut MemoryStore) {
    for _round in 0..100_000 {
        sa.flush(a).unwrap();
        sb.flush(b).unwrap();
        sa.pump(a).unwrap();
        sb.pump(b).unwrap();
        let a_to_b: Vec<Vec<u8>> = std::iter::from_fn(|| sa.poll_transmit()).collect();
        let b_to_a: Vec<Vec<u8>> = std::iter::from_fn(|| sb.poll_transmit()).collect();
        if a_to_b.is_empty() && b_to_a.is_empty() {
            return;
        }
        for frame in &a_to_b {
            sb.handle(frame, b, &mut AdmitAll).unwrap();
        }
        for frame in &b_to_a {
            sa.handle(frame, a, &mut AdmitAll).unwrap();
        }
    }
    panic!("the sessions never went quiet");
}

/// A relay asked for a blob it is still fetching (the province asks the
/// district before the district has the commune's scan) answers "missing",
/// then tells the peer once it holds the blob, in the same session; the
/// peer asks again and completes.
#[test]
fn a_relay_tells_the_peer_when_an_owed_blob_arrives() {
    let content = blob_content(300_000, 5);
    let mut staging = MemoryStore::new();
    let (hash, root) = staging.add_blob(&content);
    let mut relay = MemoryStore::new();
    let mut asker = MemoryStore::new();
    asker.want_blob(hash, content.len() as u64, root);
    let mut s_relay = Session::new(B, SessionConfig::default(), &mut relay).unwrap();
    let mut s_asker = Session::new(A, SessionConfig::default(), &mut asker).unwrap();
    exchange(&mut s_relay, &mut relay, &mut s_asker, &mut asker);
    assert!(
        asker.blob(&hash).is_none(),
        "the relay had nothing to send yet"
    );

    // The relay's own fetch completes (here: the blob lands in its store).
    relay.add_blob(&content);
    exchange(&mut s_relay, &mut relay, &mut s_asker, &mut asker);
    assert_eq!(asker.blob(&hash), Some(content.as_slice()));
    assert_eq!(relay.chunks_served[&hash], content.len().div_ceil(65_536));
}

/// A peer whose copy of a chunk stays damaged (it does not notice) is asked
/// a few times, then given up on for the session with an event saying why —
/// never asked forever; nothing damaged is stored.
#[test]
fn a_peer_whose_copy_stays_damaged_is_given_up_on() {
    let content = blob_content(400_000, 6);
    let mut a = MemoryStore::new();
    let (hash, root) = a.add_blob(&content);
    a.corrupt_chunk = Some((hash, 2, usize::MAX));
    let mut b = MemoryStore::new();
    b.want_blob(hash, content.len() as u64, root);
    let mut sa = Session::new(B, SessionConfig::default(), &mut a).unwrap();
    let mut sb = Session::new(A, SessionConfig::default(), &mut b).unwrap();
    exchange(&mut sa, &mut a, &mut sb, &mut b);

    assert!(b.blob(&hash).is_none());
    let total = content.len().div_ceil(65_536);
    let served = a.chunks_served[&hash];
    assert!(
        served > total && served <= total + 4,
        "{served} chunks served for {total}: the damaged one asked a few times only"
    );
    let failed: Vec<String> = std::iter::from_fn(|| sb.poll_event())
        .filter_map(|event| match event {
            SessionEvent::BlobFailed { hash: h, reason } if h == hash => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "one BlobFailed event");
    assert!(failed[0].contains("chunk 2"), "{}", failed[0]);
    // The good chunks are kept for a later session with a sound copy.
    assert!(b.partial_chunks(&hash) > 0);
}
