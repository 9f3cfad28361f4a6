//! Hash chaining of attestations (issue 8): one signature per actor and
//! document proves that actor's earlier changes too.
//!
//! A change's hash covers its dependencies, so the author of a change,
//! signing it, vouches for every change beneath it — in particular for its
//! own earlier changes. So, among the changes one message carries, only
//! each actor's *maximal* changes (those no later carried change of the
//! same actor depends on; with Automerge's per-actor sequence, usually just
//! the latest) need an attestation on the wire:
//!
//! - the sender picks those from what it stored ([`select`]), falling back
//!   to an earlier change's stored attestation when the latest has none
//!   (the earlier ones are then proven, the later ones not);
//! - the receiver proves each new change with the verified attestation of
//!   a change by the same actor whose history (within the new changes)
//!   contains it ([`prove`]).
//!
//! Both walk the same cover: actors' changes latest first, each change not
//! yet covered tries its own attestation, and a chosen one covers the same
//! actor's changes in its history. Pure functions over Automerge's change
//! metadata; no I/O.

use std::collections::{HashMap, HashSet};

use automerge::{ChangeHash, ChangeMetadata};

use super::attest::Attestation;

/// Which change each change is proven by: `cover[i] = Some(j)` when change
/// `j`'s attestation (`pick(j)`) covers change `i` (`j == i`: its own).
fn cover(
    metas: &[ChangeMetadata<'_>],
    mut pick: impl FnMut(usize) -> Option<Attestation>,
) -> (Vec<Option<usize>>, Vec<Option<Attestation>>) {
    let index: HashMap<ChangeHash, usize> =
        metas.iter().enumerate().map(|(i, m)| (m.hash, i)).collect();
    let mut by: Vec<Option<usize>> = vec![None; metas.len()];
    let mut chosen: Vec<Option<Attestation>> = vec![None; metas.len()];
    // Latest first within each actor, so a change's attestation covers the
    // same actor's earlier changes before they are looked at.
    let mut order: Vec<usize> = (0..metas.len()).collect();
    order.sort_by(|&a, &b| {
        (metas[a].actor.as_ref(), std::cmp::Reverse(metas[a].seq))
            .cmp(&(metas[b].actor.as_ref(), std::cmp::Reverse(metas[b].seq)))
    });
    let mut seen = vec![false; metas.len()];
    let mut stack = Vec::new();
    for i in order {
        if by[i].is_some() {
            continue;
        }
        let Some(attestation) = pick(i) else {
            continue;
        };
        chosen[i] = Some(attestation);
        // Its history within these changes, by the same actor.
        let actor = metas[i].actor.as_ref();
        seen.iter_mut().for_each(|s| *s = false);
        stack.clear();
        stack.push(i);
        while let Some(j) = stack.pop() {
            if std::mem::replace(&mut seen[j], true) {
                continue;
            }
            if by[j].is_none() && metas[j].actor.as_ref() == actor {
                by[j] = Some(i);
            }
            stack.extend(metas[j].deps.iter().filter_map(|d| index.get(d).copied()));
        }
    }
    (by, chosen)
}

/// The attestations to send with the changes `carried` (all of `metas`
/// when `None`): for each actor, the stored attestation of its maximal
/// changes — one per actor and document in the
/// usual case, whatever the number of changes. `metas` are the document's
/// changes the peer may lack (a superset of `carried`): a carried change
/// whose own attestation is not stored (a relay keeps only the ones it was
/// sent) is proven by the attestation of a later change of the same actor
/// whose history contains it, found through the chain. `stored` holds the
/// sender's attestations of the document; a change none covers is sent
/// without (the peer will refuse it as unsigned).
pub fn select(
    metas: &[ChangeMetadata<'_>],
    carried: Option<&HashSet<ChangeHash>>,
    stored: &[Attestation],
) -> Vec<Attestation> {
    let by_change: HashMap<[u8; 32], &Attestation> = stored.iter().map(|a| (a.change, a)).collect();
    // Sent as stored, whoever signed it: the receiver judges (an
    // attestation by another node than the actor's is refused there, with
    // that reason).
    let (by, mut chosen) = cover(metas, |i| {
        by_change.get(&metas[i].hash.0).map(|a| (*a).clone())
    });
    let mut out = Vec::new();
    for (i, prover) in by.into_iter().enumerate() {
        if carried.is_some_and(|c| !c.contains(&metas[i].hash)) {
            continue;
        }
        if let Some(a) = prover.and_then(|j| chosen[j].take()) {
            out.push(a);
        }
    }
    out
}

/// For each of `metas` (the changes new to this node), the attestation
/// that proves who wrote it, if any: its own, when sent and its signature
/// verifies, or that of a later change by the same actor whose history
/// contains it (hash chaining; the attestation then names that later
/// change). `verified(k)` says whether `sent[k]`'s signature holds (the
/// caller verifies them, in a batch where it can, and remembers).
pub fn prove(
    metas: &[ChangeMetadata<'_>],
    sent: &[Attestation],
    mut verified: impl FnMut(usize) -> bool,
) -> Vec<Option<Attestation>> {
    let mut offered: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    for (k, a) in sent.iter().enumerate() {
        offered.entry(a.change).or_default().push(k);
    }
    let (by, chosen) = cover(metas, |i| {
        offered
            .get(&metas[i].hash.0)?
            .iter()
            .find(|&&k| verified(k))
            .map(|&k| sent[k].clone())
    });
    by.into_iter()
        .map(|j| j.and_then(|j| chosen[j].clone()))
        .collect()
}

/// The attestations among `sent` worth verifying first, in one batch: for
/// each actor, those of its latest change in `metas` (what an up-to-date
/// sender sends), as indices into `sent`. Others are verified one by one
/// if the cover needs them.
pub fn likely_provers(metas: &[ChangeMetadata<'_>], sent: &[Attestation]) -> Vec<usize> {
    let mut latest: HashMap<&[u8], (u64, [u8; 32])> = HashMap::new();
    for m in metas {
        let entry = latest
            .entry(m.actor.to_bytes())
            .or_insert((m.seq, m.hash.0));
        if m.seq >= entry.0 {
            *entry = (m.seq, m.hash.0);
        }
    }
    let wanted: HashSet<[u8; 32]> = latest.values().map(|(_, h)| *h).collect();
    (0..sent.len())
        .filter(|&k| wanted.contains(&sent[k].change))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document_id::DocumentId;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ROOT};
    use ring::signature::Ed25519KeyPair;

    use super::super::attest::{Signer, actor_of};

    fn signer(seed: u8) -> Signer {
        Signer::new(Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("a key from a seed"))
    }

    fn write(doc: &mut Automerge, by: &Signer, n: u64) {
        doc.set_actor(ActorId::from(by.actor_bytes()));
        for _ in 0..n {
            // A value not written before: a put of the same value is no change.
            let count = doc.get_changes_meta(&[]).len() as u64;
            let mut tx = doc.transaction();
            tx.put(ROOT, "n", count).unwrap();
            tx.commit();
        }
    }

    /// Every change of `doc` signed by its actor's signer (as an author
    /// node stores them).
    fn sign_all(doc: &Automerge, id: &DocumentId, signers: &[&Signer]) -> Vec<Attestation> {
        doc.get_changes_meta(&[])
            .iter()
            .map(|m| {
                let s = signers
                    .iter()
                    .find(|s| s.actor_bytes() == m.actor.to_bytes())
                    .expect("a signer for each actor");
                s.sign(id, &m.hash.0)
            })
            .collect()
    }

    #[test]
    fn one_attestation_per_actor_is_sent_and_proves_every_change() {
        let id = DocumentId([7; 16]);
        let (commune, district) = (signer(1), signer(2));
        let mut doc = Automerge::new();
        write(&mut doc, &commune, 3);
        write(&mut doc, &district, 2);
        // The commune writes again on top of the district's changes.
        write(&mut doc, &commune, 1);
        let stored = sign_all(&doc, &id, &[&commune, &district]);
        let metas = doc.get_changes_meta(&[]);
        assert_eq!(metas.len(), 6, "precondition: six changes");
        let sent = select(&metas, None, &stored);
        assert_eq!(sent.len(), 2, "one per actor: {sent:?}");
        let latest = |s: &Signer| {
            metas
                .iter()
                .filter(|m| m.actor.to_bytes() == s.actor_bytes())
                .max_by_key(|m| m.seq)
                .unwrap()
                .hash
                .0
        };
        assert!(sent.iter().any(|a| a.change == latest(&commune)));
        assert!(sent.iter().any(|a| a.change == latest(&district)));
        let proofs = prove(&metas, &sent, |k| sent[k].verify(&id));
        for (m, proof) in metas.iter().zip(&proofs) {
            let proof = proof.as_ref().expect("every change proven");
            assert!(actor_of(&proof.author(), m.actor.to_bytes()));
        }
        // The commune's earliest change is proven by its latest, which
        // depends on it through the district's changes.
        let first = metas
            .iter()
            .position(|m| m.seq == 1 && m.actor.to_bytes() == commune.actor_bytes())
            .unwrap();
        assert_eq!(proofs[first].as_ref().unwrap().change, latest(&commune));
    }

    #[test]
    fn a_subset_sends_the_latest_attestation_of_the_subset() {
        let id = DocumentId([8; 16]);
        let commune = signer(3);
        let mut doc = Automerge::new();
        write(&mut doc, &commune, 2);
        let known = doc.get_heads();
        write(&mut doc, &commune, 3);
        let stored = sign_all(&doc, &id, &[&commune]);
        let carried = doc.get_changes_meta(&known);
        assert_eq!(carried.len(), 3, "precondition: the peer lacks three");
        let sent = select(&carried, None, &stored);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].change, doc.get_heads()[0].0);
        assert!(
            prove(&carried, &sent, |k| sent[k].verify(&id))
                .iter()
                .all(Option::is_some)
        );
    }

    #[test]
    fn a_relay_holding_only_the_latest_attestations_forwards_them() {
        let id = DocumentId([9; 16]);
        let commune = signer(4);
        let mut doc = Automerge::new();
        write(&mut doc, &commune, 4);
        let metas = doc.get_changes_meta(&[]);
        // What the relay stored: the one attestation it was sent.
        let relayed = select(&metas, None, &sign_all(&doc, &id, &[&commune]));
        assert_eq!(relayed.len(), 1);
        assert_eq!(select(&metas, None, &relayed), relayed);
        // A latest change with no stored attestation: an earlier one's is
        // sent, and only the changes beneath it are proven.
        let mut older = sign_all(&doc, &id, &[&commune]);
        let head = doc.get_heads()[0].0;
        older.retain(|a| a.change != head);
        let sent = select(&metas, None, &older);
        assert_eq!(sent.len(), 1);
        let proofs = prove(&metas, &sent, |k| sent[k].verify(&id));
        assert_eq!(proofs.iter().filter(|p| p.is_none()).count(), 1);
        // A continuation carrying only an earlier change, whose own
        // attestation the relay does not hold: the latest's, found through
        // the chain, goes with it (the peer holds that change from before).
        let second = metas.iter().find(|m| m.seq == 2).unwrap().hash;
        let carried = HashSet::from([second]);
        assert_eq!(select(&metas, Some(&carried), &relayed), relayed);
        // Nothing proves a change beyond every stored attestation.
        let last = HashSet::from([ChangeHash(head)]);
        assert!(select(&metas, Some(&last), &older).is_empty());
    }

    #[test]
    fn a_bad_signature_proves_nothing_and_another_nodes_attestation_is_left_to_the_receiver() {
        let id = DocumentId([10; 16]);
        let (commune, district) = (signer(5), signer(6));
        let mut doc = Automerge::new();
        write(&mut doc, &commune, 3);
        let metas = doc.get_changes_meta(&[]);
        let mut sent = select(&metas, None, &sign_all(&doc, &id, &[&commune]));
        sent[0].signature[0] ^= 1;
        assert!(
            prove(&metas, &sent, |k| sent[k].verify(&id))
                .iter()
                .all(Option::is_none),
            "a signature that does not verify proves no change"
        );
        // The district's signature over the commune's changes: sent as
        // stored, one for the actor's latest change.
        let forged: Vec<_> = metas
            .iter()
            .map(|m| district.sign(&id, &m.hash.0))
            .collect();
        assert_eq!(select(&metas, None, &forged).len(), 1);
        // The receiver proves them by the district's key; admission refuses
        // the actor mismatch (`attested.rs`).
        let proofs = prove(&metas, &forged, |k| forged[k].verify(&id));
        assert!(
            proofs
                .iter()
                .all(|p| p.as_ref().is_some_and(|a| a.key == forged[0].key))
        );
    }

    #[test]
    fn likely_provers_are_the_latest_change_of_each_actor() {
        let id = DocumentId([11; 16]);
        let (a, b) = (signer(7), signer(8));
        let mut doc = Automerge::new();
        write(&mut doc, &a, 3);
        write(&mut doc, &b, 2);
        let metas = doc.get_changes_meta(&[]);
        let all = sign_all(&doc, &id, &[&a, &b]);
        let likely = likely_provers(&metas, &all);
        assert_eq!(likely.len(), 2);
        let selected = select(&metas, None, &all);
        for k in likely {
            assert!(selected.contains(&all[k]));
        }
    }
}
