//! The per-peer memory bound: its sum for the default configuration, and
//! the Automerge figures it rests on, measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use lienthong_sync::protocol::inbound::HEAP_PER_OP;
use lienthong_sync::transport::budget::{
    APPLY_PEAK_FACTOR, DOCUMENT_OVERHEAD, LIVE_FACTOR, PER_PEER_TARGET,
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

#[test]
fn the_default_configuration_stays_under_64_mib_per_peer() {
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
