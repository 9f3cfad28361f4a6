//! The per-peer memory bound: its sum for the default configuration, and
//! the Automerge figures it rests on, measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::inbound::HEAP_PER_OP;
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::{AdmitAll, Frame, PROTOCOL_VERSION, Session, SessionConfig};
use lienthong_sync::transport::budget::{
    APPLY_PEAK_FACTOR, DOCUMENT_OVERHEAD, LIVE_FACTOR, OFFER_STATE, PER_PEER_TARGET,
    RECEIVED_OFFER_STATE,
};
use lienthong_sync::transport::driver::DriverConfig;
use lienthong_sync::transport::tls::quic_windows;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: the counter is the whole process's.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_default_configuration_stays_under_64_mib_per_peer() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let bound = DriverConfig::default().memory_bound(quic_windows());
    eprintln!("{}", bound.table());
    assert!(
        bound.total() <= PER_PEER_TARGET,
        "{} bytes:\n{}",
        bound.total(),
        bound.table()
    );
    // Every part is there and none is empty.
    assert!(bound.parts.len() >= 12);
    assert!(bound.parts.iter().all(|p| p.bytes > 0));
}

/// A dossier-shaped document: `events` events written over `changes` changes.
fn dossier(events: usize, changes: usize) -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(&[1u8, 2, 3][..]));
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "code", "H49.10-260105-0001")?;
        tx.put(ROOT, "applicant", "Nguyễn Văn An")?;
        tx.put_object(ROOT, "events", ObjType::List)?;
        Ok(())
    })
    .unwrap();
    let per = events / changes;
    for c in 0..changes {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let (_, list) = tx.get(ROOT, "events")?.unwrap();
            for k in 0..per {
                let len = tx.length(&list);
                let e = tx.insert_object(&list, len, ObjType::Map)?;
                tx.put(&e, "kind", "note")?;
                tx.put(&e, "at", "2026-01-05T08:00:00+07:00")?;
                tx.put(&e, "by", "commune:dien-ban/dien-phuong")?;
                tx.put(
                    &e,
                    "note",
                    format!("Ghi chú {c} {k}: chuyển hồ sơ lên cấp trên theo quy trình liên thông"),
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
    doc
}

#[test]
fn automerge_holds_documents_within_the_factors_the_bound_uses() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let max_message = DriverConfig::default().session.max_message;
    for (events, changes) in [(5, 5), (40, 40), (400, 100), (3000, 100)] {
        let bytes = dossier(events, changes).save_nocompress();
        let before = LIVE.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let loaded = Automerge::load(&bytes).unwrap();
        let live = LIVE.load(Ordering::SeqCst).saturating_sub(before);
        let peak = PEAK.load(Ordering::SeqCst).saturating_sub(before);
        eprintln!(
            "{events} events: {} bytes saved, {live} live, {peak} peak",
            bytes.len()
        );
        let ops = loaded.stats().num_ops as usize;
        assert!(
            live <= DOCUMENT_OVERHEAD + HEAP_PER_OP * ops,
            "{live} bytes live for {ops} operations"
        );
        assert!(
            live <= DOCUMENT_OVERHEAD + LIVE_FACTOR * bytes.len(),
            "{live} bytes live for {} saved",
            bytes.len()
        );
        // Small documents peak higher for their size (12x at 64 KB), but
        // far below what a message at the limit may cost; large ones, near
        // the limit, peak under the factor.
        assert!(peak <= APPLY_PEAK_FACTOR * max_message);
        if bytes.len() > 256 * 1024 {
            assert!(
                peak <= APPLY_PEAK_FACTOR * bytes.len(),
                "{peak} bytes at peak for {} saved",
                bytes.len()
            );
        }
        drop(loaded);
    }
}

fn budget_doc_id(i: u32) -> DocumentId {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&i.to_be_bytes());
    DocumentId(id)
}

/// A sync message of these heads, needs and haves, carrying no changes.
fn sync_message(
    heads: Vec<automerge::ChangeHash>,
    need: Vec<automerge::ChangeHash>,
    have: Vec<automerge::sync::Have>,
) -> Vec<u8> {
    automerge::sync::Message {
        heads,
        need,
        have,
        changes: automerge::sync::ChunkList::empty(),
        flags: None,
        version: automerge::sync::MessageVersion::V2,
    }
    .encode()
}

/// The frames the session has to send, taken; those `of_kind` are counted.
fn take_sent(session: &mut Session, of_kind: fn(&Frame) -> bool) -> usize {
    std::iter::from_fn(|| session.poll_transmit())
        .filter(|frame| of_kind(&Frame::decode(frame, usize::MAX).unwrap()))
        .count()
}

/// Everything the session sends, pumping again while it wants to; the
/// offers among it are counted.
fn drain_offers(session: &mut Session, store: &mut MemoryStore) -> usize {
    let mut offers = 0;
    loop {
        offers += take_sent(session, |f| matches!(f, Frame::Offer { .. }));
        if !session.wants_pump() {
            return offers;
        }
        session.pump(store).unwrap();
    }
}

/// A sending session over `n` dossiers, started, nothing sent yet, and the
/// peer's Hello that opens a window for all of them.
fn sender_of(n: u32) -> (Session, MemoryStore, Vec<u8>) {
    let mut store = MemoryStore::new();
    for i in 0..n {
        store.put(budget_doc_id(i), dossier(8, 4));
    }
    let mut session = Session::new([0xA; 32], SessionConfig::default(), &mut store).unwrap();
    while session.poll_transmit().is_some() {}
    let hello = Frame::Hello {
        version: PROTOCOL_VERSION,
        since: 0,
        last_seq: 0,
        window_docs: n,
        window_bytes: 32 << 20,
    }
    .encode();
    (session, store, hello)
}

/// What the sender keeps for each document it has in flight to a peer that
/// holds none of it (an initial sync: the window's every offer), measured
/// after the offers were sent and dropped: the bound's "our offers in
/// flight" line counts [`OFFER_STATE`] for each of `max_window_docs`.
#[test]
fn a_sender_keeps_no_more_per_offer_in_flight_than_the_bound_counts() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    // One past what 4,096 buckets hold (7/8 of them): the map of exchanges
    // has just doubled, the most it holds per entry.
    let n: u32 = 3585;
    let (mut session, mut store, hello) = sender_of(n);
    let before = LIVE.load(Ordering::SeqCst);
    session.handle(&hello, &mut store, &mut AdmitAll).unwrap();
    let offers = drain_offers(&mut session, &mut store);
    let kept = LIVE.load(Ordering::SeqCst).saturating_sub(before);
    // The precondition: every document went out as an offer and is still
    // in flight (nothing acknowledged it).
    assert_eq!(offers, n as usize);
    assert_eq!(session.in_flight(), n as usize);
    let per_offer = kept / n as usize;
    eprintln!("{kept} bytes kept for {n} offers in flight: {per_offer} each");
    assert!(
        per_offer <= OFFER_STATE,
        "{per_offer} bytes kept per offer in flight, the bound counts {OFFER_STATE}"
    );
}

/// A hostile peer replies to every offer in flight with a sync message as
/// large as the guard lets through in heads, needs and Bloom filters, and
/// never acknowledges. The sender answers each reply, and keeps nothing of
/// it: before, each offer's Automerge state held its last reply's lists
/// for as long as the offer was in flight (here some 200 KB an offer).
#[test]
fn a_peer_s_replies_are_not_kept_while_its_offers_stay_in_flight() {
    use automerge::ChangeHash;
    use automerge::sync::{BloomFilter, Have};
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let n: u32 = 100;
    let (mut session, mut store, hello) = sender_of(n);
    session.handle(&hello, &mut store, &mut AdmitAll).unwrap();
    assert_eq!(drain_offers(&mut session, &mut store), n as usize);
    let hashes = |salt: u8| -> Vec<ChangeHash> {
        (0..1024u32)
            .map(|i| {
                let mut h = [salt; 32];
                h[..4].copy_from_slice(&i.to_be_bytes());
                ChangeHash(h)
            })
            .collect()
    };
    let reply = sync_message(
        hashes(1),
        hashes(2),
        (0..4u8)
            .map(|k| Have {
                last_sync: hashes(10 + k),
                bloom: BloomFilter::from_hashes(hashes(20 + k).into_iter()),
            })
            .collect(),
    );
    let before = LIVE.load(Ordering::SeqCst);
    let mut continuations = 0;
    for i in 0..n {
        let frame = Frame::Reply {
            doc: budget_doc_id(i),
            message: reply.clone(),
        }
        .encode();
        session.handle(&frame, &mut store, &mut AdmitAll).unwrap();
        continuations += take_sent(&mut session, |f| matches!(f, Frame::Continue { .. }));
    }
    let kept = LIVE.load(Ordering::SeqCst).saturating_sub(before);
    // The preconditions: every reply was read and answered, and the offers
    // are all still in flight.
    assert_eq!(continuations, n as usize);
    assert_eq!(session.in_flight(), n as usize);
    eprintln!(
        "{kept} bytes kept after {n} replies of {} bytes",
        reply.len()
    );
    assert!(
        kept <= n as usize * 64,
        "{kept} bytes kept after {n} replies: the replies' lists outlived them"
    );
}

/// Everything the session has to send and to report, dropped (the driver
/// takes both after every turn).
fn drain(session: &mut Session) {
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
}

/// What the receiver keeps for each offer of the peer's in its window until
/// its `Ack`: the bound's line "the peer's offers in our window" counts
/// [`RECEIVED_OFFER_STATE`] for each of `window_docs`. The worst a peer can
/// make of it: it leaves its first offer unfinished (so no `Ack` can pass
/// it) and fills the rest of the window with offers of one document it
/// completes, each a few bytes, so every offer stays open (sequence,
/// document, size, and the document's list of sequences) until the commit;
/// after the commit only the size stays, until the first is finished.
#[test]
fn a_receiver_keeps_no_more_per_offer_in_its_window_than_the_bound_counts() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let config = SessionConfig::default();
    let window = config.window_docs as u64;
    let mut store = MemoryStore::new();
    let mut session = Session::new([0xB; 32], config, &mut store).unwrap();
    let hello = Frame::Hello {
        version: PROTOCOL_VERSION,
        since: 0,
        last_seq: window,
        window_docs: 1024,
        window_bytes: 8 << 20,
    };
    session
        .handle(&hello.encode(), &mut store, &mut AdmitAll)
        .unwrap();
    let offer =
        |seq: u64, doc: DocumentId, message: Vec<u8>| Frame::Offer { seq, doc, message }.encode();
    // Sequence 1: a head we do not hold and no change: we reply, and the
    // document waits for a continuation that never comes.
    let unfinished = offer(
        1,
        budget_doc_id(1),
        sync_message(vec![automerge::ChangeHash([7; 32])], Vec::new(), Vec::new()),
    );
    session
        .handle(&unfinished, &mut store, &mut AdmitAll)
        .unwrap();
    // Sequence 2 opens the other document (complete at once: it names no
    // head), so what follows adds only per-offer state.
    let repeated = sync_message(Vec::new(), Vec::new(), Vec::new());
    session
        .handle(
            &offer(2, budget_doc_id(2), repeated.clone()),
            &mut store,
            &mut AdmitAll,
        )
        .unwrap();
    drain(&mut session);
    let before = LIVE.load(Ordering::SeqCst);
    for seq in 3..=window {
        session
            .handle(
                &offer(seq, budget_doc_id(2), repeated.clone()),
                &mut store,
                &mut AdmitAll,
            )
            .unwrap();
        drain(&mut session);
    }
    let offers = (window - 2) as usize;
    let open = LIVE.load(Ordering::SeqCst).saturating_sub(before);
    // The preconditions: the window is full, nothing is acknowledged, every
    // offer is still open.
    assert_eq!(session.window_used().0, window as usize);
    assert_eq!(session.waiting(), window as usize);
    // The peer's run is over: the complete document is committed; the
    // first sequence still holds the acknowledgement back.
    session.flush(&mut store).unwrap();
    let acks = take_sent(&mut session, |f| matches!(f, Frame::Ack { .. }));
    while session.poll_event().is_some() {}
    assert_eq!(session.stats().commits, 1, "precondition: committed");
    assert_eq!(acks, 0, "precondition: nothing acknowledged");
    assert_eq!(session.waiting(), 1);
    assert_eq!(session.window_used().0, window as usize);
    let committed = LIVE.load(Ordering::SeqCst).saturating_sub(before);
    eprintln!(
        "{open} bytes kept for {offers} open offers ({} each); {committed} once committed ({} each)",
        open / offers,
        committed / offers
    );
    assert!(
        open / offers <= RECEIVED_OFFER_STATE,
        "{} bytes kept per open offer in our window, the bound counts {RECEIVED_OFFER_STATE}",
        open / offers
    );
    assert!(committed <= open);
}
