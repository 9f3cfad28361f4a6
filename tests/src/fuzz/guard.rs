//! The guard target: `lienthong_sync::protocol::guard` in front of
//! Automerge, on sync messages and whole documents as a peer sends them.
//!
//! Input: `kind:u8 bytes…`; an even first byte makes the rest a sync
//! message, an odd one a saved document.
//!
//! Invariants: the guard never panics and costs at most a few times the
//! input's size; whatever it lets through is something Automerge itself
//! reads (`Message::decode`, `Automerge::load`), and applying it — a
//! message to a real dossier on both sides of an exchange, a document
//! loaded whole — stays within the per-input memory budget and never
//! panics outside `guard::contained` (the session runs Automerge on a
//! peer's data inside it: Automerge still panics on some well-formed but
//! inconsistent chunks, `docs/upstream/well-formed-chunks-panic.md`). That
//! is the guard's promise: after it, nothing a peer sends can make
//! Automerge allocate what the peer merely claims, or crash the node.

use automerge::Automerge;
use automerge::sync::{Message, State, SyncDoc};
use lienthong_sync::protocol::guard::{self, GuardLimits};

use super::{MEMORY_BUDGET, alloc, fixture};

/// What the guard alone may cost, beyond the input's size several times.
const GUARD_SLACK: usize = 1 << 20;

pub fn guard(data: &[u8]) {
    let Some((kind, bytes)) = data.split_first() else {
        return;
    };
    let limits = GuardLimits::default();
    if kind & 1 == 0 {
        sync_message(data, bytes, &limits);
    } else {
        document(data, bytes, &limits);
    }
}

fn sync_message(data: &[u8], bytes: &[u8], limits: &GuardLimits) {
    let (checked, cost) =
        alloc::measure_input(data, MEMORY_BUDGET, || guard::sync_message(bytes, limits));
    assert!(
        cost.within(8 * bytes.len() + GUARD_SLACK),
        "the guard took {} bytes for a {}-byte message",
        cost.peak,
        bytes.len()
    );
    let Ok(message) = checked else {
        return;
    };
    assert!(
        Message::decode(bytes).is_ok(),
        "the guard let through a message Automerge cannot decode"
    );
    let f = fixture::fixture();
    // The receiving side: an older copy of the dossier.
    let (_, cost) = alloc::measure_input(data, MEMORY_BUDGET, || {
        let mut receiver = f.dossiers[0].versions[1].clone();
        let mut state = State::new();
        let applied = guard::contained(|| {
            receiver
                .receive_sync_message(&mut state, message.clone())
                .is_ok()
        });
        if applied == Ok(true) {
            let _ = guard::uncompressed_reply(&receiver, &mut state);
        }
    });
    assert!(
        cost.within(MEMORY_BUDGET),
        "a message the guard let through cost {} bytes to apply",
        cost.peak
    );
    // The offering side: the whole dossier, answering a reply.
    let (_, cost) = alloc::measure_input(data, MEMORY_BUDGET, || {
        let mut sender = f.dossiers[0].latest().clone();
        let mut state = State::new();
        let _ = sender.generate_sync_message(&mut state);
        let applied = guard::contained(|| sender.receive_sync_message(&mut state, message).is_ok());
        if applied == Ok(true) {
            let _ = guard::uncompressed_reply(&sender, &mut state);
        }
    });
    assert!(
        cost.within(MEMORY_BUDGET),
        "a reply the guard let through cost {} bytes to answer",
        cost.peak
    );
}

fn document(data: &[u8], bytes: &[u8], limits: &GuardLimits) {
    let (checked, cost) =
        alloc::measure_input(data, MEMORY_BUDGET, || guard::document(bytes, limits));
    assert!(
        cost.within(MEMORY_BUDGET),
        "the guard took {} bytes for a {}-byte document",
        cost.peak,
        bytes.len()
    );
    if checked.is_err() {
        return;
    }
    let (loaded, cost) = alloc::measure_input(data, MEMORY_BUDGET, || {
        guard::contained(|| Automerge::load(bytes))
    });
    assert!(
        cost.within(MEMORY_BUDGET),
        "a document the guard let through cost {} bytes to load",
        cost.peak
    );
    drop(loaded);
}
