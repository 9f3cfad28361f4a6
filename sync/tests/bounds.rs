//! What a peer can make a session hold: each bound on its own, against the
//! in-memory store, with frames written by hand as a hostile peer would.
//! No sockets, no clock: time is given to the session as `Instant`s.

use std::time::{Duration, Instant};

use automerge::ChangeHash;
use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::{
    AdmitAll, Frame, PROTOCOL_VERSION, Session, SessionConfig, SessionError,
};

const US: [u8; 32] = [0xA; 32];
const PEER: [u8; 32] = [0xB; 32];

fn doc_id(i: u32) -> DocumentId {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&i.to_be_bytes());
    DocumentId(id)
}

fn hello(window_docs: u32) -> Vec<u8> {
    Frame::Hello {
        version: PROTOCOL_VERSION,
        since: 0,
        last_seq: 1_000_000,
        window_docs,
        window_bytes: 8 << 20,
    }
    .encode()
}

/// A sync message that can never complete: it names a head nobody has.
fn dangling(i: u32) -> Vec<u8> {
    let mut head = [0x5A; 32];
    head[..4].copy_from_slice(&i.to_be_bytes());
    Message {
        heads: vec![ChangeHash(head)],
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::empty(),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode()
}

fn offer(seq: u64, message: Vec<u8>) -> Vec<u8> {
    Frame::Offer {
        seq,
        doc: doc_id(seq as u32),
        message,
    }
    .encode()
}

/// Our session with the hostile peer, its Hello handled.
fn victim(config: SessionConfig, store: &mut MemoryStore) -> Session {
    let mut session = Session::new(PEER, config, store).unwrap();
    session.handle(&hello(1024), store, &mut AdmitAll).unwrap();
    session
}

/// Everything the session queued for the peer, decoded.
fn sent(session: &mut Session) -> Vec<Frame> {
    std::iter::from_fn(|| session.poll_transmit())
        .map(|bytes| Frame::decode(&bytes, usize::MAX).unwrap())
        .collect()
}

fn error_frame(frames: &[Frame]) -> Option<&str> {
    frames.iter().find_map(|f| match f {
        Frame::Error { reason, .. } => Some(reason.as_str()),
        _ => None,
    })
}

#[test]
fn offers_beyond_the_window_in_documents_end_the_session() {
    let config = SessionConfig {
        window_docs: 8,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    // The window itself is fine, even for offers that never complete.
    for seq in 1..=8 {
        session
            .handle(&offer(seq, dangling(seq as u32)), &mut store, &mut AdmitAll)
            .unwrap();
    }
    assert_eq!(session.window_used().0, 8);
    assert!(!session.is_closed());
    let error = session
        .handle(&offer(9, dangling(9)), &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(matches!(error, SessionError::Protocol(_)), "{error}");
    assert!(
        error.to_string().contains("window of 8 documents"),
        "{error}"
    );
    assert!(session.is_closed());
    let frames = sent(&mut session);
    let reason = error_frame(&frames).expect("an Error frame for the peer");
    assert!(reason.contains("window"), "{reason}");
    assert_eq!(store.len(), 0, "nothing of the attack is stored");
}

#[test]
fn an_ack_frees_the_window_for_more_offers() {
    let config = SessionConfig {
        window_docs: 4,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    // Unreadable messages: each document is refused, which frees nothing
    // until the Ack that moves past them.
    for seq in 1..=4 {
        session
            .handle(&offer(seq, vec![0xFF; 40]), &mut store, &mut AdmitAll)
            .unwrap();
    }
    assert_eq!(session.window_used().0, 4);
    session.flush(&mut store).unwrap();
    let frames = sent(&mut session);
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Ack { through: 4 })),
        "{frames:?}"
    );
    assert_eq!(session.window_used(), (0, 0));
    for seq in 5..=8 {
        session
            .handle(&offer(seq, vec![0xFF; 40]), &mut store, &mut AdmitAll)
            .unwrap();
    }
    assert!(!session.is_closed());
}

#[test]
fn offers_beyond_the_window_in_bytes_end_the_session() {
    let config = SessionConfig {
        window_bytes: 64 * 1024,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    // 20 KiB of changes that are not Automerge: each is refused, but holds
    // its bytes of the window until acknowledged.
    let big = |i: u32| {
        Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: vec![i as u8; 20 * 1024].into(),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode()
    };
    for seq in 1..=4 {
        session
            .handle(&offer(seq, big(seq as u32)), &mut store, &mut AdmitAll)
            .unwrap();
    }
    assert!(session.window_used().1 >= 64 * 1024);
    let error = session
        .handle(&offer(5, big(5)), &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(
        error.to_string().contains("window of 65536 bytes"),
        "{error}"
    );
    assert!(error_frame(&sent(&mut session)).is_some());
}

#[test]
fn an_exchange_that_goes_round_forever_ends_the_session() {
    let mut store = MemoryStore::new();
    let mut session = victim(SessionConfig::default(), &mut store);
    session
        .handle(&offer(1, dangling(1)), &mut store, &mut AdmitAll)
        .unwrap();
    // Each continuation answers our last reply and draws another; the
    // peer never lets the document complete.
    let mut rounds = 0;
    let error = loop {
        let replies = sent(&mut session)
            .into_iter()
            .filter(|f| matches!(f, Frame::Reply { .. }))
            .count();
        assert!(replies <= 1, "one reply per message");
        rounds += 1;
        assert!(rounds <= 100, "the exchange was never cut off");
        let frame = Frame::Continue {
            doc: doc_id(1),
            message: dangling(100 + rounds),
        }
        .encode();
        if let Err(e) = session.handle(&frame, &mut store, &mut AdmitAll) {
            break e;
        }
    };
    assert_eq!(rounds, lienthong_sync::protocol::session::MAX_ROUNDS);
    assert!(error.to_string().contains("rounds"), "{error}");
}

#[test]
fn a_reply_for_nothing_we_sent_is_an_error() {
    let mut store = MemoryStore::new();
    let mut session = victim(SessionConfig::default(), &mut store);
    let reply = Frame::Reply {
        doc: doc_id(77),
        message: dangling(77),
    }
    .encode();
    let error = session
        .handle(&reply, &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(error.to_string().contains("not offered"), "{error}");
}

#[test]
fn replies_to_our_offer_beyond_the_one_it_allows_are_an_error() {
    let mut store = MemoryStore::new();
    store.put(doc_id(1), small_doc());
    let mut session = victim(SessionConfig::default(), &mut store);
    assert_eq!(session.in_flight(), 1);
    // A reply that asks for nothing draws no continuation: the offer is
    // answered, and a second reply answers nothing.
    let quiet = Message {
        heads: store.get(&doc_id(1)).unwrap().get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::empty(),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode();
    let reply = Frame::Reply {
        doc: doc_id(1),
        message: quiet,
    }
    .encode();
    session.handle(&reply, &mut store, &mut AdmitAll).unwrap();
    let continued = sent(&mut session)
        .iter()
        .any(|f| matches!(f, Frame::Continue { .. }));
    assert!(!continued, "precondition: nothing more to send");
    let error = session
        .handle(&reply, &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(
        error.to_string().contains("no offer or continuation"),
        "{error}"
    );
}

#[test]
fn a_document_that_never_completes_times_out() {
    let timeout = Duration::from_secs(60);
    let config = SessionConfig {
        exchange_timeout: timeout,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    let t0 = Instant::now();
    session.handle_timeout(t0).unwrap();
    assert_eq!(session.poll_timeout(), None, "nothing waits yet");
    session
        .handle(&offer(1, dangling(1)), &mut store, &mut AdmitAll)
        .unwrap();
    assert_eq!(session.poll_timeout(), Some(t0 + timeout));
    session.handle_timeout(t0 + timeout / 2).unwrap();
    session
        .handle_timeout(t0 + timeout - Duration::from_millis(1))
        .unwrap();
    assert!(!session.is_closed());
    let error = session.handle_timeout(t0 + timeout).unwrap_err();
    assert!(matches!(error, SessionError::Stalled(_)), "{error}");
    assert!(error.to_string().contains("no message for 60 s"), "{error}");
    assert!(session.is_closed());
    assert!(error_frame(&sent(&mut session)).is_some());
    // The checkpoint did not move past the unfinished document: the next
    // session is offered it again.
    assert_eq!(session.incoming_checkpoint(), 0);
}

#[test]
fn a_message_for_the_document_restarts_its_clock() {
    let timeout = Duration::from_secs(60);
    let config = SessionConfig {
        exchange_timeout: timeout,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    let t0 = Instant::now();
    session.handle_timeout(t0).unwrap();
    session
        .handle(&offer(1, dangling(1)), &mut store, &mut AdmitAll)
        .unwrap();
    let t1 = t0 + Duration::from_secs(50);
    session.handle_timeout(t1).unwrap();
    // The peer continues the exchange (answering our reply).
    let next = Frame::Continue {
        doc: doc_id(1),
        message: dangling(2),
    }
    .encode();
    session.handle(&next, &mut store, &mut AdmitAll).unwrap();
    assert_eq!(session.poll_timeout(), Some(t1 + timeout));
    session.handle_timeout(t0 + timeout).unwrap();
    assert!(session.handle_timeout(t1 + timeout).is_err());
}

fn small_doc() -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(&[7u8, 7][..]));
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "code", "H49.10-260105-0001")?;
        Ok(())
    })
    .unwrap();
    doc
}

#[test]
fn offers_the_peer_never_acknowledges_time_out() {
    let timeout = Duration::from_secs(60);
    let config = SessionConfig {
        exchange_timeout: timeout,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    store.put(doc_id(1), small_doc());
    let t0 = Instant::now();
    let mut session = Session::new(PEER, config, &mut store).unwrap();
    session.handle_timeout(t0).unwrap();
    session
        .handle(&hello(1024), &mut store, &mut AdmitAll)
        .unwrap();
    assert_eq!(session.in_flight(), 1, "our document is offered");
    assert_eq!(session.poll_timeout(), Some(t0 + timeout));
    session.handle_timeout(t0 + timeout / 2).unwrap();
    let error = session.handle_timeout(t0 + timeout).unwrap_err();
    assert!(
        error.to_string().contains("acknowledged none of 1 offers"),
        "{error}"
    );
}

/// A blob of `chunks` 64 KiB chunks of incompressible content.
fn blob(store: &mut MemoryStore, chunks: usize) -> [u8; 32] {
    let mut state = 0x1234_5678_u64;
    let content: Vec<u8> = (0..chunks * 64 * 1024)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect();
    store.add_blob(&content).0
}

fn want(hash: [u8; 32], chunks: std::ops::Range<u32>) -> Vec<u8> {
    Frame::BlobWant {
        hash,
        manifest: false,
        chunks: chunks.collect(),
    }
    .encode()
}

#[test]
fn blob_wants_are_answered_as_the_queue_drains_not_all_at_once() {
    let config = SessionConfig::default();
    let bulk = config.send_queue_bulk;
    let mut store = MemoryStore::new();
    let hash = blob(&mut store, 64);
    let mut session = victim(config, &mut store);
    sent(&mut session);
    session
        .handle(&want(hash, 0..64), &mut store, &mut AdmitAll)
        .unwrap();
    // Only about the bulk mark's worth is read from the store and queued.
    let chunk_frame = 64 * 1024 + 64;
    assert!(
        session.queued_bytes() <= bulk + chunk_frame,
        "{} bytes queued",
        session.queued_bytes()
    );
    assert!(session.blob_chunks_owed() >= 64 - (bulk / (64 * 1024)) - 1);
    // A peer that reads gets the rest as it reads.
    let mut chunks = 0;
    for _ in 0..100 {
        chunks += sent(&mut session)
            .iter()
            .filter(|f| matches!(f, Frame::BlobChunk { .. }))
            .count();
        assert!(session.wants_pump() || session.blob_chunks_owed() == 0);
        session.pump(&mut store).unwrap();
        assert!(session.queued_bytes() <= bulk + chunk_frame);
        if session.blob_chunks_owed() == 0 && session.queued_bytes() == 0 {
            break;
        }
    }
    assert_eq!(chunks, 64);
}

#[test]
fn a_peer_that_asks_for_chunks_and_never_reads_is_cut_off_at_the_cap() {
    let config = SessionConfig::default();
    let bulk = config.send_queue_bulk;
    let mut store = MemoryStore::new();
    let hash = blob(&mut store, 64);
    let mut session = victim(config, &mut store);
    // 16 chunks per want, what an honest fetcher asks at most at once; the
    // peer never reads a byte.
    let mut peak = 0;
    let mut error = None;
    for round in 0..100 {
        let start = (round % 4) * 16;
        match session.handle(&want(hash, start..start + 16), &mut store, &mut AdmitAll) {
            Ok(()) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        peak = peak.max(session.queued_bytes());
    }
    let error = error.expect("the session ends");
    assert!(
        error.to_string().contains("at most 64 may be outstanding"),
        "{error}"
    );
    // Our queue never grew past the bulk mark and one chunk, however much
    // was asked.
    assert!(peak <= bulk + 64 * 1024 + 256, "{peak} bytes queued");
}

#[test]
fn a_peer_that_never_reads_stops_being_read() {
    // Eager answers (refusals here) fill the queue; past the limit the
    // session asks the shell to stop reading.
    let config = SessionConfig {
        send_queue_limit: 64 * 1024,
        ..SessionConfig::default()
    };
    let limit = config.send_queue_limit;
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    let mut seq = 0;
    while session.accepts_input() {
        seq += 1;
        assert!(seq < 10_000, "the queue never reached its limit");
        session
            .handle(&offer(seq, vec![0xFF; 40]), &mut store, &mut AdmitAll)
            .unwrap();
        // Commits keep the window open, as they would between batches.
        session.flush(&mut store).unwrap();
    }
    let queued = session.queued_bytes();
    assert!(queued >= limit);
    // One frame's answers past the limit, no more.
    assert!(queued < limit + 2048, "{queued} bytes queued");
    // Once the peer reads, input is taken again.
    sent(&mut session);
    assert!(session.accepts_input());
}

#[test]
fn an_offer_larger_than_the_limit_is_not_sent() {
    let config = SessionConfig {
        max_message: 4096,
        ..SessionConfig::default()
    };
    let mut store = MemoryStore::new();
    let mut big = Automerge::new().with_actor(ActorId::from(&[9u8][..]));
    big.transact::<_, _, automerge::AutomergeError>(|tx| {
        // Incompressible text, so the document is well over 4 KiB.
        let text: String = (0..8000u32)
            .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
            .collect();
        tx.put(ROOT, "note", text)?;
        Ok(())
    })
    .unwrap();
    store.put(doc_id(1), big);
    store.put(doc_id(2), small_doc());
    let mut session = victim(config, &mut store);
    let frames = sent(&mut session);
    let offered: Vec<DocumentId> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Offer { doc, .. } => Some(*doc),
            _ => None,
        })
        .collect();
    assert_eq!(offered, vec![doc_id(2)]);
    let mut refused = false;
    while let Some(event) = session.poll_event() {
        if let lienthong_sync::protocol::SessionEvent::Refused { doc, reason, .. } = event {
            refused |= doc == doc_id(1) && reason.contains("exceeds the limit");
        }
    }
    assert!(refused, "the left-out document is reported");
    let _ = US;
}

#[test]
fn offers_naming_our_documents_cannot_hold_more_of_them_than_the_limit() {
    // 64 KiB of window, so as much of our documents' heap.
    let config = SessionConfig {
        window_bytes: 64 * 1024,
        ..SessionConfig::default()
    };
    let limit = config.max_loaded_bytes();
    let mut store = MemoryStore::new();
    for i in 1..=8 {
        let mut doc = Automerge::new().with_actor(ActorId::from(&[i as u8, 1][..]));
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            for k in 0..300 {
                tx.put(ROOT, format!("field {k}"), k as i64)?;
            }
            Ok(())
        })
        .unwrap();
        store.put(doc_id(i), doc);
    }
    let mut session = victim(config, &mut store);
    sent(&mut session);
    // Tiny offers that never complete, each naming one of our documents
    // (300 operations: about 19 KiB of heap).
    let mut error = None;
    for seq in 1..=8u64 {
        if let Err(e) = session.handle(&offer(seq, dangling(seq as u32)), &mut store, &mut AdmitAll)
        {
            error = Some((seq, e));
            break;
        }
    }
    let (seq, error) = error.expect("the session ends");
    assert!(seq > 1, "precondition: one document fits");
    assert!(
        error
            .to_string()
            .contains(&format!("beyond the limit of {limit}")),
        "{error}"
    );
}

#[test]
fn a_peer_of_protocol_version_1_is_refused_at_hello_with_the_reason() {
    let mut store = MemoryStore::new();
    let mut session = Session::new(PEER, SessionConfig::default(), &mut store).unwrap();
    let old = Frame::Hello {
        version: 1,
        since: 0,
        last_seq: 0,
        window_docs: 8,
        window_bytes: 1 << 20,
    }
    .encode();
    let error = session.handle(&old, &mut store, &mut AdmitAll).unwrap_err();
    assert!(matches!(error, SessionError::Version(1)), "{error}");
    let frames = sent(&mut session);
    let reason = error_frame(&frames).expect("an Error frame for the old peer");
    assert!(
        reason.contains("peer speaks protocol version 1, this node 2; upgrade the older node"),
        "{reason}"
    );
}

fn attest(doc: DocumentId, count: usize, seed: u8) -> Vec<u8> {
    use lienthong_sync::protocol::Attestation;
    Frame::Attest {
        doc,
        attestations: (0..count)
            .map(|i| Attestation {
                change: [seed ^ (i as u8); 32],
                key: [seed; 32],
                signature: [0; 64],
            })
            .collect(),
    }
    .encode()
}

#[test]
fn attestations_beyond_the_bound_for_one_document_end_the_session() {
    use lienthong_sync::protocol::attest::MAX_ATTESTATIONS;
    use lienthong_sync::protocol::inbound::MAX_PENDING_ATTESTATIONS;
    let mut store = MemoryStore::new();
    let mut session = victim(SessionConfig::default(), &mut store);
    let doc = doc_id(1);
    for frame in 0..MAX_PENDING_ATTESTATIONS / MAX_ATTESTATIONS {
        session
            .handle(
                &attest(doc, MAX_ATTESTATIONS, frame as u8),
                &mut store,
                &mut AdmitAll,
            )
            .unwrap();
    }
    let error = session
        .handle(&attest(doc, 1, 0xEE), &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("beyond the limit of {MAX_PENDING_ATTESTATIONS}")),
        "{error}"
    );
}

#[test]
fn attestations_for_many_documents_are_bounded_in_bytes() {
    use lienthong_sync::protocol::attest::{ATTESTATION_LEN, MAX_ATTESTATIONS};
    let config = SessionConfig::default();
    let limit = config.max_pending_bytes();
    let mut store = MemoryStore::new();
    let mut session = victim(config, &mut store);
    let frames = limit / (MAX_ATTESTATIONS * ATTESTATION_LEN);
    for i in 0..frames {
        session
            .handle(
                &attest(doc_id(i as u32), MAX_ATTESTATIONS, i as u8),
                &mut store,
                &mut AdmitAll,
            )
            .unwrap();
    }
    let error = session
        .handle(
            &attest(doc_id(frames as u32), MAX_ATTESTATIONS, 0),
            &mut store,
            &mut AdmitAll,
        )
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("already held for documents not yet stored"),
        "{error}"
    );
}

/// Admission that records the new changes it is shown.
#[derive(Default)]
struct Recording(Vec<lienthong_sync::protocol::NewChange>);

impl lienthong_sync::protocol::Admission for Recording {
    fn admit(
        &mut self,
        _: &[u8; 32],
        _: &DocumentId,
        _: &Automerge,
        _: bool,
        _: &[ChangeHash],
        changes: &[lienthong_sync::protocol::NewChange],
    ) -> Result<Option<lienthong_sync::protocol::Reading>, String> {
        self.0.extend_from_slice(changes);
        Ok(None)
    }
}

#[test]
fn admission_sees_each_new_change_with_the_attestation_that_verifies_for_it() {
    use lienthong_sync::protocol::attest::Signer;
    let author =
        Signer::new(ring::signature::Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap());
    let mut document = Automerge::new();
    document.set_actor(ActorId::from(author.actor_bytes()));
    let mut tx = document.transaction();
    tx.put(ROOT, "n", 1).unwrap();
    tx.commit();
    let change = document.get_heads()[0];
    let (signed, unsigned) = (doc_id(1), doc_id(2));
    // For the second document the signature is over another document's id:
    // a relay cannot reuse an attestation elsewhere.
    let list = [author.sign(&signed, &change.0)];
    let whole = Message {
        heads: document.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: document.save_nocompress().into(),
        flags: None,
        version: MessageVersion::V2,
    }
    .encode();
    let mut store = MemoryStore::new();
    let mut session = victim(SessionConfig::default(), &mut store);
    let mut admission = Recording::default();
    for (seq, doc) in [(1, signed), (2, unsigned)] {
        let frame = Frame::Attest {
            doc,
            attestations: list.to_vec(),
        };
        session
            .handle(&frame.encode(), &mut store, &mut admission)
            .unwrap();
        let offer = Frame::Offer {
            seq,
            doc,
            message: whole.clone(),
        };
        session
            .handle(&offer.encode(), &mut store, &mut admission)
            .unwrap();
    }
    assert_eq!(admission.0.len(), 2, "{:?}", admission.0);
    assert_eq!(admission.0[0].hash, change);
    assert_eq!(admission.0[0].actor.to_bytes(), author.actor_bytes());
    assert_eq!(admission.0[0].attestation.as_ref(), Some(&list[0]));
    // The second's attestation is signed for another document: its
    // signature is verified (in one batch with the first's) before
    // anything is stored, and the document refused.
    session.flush(&mut store).unwrap();
    assert!(store.get(&signed).is_some(), "the signed document stored");
    assert!(
        store.get(&unsigned).is_none(),
        "signed for another document"
    );
    assert_eq!(
        refusal(&mut session, unsigned)
            .as_deref()
            .map(|r| r.contains("does not verify")),
        Some(true)
    );
}

/// The reason of the `Refuse` the session sent for `doc`, if any.
fn refusal(session: &mut Session, doc: DocumentId) -> Option<String> {
    sent(session).into_iter().find_map(|f| match f {
        Frame::Refuse { doc: d, reason } if d == doc => Some(reason),
        _ => None,
    })
}

#[test]
fn one_verified_signature_proves_the_same_authors_earlier_changes_beneath_it() {
    use lienthong_sync::protocol::attest::Signer;
    let author =
        Signer::new(ring::signature::Ed25519KeyPair::from_seed_unchecked(&[9; 32]).unwrap());
    let mut document = Automerge::new();
    document.set_actor(ActorId::from(author.actor_bytes()));
    let mut hashes = Vec::new();
    for n in 0..3 {
        let mut tx = document.transaction();
        tx.put(ROOT, "n", n).unwrap();
        tx.commit();
        hashes.push(document.get_heads()[0]);
    }
    let whole = Message {
        heads: document.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: document.save_nocompress().into(),
        flags: None,
        version: MessageVersion::V2,
    }
    .encode();
    let (chained, broken) = (doc_id(1), doc_id(2));
    let garbled = |doc: &DocumentId, hash: &ChangeHash| {
        let mut a = author.sign(doc, &hash.0);
        a.signature = [0; 64];
        a
    };
    // The latest change signed, the earlier ones with the right key but no
    // valid signature: proven through the latest's history.
    let chain: Vec<_> = vec![
        garbled(&chained, &hashes[0]),
        garbled(&chained, &hashes[1]),
        author.sign(&chained, &hashes[2].0),
    ];
    // The latest's signature broken: nothing vouches for it.
    let tail: Vec<_> = vec![
        author.sign(&broken, &hashes[0].0),
        author.sign(&broken, &hashes[1].0),
        garbled(&broken, &hashes[2]),
    ];
    let mut store = MemoryStore::new();
    let mut session = victim(SessionConfig::default(), &mut store);
    let mut admission = Recording::default();
    for (seq, doc, list) in [(1, chained, chain), (2, broken, tail)] {
        for frame in [
            Frame::Attest {
                doc,
                attestations: list,
            },
            Frame::Offer {
                seq,
                doc,
                message: whole.clone(),
            },
        ] {
            session
                .handle(&frame.encode(), &mut store, &mut admission)
                .unwrap();
        }
    }
    let proven = |range: std::ops::Range<usize>| {
        admission.0[range]
            .iter()
            .map(|c| (c.hash, c.attestation.is_some()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    assert_eq!(admission.0.len(), 6);
    let first = proven(0..3);
    assert!(hashes.iter().all(|h| first[h]), "{first:?}");
    let second = proven(3..6);
    assert!(second[&hashes[0]] && second[&hashes[1]], "{second:?}");
    // The latest change's signature is broken: assumed by the proof, it
    // is verified before anything is stored, and that document refused.
    assert!(second.values().all(|p| *p), "{second:?}");
    session.flush(&mut store).unwrap();
    assert!(store.get(&chained).is_some(), "the chained document stored");
    assert!(
        store.get(&broken).is_none(),
        "the latest change is not proven"
    );
    let reason = refusal(&mut session, broken).expect("a refusal of the broken one");
    assert!(reason.contains("does not verify"), "{reason}");
    assert!(
        reason.contains(&hashes[2].to_string()[..12]),
        "names the change: {reason}"
    );
}
