//! Building the Automerge sync messages of an exchange.
//!
//! The first message of an exchange is built from what we persisted about
//! the peer (the heads it held after the last exchange): it carries the
//! changes since those heads straight away — or the whole document when the
//! peer has none — instead of spending a round trip on heads and Bloom
//! filters first. Everything after it is Automerge's own sync protocol
//! (`automerge::sync`), which repairs any wrong belief (a peer that lost
//! data) with `need` and `have`.

use automerge::sync::{Capability, Message, MessageFlags, MessageVersion, State};
use automerge::{Automerge, ChangeHash};

fn flags() -> MessageFlags {
    let mut flags = MessageFlags::new();
    flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
    // The offering side never applies changes in its own exchange: the
    // peer's changes travel in the peer's exchange (its feed), so each
    // direction stays a simple, checkpointed stream.
    flags.set(MessageFlags::READ_ONLY);
    flags
}

/// The opening message for a peer believed to hold `known` (may be empty),
/// and the heads it takes as shared: with the document's heads, what
/// [`opening_state`] rebuilds the sender's state from.
pub(crate) fn opening(doc: &Automerge, known: &[ChangeHash]) -> (Vec<u8>, Vec<ChangeHash>) {
    let heads = doc.get_heads();
    let known_here = !known.is_empty()
        && known
            .iter()
            .all(|h| doc.get_change_meta_by_hash(h).is_some());
    let payload = if known_here {
        let changes = doc.get_changes(known);
        let size: usize = changes.iter().map(|c| c.raw_bytes().len()).sum();
        let mut joined = Vec::with_capacity(size);
        for change in &changes {
            joined.extend_from_slice(change.raw_bytes());
        }
        joined
    } else {
        // Uncompressed: the transport compresses the stream, and does it
        // better across many documents that share vocabulary.
        doc.save_nocompress()
    };
    let shared = if known_here {
        known.to_vec()
    } else {
        Vec::new()
    };
    (message(heads, payload), shared)
}

/// The changes [`opening`] sends a peer believed to hold `known`: those
/// since `known` if this document holds all of it, else all of them.
pub(crate) fn sent_changes<'a>(
    doc: &'a Automerge,
    known: &[ChangeHash],
) -> Vec<automerge::ChangeMetadata<'a>> {
    let known_here = !known.is_empty()
        && known
            .iter()
            .all(|h| doc.get_change_meta_by_hash(h).is_some());
    doc.get_changes_meta(if known_here { known } else { &[] })
}

/// The opening message carrying a whole saved document as it is stored,
/// for a peer that has none of it (what Automerge's own sync sends then).
/// It takes nothing as shared.
pub(crate) fn opening_whole(bytes: Vec<u8>, heads: Vec<ChangeHash>) -> Vec<u8> {
    message(heads, bytes)
}

fn message(heads: Vec<ChangeHash>, payload: Vec<u8>) -> Vec<u8> {
    Message {
        heads,
        need: Vec::new(),
        have: Vec::new(),
        changes: if payload.is_empty() {
            automerge::sync::ChunkList::empty()
        } else {
            payload.into()
        },
        flags: Some(flags()),
        version: MessageVersion::V2,
    }
    .encode()
}

/// The sender-side state an opening of `heads`, taking `shared_heads` as
/// shared, leaves. A sender keeps only those two lists for each offer in
/// flight (thousands in an initial sync) and rebuilds the state to answer a
/// reply (`outbound.rs`; the per-peer bound, `budget.rs`).
pub(crate) fn opening_state(shared_heads: Vec<ChangeHash>, heads: Vec<ChangeHash>) -> State {
    State {
        shared_heads,
        last_sent_heads: heads,
        their_heads: None,
        their_need: None,
        their_have: None,
        in_flight: true,
        have_responded: true,
        their_capabilities: Some(vec![Capability::MessageV2, Capability::SyncReset]),
        read_only: true,
        ..State::default()
    }
}

/// A new document arriving whole in one message: load it strictly (a
/// partial load is an error here, unlike `load_incremental`), and keep the
/// bytes as they came. `None` if the message is anything else.
pub(crate) fn whole_new_document(message: &Message) -> Option<(Automerge, Vec<u8>)> {
    let mut chunks = message.changes.iter();
    let (Some(bytes), None) = (chunks.next(), chunks.next()) else {
        return None;
    };
    let doc = Automerge::load(bytes).ok()?;
    let mut heads = doc.get_heads();
    heads.sort();
    let mut expected = message.heads.clone();
    expected.sort();
    (heads == expected).then(|| (doc, bytes.to_vec()))
}

/// The receiving side's state for an exchange with a peer it believes holds `known`.
pub(crate) fn receiving_state(known: &[ChangeHash]) -> State {
    State {
        shared_heads: known.to_vec(),
        ..State::default()
    }
}

/// Does `doc` hold every one of `heads`?
pub(crate) fn holds_all(doc: &Automerge, heads: &[ChangeHash]) -> bool {
    heads
        .iter()
        .all(|h| doc.get_change_meta_by_hash(h).is_some())
}
