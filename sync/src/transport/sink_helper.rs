//! The sink's helper thread: a turn of many offers is prepared ahead of
//! the session (`protocol::prepare`: the guard, decoding, the load of each
//! whole document) on a second core while the session admits and stores
//! the earlier ones. Called by the driver's loop (`driver::handle_inbox`)
//! on its blocking thread; memory it may hold is counted in `budget.rs`.

use crate::protocol::{Admission, Prepared, Preparer, Session, SessionError, SyncStore};

/// Offers in a turn from which a helper thread prepares them ahead of the
/// session (`protocol::prepare`): below this, a thread costs more than it
/// saves.
pub(crate) const PREPARE_MIN_OFFERS: usize = 8;

/// A chunk of prepared frames handed from the helper to the session closes
/// once the documents loaded for it are counted at this many bytes
/// ([`prepared_cost`]; about 6 dossiers). Beside the chunk the session is
/// handling, at most two finished chunks wait for it (one in the channel,
/// one the helper holds) and the session holds at most one it prepared
/// ahead, so what is loaded ahead stays under four chunks (`budget.rs`;
/// 144 KiB keeps the four about where two chunks of 384 KiB were).
pub(crate) const PREPARE_CHUNK_BYTES: usize = 144 << 10;

/// What a document loaded from a message of `len` bytes is counted as
/// (`budget.rs`: a loaded document's overhead and its live heap).
pub(crate) fn prepared_cost(len: usize) -> usize {
    super::budget::DOCUMENT_OVERHEAD + super::budget::LIVE_FACTOR * len
}

/// Does this machine have a core for a helper thread?
pub(super) fn second_core() -> bool {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from)) > 1
}

/// Hand `frames` to the session as `driver::handle_inbox` does, with a helper
/// thread preparing them ahead (`protocol::prepare`: the offers' guard
/// checks, decoding and the loads of the whole documents they carry)
/// while the session admits and stores the earlier ones. In order, in
/// chunks of [`PREPARE_CHUNK_BYTES`]. Who prepares a chunk is decided as
/// the turn goes, not in advance: the helper claims the next unclaimed
/// chunk whenever it is free; the session claims the chunk it needs if
/// nobody has, and, when the helper is still preparing that one, prepares
/// the next unclaimed chunk itself instead of waiting for it. So neither
/// thread waits while there is a chunk left to prepare (a fixed share left
/// the session waiting on the helper at some chunks and the helper waiting
/// on the session at others: `docs/benchmarks.md`, "The whole run").
/// At most four chunks are loaded ahead: the one being handled, one the
/// session prepared ahead (or part of it), one finished in the channel
/// and one the helper finished and waits to send (`budget.rs`).
/// `handled` counts the frames the session took; the session stops taking
/// input as it would without the helper, and what was prepared for the
/// rest is dropped (they stay in the inbox, as bytes).
pub(super) fn handle_prepared<S: SyncStore, A: Admission>(
    session: &mut Session,
    store: &mut S,
    admission: &mut A,
    frames: &[Vec<u8>],
    handled: &mut usize,
) -> Result<(), SessionError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::TryRecvError;
    let preparer = session.preparer();
    let chunks = chunks(frames);
    // The first chunk nobody has claimed; claims go in increasing order.
    let next = AtomicUsize::new(0);
    let prepare_chunk = |preparer: &Preparer, i: usize| -> Vec<Prepared> {
        frames[chunks[i].clone()]
            .iter()
            .map(|f| prepare(preparer, f))
            .collect()
    };
    std::thread::scope(|scope| {
        // Room for one finished chunk: the helper goes on with the next
        // while the session handles the last, and waits with a finished
        // one when that room is taken. It sends only chunks it claimed, in
        // the order it claimed them, which is the order the session needs
        // them in.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(1);
        let helper = preparer.clone();
        let (next_, prepare_chunk_) = (&next, &prepare_chunk);
        let total = chunks.len();
        // A node short of threads prepares everything on the session's.
        let spawned = std::thread::Builder::new()
            .name("sync-prepare".into())
            .spawn_scoped(scope, move || {
                loop {
                    let i = next_.fetch_add(1, Ordering::AcqRel);
                    if i >= total {
                        return;
                    }
                    if tx.send(prepare_chunk_(&helper, i)).is_err() {
                        // The session stopped taking input.
                        return;
                    }
                }
            })
            .is_ok();
        // A chunk the session claimed while the helper prepared the one
        // before it, and the frames of it prepared so far: the session
        // prepares it frame by frame, between looks at the helper, and
        // stops as soon as the helper's chunk is there (the rest of it is
        // prepared when its turn comes).
        let mut ahead: Option<(usize, Vec<Prepared>)> = None;
        let finish = |k: usize, mut chunk: Vec<Prepared>| -> Vec<Prepared> {
            let range = chunks[k].clone();
            let done = chunk.len();
            chunk.extend(
                frames[range.start + done..range.end]
                    .iter()
                    .map(|f| prepare(&preparer, f)),
            );
            chunk
        };
        for i in 0..total {
            let chunk = match ahead.take() {
                Some((j, chunk)) if j == i => finish(j, chunk),
                kept => {
                    ahead = kept;
                    let ours = !spawned
                        || next
                            .compare_exchange(i, i + 1, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok();
                    if ours {
                        prepare_chunk(&preparer, i)
                    } else {
                        // The helper claimed chunk `i`.
                        match rx.try_recv() {
                            Ok(chunk) => chunk,
                            Err(TryRecvError::Disconnected) => break,
                            Err(TryRecvError::Empty) => {
                                if ahead.is_none() {
                                    let k = next.fetch_add(1, Ordering::AcqRel);
                                    if k < total {
                                        ahead = Some((k, Vec::new()));
                                    }
                                }
                                let mut got = None;
                                if let Some((k, partial)) = &mut ahead {
                                    let range = chunks[*k].clone();
                                    while partial.len() < range.len() {
                                        match rx.try_recv() {
                                            Ok(chunk) => {
                                                got = Some(chunk);
                                                break;
                                            }
                                            Err(TryRecvError::Disconnected) => break,
                                            Err(TryRecvError::Empty) => partial.push(prepare(
                                                &preparer,
                                                &frames[range.start + partial.len()],
                                            )),
                                        }
                                    }
                                }
                                match got.map_or_else(|| rx.recv(), Ok) {
                                    Ok(chunk) => chunk,
                                    Err(_) => break,
                                }
                            }
                        }
                    }
                }
            };
            for prepared in chunk {
                if !session.accepts_input() {
                    // Dropping `rx` stops the helper.
                    return Ok(());
                }
                *handled += 1;
                session.handle_prepared(prepared, store, admission)?;
            }
        }
        Ok(())
    })
}

fn prepare(preparer: &Preparer, frame: &[u8]) -> Prepared {
    if Preparer::worth_preparing(frame) {
        preparer.prepare(frame)
    } else {
        preparer.decode(frame)
    }
}

/// The turn's frames cut into chunks, each closing once its offers'
/// documents are counted at [`PREPARE_CHUNK_BYTES`].
fn chunks(frames: &[Vec<u8>]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut cost) = (0, 0);
    for (i, frame) in frames.iter().enumerate() {
        if Preparer::worth_preparing(frame) {
            cost += prepared_cost(frame.len());
        }
        if cost >= PREPARE_CHUNK_BYTES {
            chunks.push(start..i + 1);
            (start, cost) = (i + 1, 0);
        }
    }
    if start < frames.len() {
        chunks.push(start..frames.len());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocumentId;
    use crate::protocol::memory::MemoryStore;
    use crate::protocol::{AdmitAll, Frame, PROTOCOL_VERSION, SessionConfig};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ROOT};

    fn offers(n: u8) -> Vec<Vec<u8>> {
        let hello = Frame::Hello {
            version: PROTOCOL_VERSION,
            since: 0,
            last_seq: u64::from(n),
            window_docs: 1024,
            window_bytes: 8 << 20,
        };
        let mut frames = vec![hello.encode()];
        for i in 1..=n {
            let mut doc = Automerge::new().with_actor(ActorId::from(&[i, 7][..]));
            for k in 0..5 {
                doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.put(ROOT, format!("field {k}"), format!("hồ sơ {i}, bước {k}"))?;
                    Ok(())
                })
                .unwrap();
            }
            let (message, _) = crate::protocol::messages::opening(&doc, &[]);
            frames.push(
                Frame::Offer {
                    seq: u64::from(i),
                    doc: DocumentId([i; 16]),
                    message,
                }
                .encode(),
            );
        }
        frames
    }

    /// The documents stored (saved) and the frames sent.
    type Received = (Vec<(DocumentId, Vec<u8>)>, Vec<Vec<u8>>);

    /// What a receiving session made of `frames`, handed one by one or
    /// with the helper preparing them.
    fn receive(frames: &[Vec<u8>], helper: bool) -> Received {
        let mut store = MemoryStore::new();
        let mut session = Session::new([9; 32], SessionConfig::default(), &mut store).unwrap();
        if helper {
            let mut handled = 0;
            handle_prepared(
                &mut session,
                &mut store,
                &mut AdmitAll,
                frames,
                &mut handled,
            )
            .unwrap();
            assert_eq!(handled, frames.len(), "every frame taken");
        } else {
            for frame in frames {
                session.handle(frame, &mut store, &mut AdmitAll).unwrap();
            }
        }
        session.flush(&mut store).unwrap();
        let mut stored: Vec<_> = store
            .documents()
            .map(|(id, d)| (*id, d.save_nocompress()))
            .collect();
        stored.sort();
        (
            stored,
            std::iter::from_fn(|| session.poll_transmit()).collect(),
        )
    }

    /// A turn prepared by the helper thread and the session's, in chunks
    /// (here many: both threads prepare some), stores and acknowledges exactly what
    /// the session stores and acknowledges frame by frame, in order; and
    /// only after the commit (no `Ack` before `flush` commits them).
    #[test]
    fn the_helper_s_turn_stores_and_acknowledges_as_the_session_alone() {
        let frames = offers(120);
        let loaded: usize = frames.iter().skip(1).map(|f| prepared_cost(f.len())).sum();
        assert!(
            loaded > 4 * PREPARE_CHUNK_BYTES,
            "precondition: chunks for both threads ({loaded} B)"
        );
        let alone = receive(&frames, false);
        let helped = receive(&frames, true);
        assert_eq!(alone.0.len(), 120);
        assert_eq!(alone, helped);
        let acks: Vec<u64> = helped
            .1
            .iter()
            .filter_map(|f| match Frame::decode(f, 1 << 24) {
                Ok(Frame::Ack { through }) => Some(through),
                _ => None,
            })
            .collect();
        assert_eq!(acks, [120], "one acknowledgement, after the commit");
    }
}
