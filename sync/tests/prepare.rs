//! Frames prepared ahead of the session (`protocol::prepare`, issue 11:
//! offers checked and their whole documents loaded on another thread) are
//! judged exactly as the same bytes handed to `Session::handle`: the same
//! result, the same closing or not, the same events and frames sent, the
//! same documents stored — for honest offers and for hostile ones.

#[path = "support/docs.rs"]
mod docs;
#[path = "support/session.rs"]
mod session;
#[path = "support/wire.rs"]
mod wire;

use automerge::sync::{Message, MessageVersion};
use automerge::{Automerge, ChangeHash};
use docs::{dossier, sorted};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::guard::GuardLimits;
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::{AdmitAll, Frame, Session, SessionConfig};
use session::{PEER, doc_id, hello};
use wire::Msg;

fn whole(doc: &Automerge, heads: Vec<ChangeHash>) -> Vec<u8> {
    Message {
        heads,
        need: vec![],
        have: vec![],
        changes: doc.save_nocompress().into(),
        flags: None,
        version: MessageVersion::V2,
    }
    .encode()
}

fn offer(seq: u64, doc: u8, message: Vec<u8>) -> Vec<u8> {
    Frame::Offer {
        seq,
        doc: doc_id(doc),
        message,
    }
    .encode()
}

/// What a receiving session made of some frames.
#[derive(Debug, PartialEq)]
struct Seen {
    results: Vec<Result<(), String>>,
    closed: bool,
    events: Vec<String>,
    sent: Vec<Vec<u8>>,
    stored: Vec<(DocumentId, Vec<ChangeHash>)>,
}

/// Hand `frames` to a new receiving session over `store`, as bytes or
/// prepared; count the offers whose whole document was loaded ahead.
fn receive(
    frames: &[Vec<u8>],
    config: &SessionConfig,
    mut store: MemoryStore,
    prepared: bool,
) -> (Seen, usize) {
    let mut session = Session::new(PEER, config.clone(), &mut store).unwrap();
    let preparer = session.preparer();
    let mut results = Vec::new();
    let mut loaded = 0;
    for frame in std::iter::once(&hello(10)).chain(frames) {
        let result = if prepared {
            let ready = preparer.prepare(frame);
            loaded += usize::from(ready.loaded());
            session.handle_prepared(ready, &mut store, &mut AdmitAll)
        } else {
            session.handle(frame, &mut store, &mut AdmitAll)
        };
        results.push(result.map_err(|e| e.to_string()));
    }
    if !session.is_closed() {
        session.flush(&mut store).unwrap();
    }
    let events = std::iter::from_fn(|| session.poll_event())
        .map(|e| format!("{e:?}"))
        .collect();
    let sent = std::iter::from_fn(|| session.poll_transmit()).collect();
    let mut stored: Vec<_> = store
        .documents()
        .map(|(id, d)| (*id, sorted(d.get_heads())))
        .collect();
    stored.sort();
    let seen = Seen {
        results,
        closed: session.is_closed(),
        events,
        sent,
        stored,
    };
    (seen, loaded)
}

/// Both ways, compared; returns what was seen and how many were loaded ahead.
fn same_both_ways(
    frames: &[Vec<u8>],
    config: &SessionConfig,
    store: impl Fn() -> MemoryStore,
) -> (Seen, usize) {
    let (plain, none) = receive(frames, config, store(), false);
    assert_eq!(none, 0);
    let (prepared, loaded) = receive(frames, config, store(), true);
    assert_eq!(plain, prepared, "prepared frames judged otherwise");
    (prepared, loaded)
}

#[test]
fn honest_offers_prepared_are_stored_as_they_would_be() {
    let docs: Vec<Automerge> = (1..=5).map(|i| dossier(i, 4 + usize::from(i))).collect();
    let frames: Vec<Vec<u8>> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| offer(i as u64 + 1, i as u8 + 1, whole(d, sorted(d.get_heads()))))
        .collect();
    let (seen, loaded) = same_both_ways(&frames, &SessionConfig::default(), MemoryStore::new);
    assert_eq!(loaded, 5, "precondition: every whole document loaded ahead");
    assert!(seen.results.iter().all(Result::is_ok));
    assert_eq!(seen.stored.len(), 5);
    assert!(
        seen.sent
            .iter()
            .any(|f| matches!(Frame::decode(f, 1 << 24), Ok(Frame::Ack { through: 5 }))),
        "acknowledged once stored"
    );
}

#[test]
fn a_document_held_here_already_is_applied_to_our_copy() {
    // The peer offers the whole document; this node holds an earlier
    // version of it: the load ahead is dropped, the changes merged.
    let full = dossier(3, 9);
    let first = full.get_changes(&[])[0].hash();
    let earlier = full.fork_at(&[first]).unwrap();
    let frames = [offer(1, 3, whole(&full, sorted(full.get_heads())))];
    let (seen, loaded) = same_both_ways(&frames, &SessionConfig::default(), || {
        let mut store = MemoryStore::new();
        store.put(doc_id(3), earlier.clone());
        store
    });
    assert_eq!(loaded, 1, "precondition: it was loaded ahead");
    assert_eq!(seen.stored, vec![(doc_id(3), sorted(full.get_heads()))]);
}

#[test]
fn wrong_heads_over_limits_and_bombs_are_judged_the_same() {
    let doc = dossier(7, 3);
    let other = dossier(8, 2);
    // Heads the document does not have: not taken whole; Automerge's sync
    // goes on with a reply.
    let wrong_heads = offer(1, 1, whole(&doc, sorted(other.get_heads())));
    let (seen, _) = same_both_ways(
        std::slice::from_ref(&wrong_heads),
        &SessionConfig::default(),
        MemoryStore::new,
    );
    assert!(seen.stored.is_empty());

    // Over the guard's op limit: refused alone.
    let small = SessionConfig {
        guard: GuardLimits {
            max_ops: 10,
            ..GuardLimits::default()
        },
        ..SessionConfig::default()
    };
    let over = offer(1, 2, whole(&doc, sorted(doc.get_heads())));
    let (seen, loaded) = same_both_ways(&[over], &small, MemoryStore::new);
    assert_eq!(loaded, 0);
    assert!(!seen.closed && seen.results.iter().all(Result::is_ok));
    assert!(seen.events.iter().any(|e| e.contains("op columns")));

    // Bombs close the session, with the same reason.
    let deflate = Msg {
        v2: true,
        changes: vec![wire::document(
            &[],
            &[],
            &[(wire::ACTOR_COL | wire::DEFLATE, vec![3, 0])],
            &[],
        )],
        ..Msg::default()
    };
    let actor = Msg {
        v2: true,
        changes: vec![wire::document(&[&[0xaa; 16]], &[], &[], &[])],
        ..Msg::default()
    };
    for (says, bomb) in [("DEFLATE", deflate), ("actor without a change", actor)] {
        let (seen, _) = same_both_ways(
            &[offer(1, 4, bomb.encode())],
            &SessionConfig::default(),
            MemoryStore::new,
        );
        assert!(seen.closed, "{says}");
        assert!(
            matches!(seen.results.last(), Some(Err(reason)) if reason.contains(says)),
            "{says}: {:?}",
            seen.results
        );
        assert!(seen.stored.is_empty());
    }
}

/// A document chunk the guard passes and Automerge panics on while loading
/// it (a real document with a few bytes changed, checksum fixed; a fixed
/// search): loaded ahead, on the preparer's thread, it still closes the
/// session with the same reason, and the node goes on.
#[test]
fn a_whole_document_automerge_panics_on_is_judged_the_same() {
    let saved = dossier(2, 12).save_nocompress();
    // The session's own panic is silenced too, until the end of the test.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let chunk =
        wire::chunk_automerge_panics_on(wire::DOCUMENT, &[saved], 0x2545_f491_4f6c_dd1d, 50_000)
            .expect("precondition: the search finds such a chunk");
    let message = Msg {
        v2: true,
        changes: vec![chunk],
        ..Msg::default()
    };
    let (seen, _) = same_both_ways(
        &[offer(1, 5, message.encode())],
        &SessionConfig::default(),
        MemoryStore::new,
    );
    std::panic::set_hook(quiet);
    assert!(seen.closed);
    assert!(
        matches!(seen.results.last(), Some(Err(reason)) if reason.contains("Automerge panicked")),
        "{:?}",
        seen.results
    );
    assert!(seen.stored.is_empty());
}
