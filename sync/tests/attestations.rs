//! Issue 8's cost on the wire: a sender sends one attestation per actor
//! and document (its maximal changes'), the receiver proves every new
//! change through the hash chain, and a relay forwards what it stored —
//! commune → district → province, sessions on in-memory stores, frames
//! passed by hand (deterministic, no sockets, no clock).

use std::collections::{HashMap, VecDeque};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ROOT};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::attest::{ATTESTATION_LEN, Signer, actor_of};
use lienthong_sync::protocol::frame::Frame;
use lienthong_sync::protocol::memory::MemoryStore;
use lienthong_sync::protocol::{Admission, AdmitAll, NewChange, Session, SessionConfig};

fn signer(seed: u8) -> Signer {
    Signer::new(ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap())
}

fn doc_id(i: u8) -> DocumentId {
    DocumentId([i; 16])
}

/// `n` changes by `by` on `doc`, each signed and stored as the author's
/// node stores them (one attestation per change).
fn write(store: &mut MemoryStore, id: DocumentId, by: &Signer, n: usize) {
    let mut doc = store.get(&id).cloned().unwrap_or_default();
    doc.set_actor(ActorId::from(by.actor_bytes()));
    let before = doc.get_heads();
    for _ in 0..n {
        // A value not written before: a put of the same value is no change.
        let count = doc.get_changes_meta(&[]).len() as u64;
        let mut tx = doc.transaction();
        tx.put(ROOT, "n", count).unwrap();
        tx.commit();
    }
    let signed: Vec<_> = doc
        .get_changes_meta(&before)
        .iter()
        .map(|m| by.sign(&id, &m.hash.0))
        .collect();
    store.attest(id, signed);
    store.put(id, doc);
}

/// Admission that keeps every new change it is shown, and refuses a
/// document with a change nothing proves (as the node's admission does).
#[derive(Default)]
struct Proving(Vec<NewChange>);

impl Admission for Proving {
    fn admit(
        &mut self,
        _: &[u8; 32],
        _: &DocumentId,
        _: &Automerge,
        _: bool,
        _: &[ChangeHash],
        changes: &[NewChange],
    ) -> Result<Option<lienthong_sync::protocol::Reading>, String> {
        self.0.extend_from_slice(changes);
        match changes.iter().find(|c| c.attestation.is_none()) {
            Some(c) => Err(format!("change {} unsigned", c.hash)),
            None => Ok(None),
        }
    }
}

/// One session from `from` to `to` until both are idle; returns the
/// attestations `from` sent, per document.
fn sync(
    from: &mut MemoryStore,
    to: &mut MemoryStore,
    admission: &mut impl Admission,
) -> HashMap<DocumentId, usize> {
    let (fa, ta) = ([0xF; 32], [0x7; 32]);
    let config = SessionConfig::default();
    let mut s_from = Session::new(ta, config.clone(), from).unwrap();
    let mut s_to = Session::new(fa, config.clone(), to).unwrap();
    let mut sent = HashMap::new();
    let mut forward: VecDeque<Vec<u8>> = VecDeque::new();
    let mut back: VecDeque<Vec<u8>> = VecDeque::new();
    for _ in 0..10_000 {
        while let Some(f) = s_from.poll_transmit() {
            forward.push_back(f);
        }
        while let Some(f) = s_to.poll_transmit() {
            back.push_back(f);
        }
        if forward.is_empty() && back.is_empty() {
            s_from.flush(from).unwrap();
            s_to.flush(to).unwrap();
            s_from.pump(from).unwrap();
            s_to.pump(to).unwrap();
            while let Some(f) = s_from.poll_transmit() {
                forward.push_back(f);
            }
            while let Some(f) = s_to.poll_transmit() {
                back.push_back(f);
            }
            if forward.is_empty() && back.is_empty() {
                break;
            }
        }
        while let Some(frame) = forward.pop_front() {
            if let Ok(Frame::Attest { doc, attestations }) = Frame::decode(&frame, 1 << 24) {
                *sent.entry(doc).or_default() += attestations.len();
            }
            s_to.handle(&frame, to, admission).unwrap();
        }
        s_to.flush(to).unwrap();
        while let Some(frame) = back.pop_front() {
            s_from.handle(&frame, from, &mut AdmitAll).unwrap();
        }
        s_from.flush(from).unwrap();
    }
    assert!(s_from.is_synced() && s_to.is_synced(), "the session syncs");
    sent
}

fn proven_by_own_actor(changes: &[NewChange]) -> bool {
    changes.iter().all(|c| {
        c.attestation
            .as_ref()
            .is_some_and(|a| actor_of(&a.author(), c.actor.to_bytes()))
    })
}

#[test]
fn one_attestation_per_actor_crosses_each_hop_and_proves_every_change() {
    let (commune_key, district_key) = (signer(1), signer(2));
    let (mut commune, mut district, mut province) =
        (MemoryStore::new(), MemoryStore::new(), MemoryStore::new());
    let (a, b) = (doc_id(1), doc_id(2));
    write(&mut commune, a, &commune_key, 5);
    write(&mut commune, b, &commune_key, 3);
    assert_eq!(
        commune.attestations_of(&a).len(),
        5,
        "precondition: one per change at the author"
    );

    // Commune → district: one attestation per document (one actor).
    let mut at_district = Proving::default();
    let sent = sync(&mut commune, &mut district, &mut at_district);
    assert_eq!(sent, HashMap::from([(a, 1), (b, 1)]));
    assert_eq!(
        at_district.0.len(),
        8,
        "every change admitted: {:?}",
        at_district.0
    );
    assert!(proven_by_own_actor(&at_district.0));
    assert_eq!(
        district.attestations_of(&a).len(),
        1,
        "the district keeps what proved them"
    );
    assert_eq!(
        district.get(&a).map(Automerge::get_heads),
        commune.get(&a).map(Automerge::get_heads)
    );

    // The district writes on `a`; the commune writes more on `b`, relayed later.
    write(&mut district, a, &district_key, 2);
    write(&mut commune, b, &commune_key, 2);
    let mut again = Proving::default();
    let sent = sync(&mut commune, &mut district, &mut again);
    assert_eq!(
        sent.get(&b),
        Some(&1),
        "only what the district lacks: {sent:?}"
    );
    assert_eq!(again.0.len(), 2);
    assert!(proven_by_own_actor(&again.0));

    // District → province: a whole-document offer of each, two actors on
    // `a` (two attestations), one on `b`, from what the district stored.
    // `a` is served as the snapshot on disk (the whole-document path).
    let snapshot = district.get(&a).unwrap().save_nocompress();
    district.saved.insert(a, snapshot);
    let mut at_province = Proving::default();
    let sent = sync(&mut district, &mut province, &mut at_province);
    assert_eq!(sent, HashMap::from([(a, 2), (b, 1)]));
    assert_eq!(
        at_province.0.len(),
        12,
        "every change proven at the province"
    );
    assert!(proven_by_own_actor(&at_province.0));
    assert_eq!(
        province.get(&b).map(Automerge::get_heads),
        commune.get(&b).map(Automerge::get_heads)
    );
    // The bytes: 128 per actor and document, not per change.
    let wire: usize = sent.values().sum::<usize>() * ATTESTATION_LEN;
    assert_eq!(wire, 3 * ATTESTATION_LEN);
}

#[test]
fn a_relay_missing_the_latest_attestation_sends_what_it_has_and_the_rest_is_refused() {
    let author = signer(3);
    let (mut relay, mut sink) = (MemoryStore::new(), MemoryStore::new());
    let id = doc_id(3);
    write(&mut relay, id, &author, 3);
    // The relay lost the latest change's attestation (say, from before
    // attestations existed): the earlier ones still travel, the latest
    // change is unproven and the document refused whole.
    let mut doc = relay.get(&id).cloned().unwrap();
    let head = doc.get_heads()[0];
    let kept: Vec<_> = relay
        .attestations_of(&id)
        .iter()
        .filter(|a| a.change != head.0)
        .cloned()
        .collect();
    let mut stripped = MemoryStore::new();
    stripped.attest(id, kept);
    stripped.put(id, std::mem::take(&mut doc));
    let mut admission = Proving::default();
    let sent = sync(&mut stripped, &mut sink, &mut admission);
    assert_eq!(sent.get(&id), Some(&1));
    assert_eq!(
        admission
            .0
            .iter()
            .filter(|c| c.attestation.is_none())
            .count(),
        1
    );
    assert!(sink.get(&id).is_none(), "refused: nothing stored");
}

/// Attestations held for documents not yet stored count in one budget
/// with the messages held for them (`SessionConfig::max_pending_bytes`,
/// the memory bound's "unfinished documents" line): a peer cannot hold
/// the limit in attestations and the limit again in messages.
#[test]
fn held_attestations_and_messages_share_one_budget() {
    use lienthong_sync::protocol::attest::MAX_ATTESTATIONS;
    use lienthong_sync::protocol::{Attestation, PROTOCOL_VERSION};
    let config = SessionConfig::default();
    let limit = config.max_pending_bytes();
    let frame_bytes = MAX_ATTESTATIONS * ATTESTATION_LEN;
    assert_eq!(
        limit % frame_bytes,
        0,
        "precondition: whole frames fill the limit"
    );
    let attest = |i: u32| {
        let mut doc = [0u8; 16];
        doc[..4].copy_from_slice(&i.to_be_bytes());
        Frame::Attest {
            doc: DocumentId(doc),
            attestations: (0..MAX_ATTESTATIONS)
                .map(|k| Attestation {
                    change: [k as u8; 32],
                    key: [1; 32],
                    signature: [0; 64],
                })
                .collect(),
        }
        .encode()
    };
    // A sync message that cannot complete (a head nobody has): held.
    let unfinished = |seq: u64| {
        let message = automerge::sync::Message {
            heads: vec![ChangeHash([0x5A; 32])],
            need: Vec::new(),
            have: Vec::new(),
            changes: automerge::sync::ChunkList::empty(),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        }
        .encode();
        Frame::Offer {
            seq,
            doc: DocumentId([0xEE; 16]),
            message,
        }
        .encode()
    };
    let hello = Frame::Hello {
        version: PROTOCOL_VERSION,
        since: 0,
        last_seq: 1_000,
        window_docs: 1024,
        window_bytes: 8 << 20,
    }
    .encode();
    let frames = (limit / frame_bytes) as u32;

    // The limit in attestations, then one message: over.
    let mut store = MemoryStore::new();
    let mut session = Session::new([0xB; 32], config.clone(), &mut store).unwrap();
    session.handle(&hello, &mut store, &mut AdmitAll).unwrap();
    for i in 0..frames {
        session
            .handle(&attest(i), &mut store, &mut AdmitAll)
            .unwrap();
    }
    let error = session
        .handle(&unfinished(1), &mut store, &mut AdmitAll)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("(messages and attestations) already held"),
        "{error}"
    );

    // One message held, then the limit in attestations: over.
    let mut store = MemoryStore::new();
    let mut session = Session::new([0xB; 32], config, &mut store).unwrap();
    session.handle(&hello, &mut store, &mut AdmitAll).unwrap();
    session
        .handle(&unfinished(1), &mut store, &mut AdmitAll)
        .unwrap();
    let mut refused = None;
    for i in 0..frames {
        if let Err(e) = session.handle(&attest(i), &mut store, &mut AdmitAll) {
            refused = Some((i, e.to_string()));
            break;
        }
    }
    let (at, error) = refused.expect("the last frame passes the shared limit");
    assert_eq!(at, frames - 1, "only the frame that passes it: {error}");
    assert!(
        error.contains("already held for documents not yet stored"),
        "{error}"
    );
}
