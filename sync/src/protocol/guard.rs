//! The guard in front of Automerge: every byte string a peer sends is
//! checked here before Automerge parses it.
//!
//! Automerge 0.12 trusts what it reads: a Bloom filter's probe count sizes
//! an allocation (2³²−1 probes: 16 GiB), zero bits per entry divides by
//! zero, a hash listed twice in `need` panics, DEFLATE-compressed chunks and
//! columns inflate without limit, and RLE columns expand to as many values
//! as they claim (see `docs/upstream/`). The guard walks the sync message
//! and the chunks inside it itself, allocating nothing in proportion to
//! what the bytes claim, and holds every count to [`GuardLimits`]:
//!
//! - heads, `need` and each `have`'s last-sync list: at most
//!   `max_hashes` hashes, none twice;
//! - each Bloom filter: 1..=32 bits per entry and probes, at most
//!   `max_bloom_entries` entries, and exactly the bytes those parameters
//!   need;
//! - the changes list: at most `max_changes` entries, none empty, every
//!   length within the message;
//! - each chunk: a document or change chunk (never a compressed change or a
//!   bundle), no deflated column, every column within the chunk, and the
//!   values its columns expand to counted run by run: changes and ops per
//!   message at most `max_changes` and `max_ops`; a document names no actor
//!   without a change (Automerge panics on that too).
//!
//! Nothing this system sends needs more: snapshots are stored and sent
//! uncompressed (`save_nocompress`), a snapshot an older version stored
//! with `save()` is re-saved before it is offered ([`uncompressed`]), and
//! the replies Automerge builds with a deflated `save()` are re-encoded
//! ([`uncompressed_reply`]) before they leave. So a deflated column from a
//! peer is never legitimate, and is refused rather than inflated under a cap.
//!
//! What the session does with an error: [`GuardError::is_hostile`] (bytes no
//! honest node writes, each of which would crash or exhaust Automerge)
//! closes the session with the reason; anything else (over a limit, as a
//! very large real document could be, or unreadable) refuses that document
//! alone, so one oversized document cannot wedge a peer's feed.

mod chunks;
mod reader;

use automerge::Automerge;
use automerge::sync::{Message, State, SyncDoc};
use data_encoding::HEXLOWER;

use reader::Reader;

const SYNC_V1: u8 = 0x42;
const SYNC_V2: u8 = 0x43;
/// Automerge writes 3 bytes of flags; anything longer is not from it.
const MAX_FLAGS: u64 = 16;
/// Bloom filter parameters accepted (Automerge uses 10 bits and 7 probes).
const MAX_BLOOM_BITS_PER_ENTRY: u32 = 32;
const MAX_BLOOM_PROBES: u32 = 32;

/// What a peer's bytes may hold. The defaults are generous for real
/// traffic (a dossier is a few KB, tens of changes and a few hundred ops; a
/// province's configuration document a few hundred KB) and keep what one
/// accepted message can cost: Automerge needs about 91 bytes per op to load
/// a document (measured: 2²⁰ ops peak at 95 MB), so `max_ops` = 2¹⁹ holds
/// one message under 64 MiB (`tests/guard_alloc.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardLimits {
    /// Hashes in heads, in `need`, in each `have`'s last-sync list, in a
    /// document's heads and in a change's dependencies.
    pub max_hashes: usize,
    /// Bloom filters (`have`) in a message (Automerge sends one).
    pub max_haves: usize,
    /// Entries a Bloom filter may summarise.
    pub max_bloom_entries: usize,
    /// Changes in a message: change chunks plus the changes of documents.
    pub max_changes: u64,
    /// Ops in a message, as its columns would expand.
    pub max_ops: u64,
    /// Actors named in a document or a change.
    pub max_actors: usize,
}

impl Default for GuardLimits {
    fn default() -> Self {
        GuardLimits {
            max_hashes: 1024,
            max_haves: 16,
            max_bloom_entries: 1 << 16,
            max_changes: 1 << 16,
            max_ops: 1 << 19,
            max_actors: 1 << 16,
        }
    }
}

impl GuardLimits {
    /// No count limits (format checks only).
    pub(crate) fn unlimited() -> Self {
        GuardLimits {
            max_hashes: usize::MAX,
            max_haves: usize::MAX,
            max_bloom_entries: usize::MAX,
            max_changes: u64::MAX,
            max_ops: u64::MAX,
            max_actors: usize::MAX,
        }
    }
}

/// Why a peer's bytes were refused before reaching Automerge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the bytes end inside {0}")]
    Truncated(&'static str),
    #[error("{0} is not a valid LEB128 number")]
    BadNumber(&'static str),
    #[error("not an Automerge sync message: first byte {0:#04x}, expected 0x42 or 0x43")]
    NotSyncMessage(u8),
    #[error("{what}: {count} hashes, more than the limit of {limit}")]
    TooManyHashes {
        what: &'static str,
        count: u64,
        limit: usize,
    },
    #[error("{what} lists hash {hash} twice (Automerge panics on that)")]
    DuplicateHash { what: &'static str, hash: String },
    #[error("{count} Bloom filters ('have') in one message, more than the limit of {limit}")]
    TooManyHaves { count: u64, limit: usize },
    #[error("Bloom filter with {field} = {value}: must be 1..={max}")]
    BloomParameter {
        field: &'static str,
        value: u64,
        max: u32,
    },
    #[error("Bloom filter of {count} entries, more than the limit of {limit}")]
    BloomEntries { count: u64, limit: usize },
    #[error(
        "Bloom filter of {entries} entries at {bits} bits each needs {expected} bytes, has {actual}"
    )]
    BloomLength {
        entries: u64,
        bits: u64,
        expected: u64,
        actual: usize,
    },
    #[error("an entry of the changes list is empty")]
    EmptyChunk,
    #[error("{0} bytes after the end of the sync message")]
    TrailingBytes(usize),
    #[error("flags section of {0} bytes; Automerge writes 3")]
    Flags(u64),
    #[error("not an Automerge chunk (bad magic bytes)")]
    NotAChunk,
    #[error("chunk claims {claimed} bytes, only {available} follow")]
    ChunkLength { claimed: u64, available: usize },
    #[error(
        "compressed change chunk (type 2) refused: Automerge would inflate it without limit; send changes uncompressed"
    )]
    CompressedChunk,
    #[error("bundle chunk (type 3) refused: this system sends documents and changes only")]
    BundleChunk,
    #[error("unknown chunk type {0}")]
    UnknownChunkType(u8),
    #[error(
        "{section}: column {spec:#x} is DEFLATE-compressed; Automerge would inflate it without limit; send uncompressed (save_nocompress)"
    )]
    DeflatedColumn { section: &'static str, spec: u32 },
    #[error("{section}: columns claim {claimed} bytes, only {available} follow")]
    ColumnLength {
        section: &'static str,
        claimed: u64,
        available: usize,
    },
    #[error(
        "{section}: column {spec:#x} expands to more than the {limit} values left to this message ({count} so far)"
    )]
    ColumnTooLong {
        section: &'static str,
        spec: u32,
        count: u64,
        limit: u64,
    },
    #[error("{section}: column {spec:#x} is malformed ({problem})")]
    MalformedColumn {
        section: &'static str,
        spec: u32,
        problem: &'static str,
    },
    #[error("{what}: {count}, more than the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: u64,
        limit: u64,
    },
    #[error(
        "document names {actors} actors but holds {changes} changes: an actor without a change (Automerge panics on that)"
    )]
    IdleActors { actors: u64, changes: u64 },
    #[error("{0} bytes left over after a document chunk")]
    Leftover(usize),
    #[error("Automerge could not read the message: {0}")]
    Automerge(String),
    #[error("Automerge panicked on the peer's data: {0}")]
    AutomergePanicked(String),
}

impl GuardError {
    /// Bytes no honest node writes and that would crash or exhaust
    /// Automerge (Bloom parameters, a hash twice, compression). Everything
    /// else (over a count limit, as a very large real document could be, or
    /// unreadable, as a corrupt one) concerns that document alone.
    pub fn is_hostile(&self) -> bool {
        matches!(
            self,
            GuardError::BloomParameter { .. }
                | GuardError::BloomLength { .. }
                | GuardError::DuplicateHash { .. }
                | GuardError::IdleActors { .. }
                | GuardError::CompressedChunk
                | GuardError::BundleChunk
                | GuardError::DeflatedColumn { .. }
                | GuardError::AutomergePanicked(_)
        )
    }

    /// Refused for compression (not for size or form).
    fn is_compression(&self) -> bool {
        matches!(
            self,
            GuardError::CompressedChunk | GuardError::DeflatedColumn { .. }
        )
    }
}

/// What is left of a message's changes and ops.
pub(crate) struct Budget {
    changes: u64,
    ops: u64,
    max_changes: u64,
}

impl Budget {
    fn new(limits: &GuardLimits) -> Self {
        Budget {
            changes: limits.max_changes,
            ops: limits.max_ops,
            max_changes: limits.max_changes,
        }
    }

    fn unlimited() -> Self {
        Budget::new(&GuardLimits::unlimited())
    }

    fn spend_changes(&mut self, n: u64) -> Result<(), GuardError> {
        self.changes = self.changes.checked_sub(n).ok_or(GuardError::TooMany {
            what: "changes in one message",
            count: (self.max_changes - self.changes).saturating_add(n),
            limit: self.max_changes,
        })?;
        Ok(())
    }

    /// `n` is at most what is left: columns are counted against it.
    fn spend_ops(&mut self, n: u64) {
        self.ops = self.ops.saturating_sub(n);
    }
}

/// Check a sync message from a peer, then decode it.
pub fn sync_message(bytes: &[u8], limits: &GuardLimits) -> Result<Message, GuardError> {
    sync_message_counted(bytes, limits).map(|(message, _)| message)
}

/// What a checked message carries, as its columns would expand (upper
/// bounds: the longest column of each chunk), for budgets across messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub changes: u64,
    pub ops: u64,
}

/// [`sync_message`], with the changes and ops the message carries.
pub fn sync_message_counted(
    bytes: &[u8],
    limits: &GuardLimits,
) -> Result<(Message, Counts), GuardError> {
    let budget = check_sync_message(bytes, limits)?;
    let counts = Counts {
        changes: limits.max_changes - budget.changes,
        ops: limits.max_ops - budget.ops,
    };
    let message = Message::decode(bytes).map_err(|e| GuardError::Automerge(e.to_string()))?;
    Ok((message, counts))
}

/// Check a whole saved document or a list of chunks from a peer (what
/// `Automerge::load` and `load_incremental` read).
pub fn document(bytes: &[u8], limits: &GuardLimits) -> Result<(), GuardError> {
    chunks::chunks(bytes, limits, &mut Budget::new(limits))
}

/// Does a saved document hold no compressed chunk and no deflated column
/// (so it may be sent to a peer as it is)? Old snapshots, saved with
/// Automerge's `save()`, may not.
pub fn uncompressed(bytes: &[u8]) -> bool {
    chunks::uncompressed(bytes)
}

/// `generate_sync_message` (contained), with a whole document re-saved
/// uncompressed: Automerge sends `save()` (deflated columns) when the peer
/// has nothing or needs more than a third of the document, which the peer's
/// guard refuses.
pub fn uncompressed_reply(
    doc: &Automerge,
    state: &mut State,
) -> Result<Option<Message>, GuardError> {
    contained(|| {
        let mut message = doc.generate_sync_message(state)?;
        let deflated = message.changes.iter().any(|chunk| !uncompressed(chunk));
        if deflated {
            message.changes = doc.save_nocompress().into();
        }
        Some(message)
    })
}

/// Run Automerge on a peer's data with a panic turned into an error.
///
/// The checks above stop what would crash Automerge or exhaust memory
/// before it reads anything; they cannot check what the bytes *mean*. A
/// well-formed chunk that references an object it never created still
/// panics inside Automerge ("Missing from Index", index out of bounds, and
/// others: 2 % of random mutations of real chunks that pass the checks do).
/// Whatever Automerge was building from that data must then be dropped.
pub fn contained<T>(f: impl FnOnce() -> T) -> Result<T, GuardError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "no message".to_string());
        GuardError::AutomergePanicked(message)
    })
}

fn check_sync_message(bytes: &[u8], limits: &GuardLimits) -> Result<Budget, GuardError> {
    let mut r = Reader::new(bytes);
    let kind = r.byte("message type")?;
    if kind != SYNC_V1 && kind != SYNC_V2 {
        return Err(GuardError::NotSyncMessage(kind));
    }
    hashes(&mut r, "heads", limits)?;
    hashes(&mut r, "need", limits)?;
    let haves = r.uleb("have count")?;
    if haves > limits.max_haves as u64 {
        return Err(GuardError::TooManyHaves {
            count: haves,
            limit: limits.max_haves,
        });
    }
    for _ in 0..haves {
        hashes(&mut r, "have last-sync", limits)?;
        let len = r.uleb("Bloom filter length")?;
        bloom(r.take(len, "Bloom filter")?, limits)?;
    }
    let entries = r.uleb("changes count")?;
    if entries > limits.max_changes {
        return Err(GuardError::TooMany {
            what: "entries in the changes list",
            count: entries,
            limit: limits.max_changes,
        });
    }
    let mut budget = Budget::new(limits);
    for _ in 0..entries {
        let len = r.uleb("change length")?;
        if len == 0 {
            return Err(GuardError::EmptyChunk);
        }
        let chunk = r.take(len, "change")?;
        chunks::chunks(chunk, limits, &mut budget)?;
    }
    if !r.is_empty() {
        let len = r.uleb("flags length")?;
        if len > MAX_FLAGS {
            return Err(GuardError::Flags(len));
        }
        r.take(len, "flags")?;
    }
    if !r.is_empty() {
        return Err(GuardError::TrailingBytes(r.remaining()));
    }
    Ok(budget)
}

/// A length-prefixed list of hashes: bounded, and no hash twice.
fn hashes(r: &mut Reader<'_>, what: &'static str, limits: &GuardLimits) -> Result<(), GuardError> {
    let count = r.uleb(what)?;
    if count > limits.max_hashes as u64 {
        return Err(GuardError::TooManyHashes {
            what,
            count,
            limit: limits.max_hashes,
        });
    }
    let bytes = r.take(count.saturating_mul(32), what)?;
    // Bounded by `max_hashes` (checked above), not by the peer's claim.
    let mut sorted: Vec<&[u8]> = bytes.chunks_exact(32).collect();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(GuardError::DuplicateHash {
            what,
            hash: HEXLOWER.encode(pair[0]),
        });
    }
    Ok(())
}

/// A Bloom filter: empty, or parameters within bounds and exactly the bits
/// they call for.
fn bloom(bytes: &[u8], limits: &GuardLimits) -> Result<(), GuardError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader::new(bytes);
    let entries = r.uleb("Bloom filter entries")?;
    let bits = r.uleb("Bloom filter bits per entry")?;
    let probes = r.uleb("Bloom filter probes")?;
    if entries > limits.max_bloom_entries as u64 {
        return Err(GuardError::BloomEntries {
            count: entries,
            limit: limits.max_bloom_entries,
        });
    }
    if entries == 0 {
        return Err(GuardError::BloomParameter {
            field: "entries",
            value: 0,
            max: limits.max_bloom_entries.min(u32::MAX as usize) as u32,
        });
    }
    for (field, value, max) in [
        ("bits per entry", bits, MAX_BLOOM_BITS_PER_ENTRY),
        ("probes", probes, MAX_BLOOM_PROBES),
    ] {
        if value == 0 || value > u64::from(max) {
            return Err(GuardError::BloomParameter { field, value, max });
        }
    }
    // As Automerge computes it: ceil(entries × bits / 8).
    let expected = entries.saturating_mul(bits).div_ceil(8);
    if expected != r.remaining() as u64 {
        return Err(GuardError::BloomLength {
            entries,
            bits,
            expected,
            actual: r.remaining(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ObjType, ROOT, ReadDoc};

    use super::*;
    use crate::protocol::messages;

    fn dossier(changes: usize) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(&[7, 7][..]));
        for k in 0..changes {
            doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                let events = match tx.get(ROOT, "events")? {
                    Some((_, id)) => id,
                    None => tx.put_object(ROOT, "events", ObjType::List)?,
                };
                let e = tx.insert_object(&events, k, ObjType::Map)?;
                tx.put(&e, "note", format!("bước {k}: chuyển phòng Tư pháp"))?;
                Ok(())
            })
            .unwrap();
        }
        doc
    }

    /// What this node sends in an exchange passes a peer's guard, and
    /// decodes to the message Automerge reads.
    #[test]
    fn our_opening_messages_pass_the_guard() {
        let limits = GuardLimits::default();
        let doc = dossier(80);
        let changes = doc.get_changes(&[]);
        let known = vec![changes[10].hash()];
        for message in [
            messages::opening(&doc, &[]).0,
            messages::opening(&doc, &known).0,
            messages::opening_whole(doc.save_nocompress(), doc.get_heads()),
        ] {
            let checked = sync_message(&message, &limits).unwrap();
            assert_eq!(checked, Message::decode(&message).unwrap());
            assert!(!checked.changes.is_empty());
        }
        // A whole snapshot saved deflated would not pass: the sender re-saves it.
        let deflated = doc.save();
        assert!(!uncompressed(&deflated), "precondition: deflated columns");
        let message = messages::opening_whole(deflated, doc.get_heads());
        assert!(sync_message(&message, &limits).unwrap_err().is_hostile());
    }
}
