//! The guard where the session meets a peer: bombs close the session,
//! documents over a limit are refused alone, and what this node sends
//! passes a peer's guard.

#[path = "support/docs.rs"]
mod docs;
#[path = "support/session.rs"]
mod session;
#[path = "support/wire.rs"]
mod wire;

use std::collections::VecDeque;

use automerge::sync::Message;
use docs::{dossier, sorted};
use lienthong_sync::protocol::guard::{self, GuardLimits};
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::{
    AdmitAll, Frame, Session, SessionConfig, SessionError, SessionEvent,
};
use session::{PEER, doc_id, hello};
use wire::Msg;

fn limits() -> GuardLimits {
    GuardLimits::default()
}

fn hash(h: &automerge::ChangeHash) -> [u8; 32] {
    h.0
}

#[test]
fn a_bomb_in_an_offer_closes_the_session_with_the_reason() {
    let known = dossier(1, 1).get_heads()[0].0;
    let bombs = [
        (
            "probes",
            Msg {
                heads: vec![wire::hash(1)],
                have: vec![(vec![], wire::bloom(1, 10, u32::MAX as u64, 2))],
                ..Msg::default()
            },
        ),
        (
            "bits per entry",
            Msg {
                have: vec![(vec![], wire::bloom(1, 0, 7, 0))],
                ..Msg::default()
            },
        ),
        (
            "needs",
            Msg {
                have: vec![(vec![], wire::bloom(1, 10, 7, 9))],
                ..Msg::default()
            },
        ),
        (
            "twice",
            Msg {
                need: vec![known, known],
                ..Msg::default()
            },
        ),
        (
            "compressed change chunk",
            Msg {
                changes: vec![wire::chunk(wire::COMPRESSED, &[3, 0])],
                ..Msg::default()
            },
        ),
        (
            "bundle",
            Msg {
                changes: vec![wire::chunk(wire::BUNDLE, &[0])],
                ..Msg::default()
            },
        ),
        (
            "DEFLATE",
            Msg {
                v2: true,
                changes: vec![wire::document(
                    &[],
                    &[],
                    &[(wire::ACTOR_COL | wire::DEFLATE, vec![3, 0])],
                    &[],
                )],
                ..Msg::default()
            },
        ),
        (
            "actor without a change",
            Msg {
                v2: true,
                changes: vec![wire::document(&[&[0xaa; 16]], &[], &[], &[])],
                ..Msg::default()
            },
        ),
    ];
    for (says, bomb) in bombs {
        let mut store = MemoryStore::new();
        let mut session = Session::new(PEER, SessionConfig::default(), &mut store).unwrap();
        session
            .handle(&hello(1), &mut store, &mut AdmitAll)
            .unwrap();
        let offer = Frame::Offer {
            seq: 1,
            doc: doc_id(1),
            message: bomb.encode(),
        }
        .encode();
        let error = session
            .handle(&offer, &mut store, &mut AdmitAll)
            .unwrap_err();
        assert!(
            matches!(&error, SessionError::Protocol(reason) if reason.contains(says)),
            "{says}: {error}"
        );
        assert!(session.is_closed(), "{says}");
        assert!(store.is_empty(), "nothing of the attack is stored");
    }
}

#[test]
fn a_document_over_the_limits_is_refused_and_the_session_goes_on() {
    let mut store = MemoryStore::new();
    let config = SessionConfig {
        guard: GuardLimits {
            max_ops: 10,
            ..limits()
        },
        ..SessionConfig::default()
    };
    let mut session = Session::new(PEER, config, &mut store).unwrap();
    session
        .handle(&hello(1), &mut store, &mut AdmitAll)
        .unwrap();
    let doc = dossier(7, 3);
    let message = Message {
        heads: sorted(doc.get_heads()),
        need: vec![],
        have: vec![],
        changes: doc.save_nocompress().into(),
        flags: None,
        version: automerge::sync::MessageVersion::V2,
    }
    .encode();
    let offer = Frame::Offer {
        seq: 1,
        doc: doc_id(2),
        message,
    }
    .encode();
    session.handle(&offer, &mut store, &mut AdmitAll).unwrap();
    let mut refused = None;
    while let Some(event) = session.poll_event() {
        if let SessionEvent::Refused { reason, .. } = event {
            refused = Some(reason);
        }
    }
    let reason = refused.expect("the document was refused");
    assert!(reason.contains("op columns"), "{reason}");
    assert!(!session.is_closed());
    session.flush(&mut store).unwrap();
    assert!(store.is_empty());
}

#[test]
fn a_duplicate_need_in_a_reply_closes_the_session_instead_of_panicking() {
    let mut store = MemoryStore::new();
    let doc = dossier(8, 3);
    let change = doc.get_changes(&[])[0].hash();
    store.put(doc_id(3), doc);
    let mut session = Session::new(PEER, SessionConfig::default(), &mut store).unwrap();
    session
        .handle(&hello(1), &mut store, &mut AdmitAll)
        .unwrap();
    session.pump(&mut store).unwrap();
    let mut offered = false;
    while let Some(frame) = session.poll_transmit() {
        offered |= matches!(Frame::decode(&frame, 1 << 24), Ok(Frame::Offer { .. }));
    }
    assert!(offered, "precondition: the document was offered");
    let reply = Msg {
        need: vec![hash(&change), hash(&change)],
        ..Msg::default()
    };
    let frame = Frame::Reply {
        doc: doc_id(3),
        message: reply.encode(),
    }
    .encode();
    let error = session
        .handle(&frame, &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(
        matches!(&error, SessionError::Protocol(reason) if reason.contains("twice")),
        "{error}"
    );
}

#[test]
fn a_snapshot_saved_deflated_is_re_saved_before_it_is_offered() {
    let mut a = MemoryStore::new();
    let doc = dossier(9, 200);
    let deflated = doc.save();
    assert!(
        !guard::uncompressed(&deflated),
        "precondition: deflated columns"
    );
    a.put(doc_id(4), doc.clone());
    a.saved.insert(doc_id(4), deflated);
    let mut b = MemoryStore::new();
    let mut sa = Session::new([0xB; 32], SessionConfig::default(), &mut a).unwrap();
    let mut sb = Session::new(PEER, SessionConfig::default(), &mut b).unwrap();
    let mut to_b: VecDeque<Vec<u8>> = VecDeque::new();
    let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
    for _ in 0..50 {
        while let Some(f) = sa.poll_transmit() {
            to_b.push_back(f);
        }
        while let Some(f) = sb.poll_transmit() {
            to_a.push_back(f);
        }
        if to_a.is_empty() && to_b.is_empty() {
            sa.flush(&mut a).unwrap();
            sb.flush(&mut b).unwrap();
            sa.pump(&mut a).unwrap();
            sb.pump(&mut b).unwrap();
            while let Some(f) = sa.poll_transmit() {
                to_b.push_back(f);
            }
            while let Some(f) = sb.poll_transmit() {
                to_a.push_back(f);
            }
            if to_a.is_empty() && to_b.is_empty() {
                break;
            }
        }
        while let Some(f) = to_b.pop_front() {
            sb.handle(&f, &mut b, &mut AdmitAll).unwrap();
        }
        sb.flush(&mut b).unwrap();
        while let Some(f) = to_a.pop_front() {
            sa.handle(&f, &mut a, &mut AdmitAll).unwrap();
        }
    }
    assert_eq!(
        b.get(&doc_id(4)).map(|d| d.get_heads()),
        Some(doc.get_heads()),
        "the peer holds the document"
    );
    assert!(!sb.is_closed());
}

/// A chunk the guard passes but Automerge panics on: a real change with a
/// few bytes changed (and its checksum fixed), found by a fixed search.
fn chunk_automerge_panics_on() -> Vec<u8> {
    let real: Vec<Vec<u8>> = dossier(2, 20)
        .get_changes(&[])
        .iter()
        .take(3)
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    wire::chunk_automerge_panics_on(wire::CHANGE, &real, 0x9e37_79b9_7f4a_7c15, 20_000)
        .expect("precondition: the search finds such a chunk")
}

#[test]
fn a_chunk_automerge_panics_on_closes_the_session_instead_of_the_node() {
    let chunk = chunk_automerge_panics_on();
    let mut store = MemoryStore::new();
    let mut session = Session::new(PEER, SessionConfig::default(), &mut store).unwrap();
    session
        .handle(&hello(1), &mut store, &mut AdmitAll)
        .unwrap();
    let message = Msg {
        changes: vec![chunk],
        ..Msg::default()
    };
    let offer = Frame::Offer {
        seq: 1,
        doc: doc_id(5),
        message: message.encode(),
    }
    .encode();
    let error = session
        .handle(&offer, &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(
        matches!(&error, SessionError::Protocol(reason) if reason.contains("Automerge panicked")),
        "{error}"
    );
    assert!(session.is_closed());
    assert!(store.is_empty());
}
