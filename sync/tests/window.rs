//! The unacknowledged window sized from the path, the documents held apart
//! from it, and the commit timer that reopens it within a round trip
//! (issue 11). The in-memory store and frames passed by hand; the path's
//! figures and the time are inputs, as the shell gives them.

use std::time::{Duration, Instant};

use automerge::ChangeHash;
use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::session::{MIN_WINDOW_BYTES, PATH_SAMPLE_BYTES};
use lienthong_sync::protocol::{
    AdmitAll, Frame, MAX_UNFINISHED_OFFERS, PROTOCOL_VERSION, PathEstimate, Session, SessionConfig,
    SessionError, SyncStore,
};

const US: [u8; 32] = [0xA; 32];
const PEER: [u8; 32] = [0xB; 32];

fn doc_id(i: u32) -> DocumentId {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&i.to_be_bytes());
    DocumentId(id)
}

/// A small document of `changes` changes.
fn make_doc(i: u32, changes: usize) -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(&[7, (i % 251) as u8, 1][..]));
    for k in 0..changes {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, format!("event{k}"), format!("hồ sơ {i}, bước {k}"))?;
            Ok(())
        })
        .unwrap();
    }
    doc
}

fn store_with(n: u32, changes: usize) -> MemoryStore {
    let mut store = MemoryStore::new();
    for i in 0..n {
        store.put(doc_id(i), make_doc(i, changes));
    }
    store
}

fn hello(window_docs: u32, window_bytes: u32) -> Vec<u8> {
    Frame::Hello {
        version: PROTOCOL_VERSION,
        since: 0,
        last_seq: 0,
        window_docs,
        window_bytes,
    }
    .encode()
}

/// Everything the session queued for the peer, decoded.
fn sent(session: &mut Session) -> Vec<Frame> {
    std::iter::from_fn(|| session.poll_transmit())
        .map(|bytes| Frame::decode(&bytes, usize::MAX).unwrap())
        .collect()
}

/// Everything the session sends, pumping again whenever it held output
/// back for want of queue room (as the driver does once the queue drains).
fn drain(session: &mut Session, store: &mut MemoryStore) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    loop {
        while let Some(frame) = session.poll_transmit() {
            frames.push(frame);
        }
        if !session.wants_pump() {
            return frames;
        }
        session.pump(store).unwrap();
    }
}

fn acks(frames: &[Frame]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Ack { through } => Some(*through),
            _ => None,
        })
        .collect()
}

#[test]
fn the_path_estimate_turns_the_congestion_window_into_frame_bytes() {
    let path = PathEstimate {
        rtt: Duration::from_millis(300),
        congestion_window: 100_000,
        frame_bytes_sent: 9_000_000,
        wire_bytes_sent: 1_000_000,
    };
    // Twice the congestion window, nine frame bytes to each wire byte.
    assert_eq!(path.window_bytes(), 2 * 100_000 * 9);
    // QUIC's overhead never makes the window smaller than the wire's.
    let uncompressed = PathEstimate {
        frame_bytes_sent: 900_000,
        ..path
    };
    assert_eq!(uncompressed.window_bytes(), 2 * 100_000);
    // Nothing sent yet: the congestion window alone.
    let fresh = PathEstimate {
        frame_bytes_sent: 0,
        wire_bytes_sent: 0,
        ..path
    };
    assert_eq!(fresh.window_bytes(), 2 * 100_000);
    // No overflow on absurd figures.
    let absurd = PathEstimate {
        congestion_window: u64::MAX,
        frame_bytes_sent: u64::MAX,
        wire_bytes_sent: 1,
        ..path
    };
    assert_eq!(absurd.window_bytes(), usize::MAX);
}

#[test]
fn the_sender_keeps_no_more_unacknowledged_than_the_path_calls_for() {
    let mut store = store_with(1000, 3);
    // Small queues, so that the path's share shows.
    let config = SessionConfig {
        send_queue_bulk: 16 * 1024,
        batch_bytes: 4 * 1024,
        ..SessionConfig::default()
    };
    let queues = 20 * 1024;
    let mut session = Session::new(PEER, config, &mut store).unwrap();
    let _ = sent(&mut session);
    // A slow path, measured after the first megabyte: twice its
    // congestion window in frame bytes and the queues, far below the
    // 12 MiB the peer advertised.
    session.set_path(PathEstimate {
        rtt: Duration::from_millis(300),
        congestion_window: 10_000,
        frame_bytes_sent: PATH_SAMPLE_BYTES,
        wire_bytes_sent: PATH_SAMPLE_BYTES / 4,
    });
    session
        .handle(&hello(4096, 12 << 20), &mut store, &mut AdmitAll)
        .unwrap();
    assert_eq!(session.send_window(), (4096, 2 * 10_000 * 4 + queues));
    let offered: usize = drain(&mut session, &mut store)
        .iter()
        .filter_map(|f| match Frame::decode(f, usize::MAX).unwrap() {
            Frame::Offer { message, .. } => Some(message.len()),
            _ => None,
        })
        .sum();
    let in_flight = session.in_flight();
    assert!(in_flight > 0 && in_flight < 1000, "{in_flight} in flight");
    // The last offer may pass the window by one message, no more.
    let window = 80_000 + queues;
    assert!(offered >= window, "{offered} bytes offered");
    assert!(offered < window + 2_000, "{offered} bytes offered");

    // A fast path: the peer's window is the cap.
    session.set_path(PathEstimate {
        rtt: Duration::from_millis(300),
        congestion_window: 50 << 20,
        frame_bytes_sent: PATH_SAMPLE_BYTES,
        wire_bytes_sent: PATH_SAMPLE_BYTES / 4,
    });
    assert_eq!(session.send_window(), (4096, 12 << 20));
    // A path too slow for even one document: the floor.
    session.set_path(PathEstimate {
        rtt: Duration::from_millis(300),
        congestion_window: 1,
        frame_bytes_sent: PATH_SAMPLE_BYTES,
        wire_bytes_sent: PATH_SAMPLE_BYTES,
    });
    assert_eq!(
        session.send_window(),
        (4096, MIN_WINDOW_BYTES.max(2 + queues))
    );
    // Before the first megabyte the compression is not known: the peer's
    // window, not a guess from the congestion window.
    session.set_path(PathEstimate {
        rtt: Duration::from_millis(300),
        congestion_window: 10_000,
        frame_bytes_sent: PATH_SAMPLE_BYTES - 1,
        wire_bytes_sent: 1_000,
    });
    assert_eq!(session.send_window(), (4096, 12 << 20));
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

#[test]
fn unfinished_documents_are_held_to_their_own_bound_inside_a_larger_window() {
    let config = SessionConfig::default();
    assert!(config.window_docs as usize > MAX_UNFINISHED_OFFERS);
    let mut store = MemoryStore::new();
    let mut session = Session::new(PEER, config, &mut store).unwrap();
    session
        .handle(&hello(1024, 8 << 20), &mut store, &mut AdmitAll)
        .unwrap();
    for seq in 1..=MAX_UNFINISHED_OFFERS as u64 {
        let frame = Frame::Offer {
            seq,
            doc: doc_id(seq as u32),
            message: dangling(seq as u32),
        };
        session
            .handle(&frame.encode(), &mut store, &mut AdmitAll)
            .unwrap();
    }
    assert_eq!(session.window_used().0, MAX_UNFINISHED_OFFERS);
    let seq = MAX_UNFINISHED_OFFERS as u64 + 1;
    let frame = Frame::Offer {
        seq,
        doc: doc_id(seq as u32),
        message: dangling(seq as u32),
    };
    let error = session
        .handle(&frame.encode(), &mut store, &mut AdmitAll)
        .unwrap_err();
    assert!(matches!(error, SessionError::Protocol(_)), "{error}");
    assert!(error.to_string().contains("unfinished here"), "{error}");
    assert!(error.to_string().contains("1024"), "{error}");
    assert!(session.is_closed());
    assert_eq!(store.len(), 0, "nothing of it is stored");
}

#[test]
fn complete_documents_are_committed_to_make_room_for_more() {
    // A window of 4,096 documents from a sender with 2,000 to give, a
    // batch that would never fill on its own and no flush: the held bound
    // commits (and acknowledges) as it goes.
    let config = SessionConfig {
        batch_docs: usize::MAX,
        batch_bytes: usize::MAX,
        ..SessionConfig::default()
    };
    let mut source = store_with(2000, 2);
    let mut sink = MemoryStore::new();
    let mut sender = Session::new(PEER, config.clone(), &mut source).unwrap();
    let mut receiver = Session::new(US, config, &mut sink).unwrap();
    let hello_in = drain(&mut receiver, &mut sink);
    for frame in &drain(&mut sender, &mut source) {
        receiver.handle(frame, &mut sink, &mut AdmitAll).unwrap();
    }
    let _ = sent(&mut receiver);
    for frame in &hello_in {
        sender.handle(frame, &mut source, &mut AdmitAll).unwrap();
    }
    let offers = drain(&mut sender, &mut source);
    assert_eq!(sender.in_flight(), 2000, "the whole store fits the window");
    let mut sent_back = Vec::new();
    for frame in &offers {
        if matches!(
            Frame::decode(frame, usize::MAX).unwrap(),
            Frame::Through { .. }
        ) {
            // The end of a run of offers commits anyway: keep them back.
            continue;
        }
        receiver.handle(frame, &mut sink, &mut AdmitAll).unwrap();
        sent_back.extend(sent(&mut receiver));
        assert!(receiver.window_used().0 <= 2000);
    }
    assert!(!receiver.is_closed());
    let acked = acks(&sent_back);
    assert!(
        !acked.is_empty(),
        "the held bound committed before any flush"
    );
    assert!(sink.len() >= MAX_UNFINISHED_OFFERS, "{} stored", sink.len());
    assert_eq!(*acked.last().unwrap() as usize, sink.len());
}

#[test]
fn a_sender_keeps_at_most_the_limit_of_offers_that_may_need_a_reply() {
    let n = MAX_UNFINISHED_OFFERS as u32 + 300;
    let mut source = store_with(n, 3);
    // We believe the peer holds each document's first change: every offer
    // carries only the rest, and the peer may need to reply.
    let held: Vec<(DocumentId, Vec<ChangeHash>)> = (0..n)
        .map(|i| {
            let first = source.get(&doc_id(i)).unwrap().get_changes(&[])[0].hash();
            (doc_id(i), vec![first])
        })
        .collect();
    source.commit_acknowledged(&PEER, held, 0).unwrap();
    let mut sender = Session::new(PEER, SessionConfig::default(), &mut source).unwrap();
    let _ = drain(&mut sender, &mut source);
    sender
        .handle(&hello(4096, 12 << 20), &mut source, &mut AdmitAll)
        .unwrap();
    let offers = drain(&mut sender, &mut source);
    assert_eq!(sender.in_flight(), MAX_UNFINISHED_OFFERS);
    let last = offers
        .iter()
        .filter_map(|f| match Frame::decode(f, usize::MAX).unwrap() {
            Frame::Offer { seq, .. } => Some(seq),
            _ => None,
        })
        .max()
        .unwrap();
    // Acknowledging the first hundred lets a hundred more go.
    sender
        .handle(
            &Frame::Ack { through: 100 }.encode(),
            &mut source,
            &mut AdmitAll,
        )
        .unwrap();
    let more = drain(&mut sender, &mut source);
    assert_eq!(sender.in_flight(), MAX_UNFINISHED_OFFERS);
    let next: Vec<u64> = more
        .iter()
        .filter_map(|f| match Frame::decode(f, usize::MAX).unwrap() {
            Frame::Offer { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(next.len(), 100);
    assert_eq!(next[0], last + 1);
}

/// The receiver's frames after the sender's offers: three complete
/// documents delivered one by one, the clock moving `step` between them.
fn acks_with_path(path: Option<PathEstimate>, step: Duration) -> Vec<u64> {
    let config = SessionConfig::default();
    let mut source = store_with(10, 2);
    let mut sink = MemoryStore::new();
    let mut sender = Session::new(PEER, config.clone(), &mut source).unwrap();
    let mut receiver = Session::new(US, config, &mut sink).unwrap();
    if let Some(path) = path {
        receiver.set_path(path);
    }
    let hello_in = drain(&mut receiver, &mut sink);
    for frame in &drain(&mut sender, &mut source) {
        receiver.handle(frame, &mut sink, &mut AdmitAll).unwrap();
    }
    let _ = sent(&mut receiver);
    for frame in &hello_in {
        sender.handle(frame, &mut source, &mut AdmitAll).unwrap();
    }
    let offers: Vec<Vec<u8>> = drain(&mut sender, &mut source)
        .into_iter()
        .filter(|f| matches!(Frame::decode(f, usize::MAX).unwrap(), Frame::Offer { .. }))
        .take(3)
        .collect();
    let start = Instant::now();
    let mut frames = Vec::new();
    for (i, offer) in offers.iter().enumerate() {
        receiver.handle_timeout(start + step * i as u32).unwrap();
        receiver.handle(offer, &mut sink, &mut AdmitAll).unwrap();
        frames.extend(sent(&mut receiver));
    }
    acks(&frames)
}

#[test]
fn on_a_long_path_complete_documents_are_acknowledged_within_a_round_trip() {
    let long = PathEstimate {
        rtt: Duration::from_millis(400),
        congestion_window: 100_000,
        frame_bytes_sent: 0,
        wire_bytes_sent: 0,
    };
    // A quarter of the round trip after the first completed, the batch is
    // committed without waiting to fill.
    assert_eq!(
        acks_with_path(Some(long), Duration::from_millis(60)),
        vec![3]
    );
    // Before that, no commit.
    assert!(acks_with_path(Some(long), Duration::from_millis(40)).is_empty());
    // Without a measured path, only a full batch (or the end of the
    // peer's run) commits.
    assert!(acks_with_path(None, Duration::from_secs(10)).is_empty());
    // The shortest long path: the timer's floor keeps commits (fsyncs)
    // from following every document.
    let shortest = PathEstimate {
        rtt: lienthong_sync::protocol::inbound::LONG_PATH_RTT,
        ..long
    };
    assert!(acks_with_path(Some(shortest), Duration::from_millis(15)).is_empty());
    assert_eq!(
        acks_with_path(Some(shortest), Duration::from_millis(25)),
        vec![3]
    );
    // On a short path (loopback, a LAN) only full batches commit.
    let short = PathEstimate {
        rtt: Duration::from_micros(200),
        ..long
    };
    assert!(acks_with_path(Some(short), Duration::from_secs(10)).is_empty());
}

#[test]
fn with_nothing_to_read_a_batch_waits_for_its_timer_until_the_peers_run_ends() {
    use lienthong_sync::protocol::inbound::MIN_ACK_DELAY;
    let config = SessionConfig::default();
    let mut source = store_with(10, 2);
    let mut sink = MemoryStore::new();
    let mut sender = Session::new(PEER, config.clone(), &mut source).unwrap();
    let mut receiver = Session::new(US, config, &mut sink).unwrap();
    let hello_in = drain(&mut receiver, &mut sink);
    for frame in &drain(&mut sender, &mut source) {
        receiver.handle(frame, &mut sink, &mut AdmitAll).unwrap();
    }
    let _ = sent(&mut receiver);
    for frame in &hello_in {
        sender.handle(frame, &mut source, &mut AdmitAll).unwrap();
    }
    let offers: Vec<Vec<u8>> = drain(&mut sender, &mut source)
        .into_iter()
        .filter(|f| matches!(Frame::decode(f, usize::MAX).unwrap(), Frame::Offer { .. }))
        .collect();
    assert_eq!(offers.len(), 10);
    let start = Instant::now();
    receiver.handle_timeout(start).unwrap();
    // Three of the peer's ten, then nothing to read: no commit yet.
    for offer in &offers[..3] {
        receiver.handle(offer, &mut sink, &mut AdmitAll).unwrap();
    }
    receiver.flush(&mut sink).unwrap();
    assert!(acks(&sent(&mut receiver)).is_empty());
    assert_eq!(sink.len(), 0);
    // The timer says when; then the flush commits.
    assert_eq!(receiver.poll_timeout(), Some(start + MIN_ACK_DELAY));
    receiver.handle_timeout(start + MIN_ACK_DELAY).unwrap();
    receiver.flush(&mut sink).unwrap();
    assert_eq!(acks(&sent(&mut receiver)), vec![3]);
    assert_eq!(sink.len(), 3);
    // The rest of the run: its last document ends it, committed at once.
    for offer in &offers[3..] {
        receiver.handle(offer, &mut sink, &mut AdmitAll).unwrap();
    }
    receiver.flush(&mut sink).unwrap();
    assert_eq!(acks(&sent(&mut receiver)), vec![10]);
    assert_eq!(sink.len(), 10);
}
