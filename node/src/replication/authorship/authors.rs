//! Who wrote each event of a stored dossier, as the attestations stored
//! beside it say (issue 8): for `show` and the console's dossier page.
//!
//! An event's author is the node that signed the change creating it: that
//! change's own stored attestation or, through the hash chain, that of a
//! later change by the same actor whose history contains it (a node stores
//! what proved a peer's changes: one attestation per actor and message,
//! `lienthong_sync::protocol::chain`), verified under the change's actor.
//! A change held from before attestations existed (written or received
//! before the upgrade) has none: it is shown as unsigned — kept where it
//! already is, never admitted unsigned from a peer.

use std::collections::HashSet;

use automerge::{Automerge, ObjId, ROOT, ReadDoc, Value};
use lienthong_shared::OfficeId;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::attest::actor_of;
use lienthong_sync::protocol::chain;
use lienthong_sync::transport::identity::NodeId;
use serde::Serialize;

use super::attested::Directory;
use crate::store::documents::DocKey;
use crate::store::{Reader, StoreError};

/// The author of one event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "author", rename_all = "snake_case")]
pub enum EventAuthor {
    /// Signed by this node, whose signature verified: over the change
    /// itself, or over a later change of the same node whose history holds
    /// it (hash chaining).
    Signed {
        node: String,
        /// The office whose node it is, if the directory knows it.
        office: Option<OfficeId>,
    },
    /// No stored attestation proves the change that wrote it (held from
    /// before the upgrade, and its node signed nothing after it here).
    Unsigned,
    /// An attestation is stored but does not verify for this change and
    /// actor (a damaged store).
    Invalid,
}

/// The author of each event of `doc`'s log, in log order.
pub fn event_authors(
    r: &Reader<'_>,
    key: &DocKey,
    doc: &Automerge,
    directory: &Directory,
) -> Result<Vec<EventAuthor>, StoreError> {
    let Ok(Some((Value::Object(_), events))) = doc.get(ROOT, "events") else {
        return Ok(Vec::new());
    };
    let metas = doc.get_changes_meta(&[]);
    let stored = r.attestations(key, &[])?;
    let id = DocumentId(*key);
    // Each change's proof: its own attestation or a later one's by the
    // same actor, whose signature verifies (each verified once at most).
    let mut verified: Vec<Option<bool>> = vec![None; stored.len()];
    let proofs = chain::prove(&metas, &stored, |k| {
        *verified[k].get_or_insert_with(|| stored[k].verify(&id))
    });
    let own: HashSet<[u8; 32]> = stored.iter().map(|a| a.change).collect();
    let mut out = Vec::new();
    for item in doc.list_range(&events, ..) {
        let ObjId::Id(counter, actor, _) = item.id() else {
            out.push(EventAuthor::Invalid);
            continue;
        };
        let change = metas
            .iter()
            .position(|m| *m.actor == actor && (m.start_op..=m.max_op).contains(&counter));
        let Some(change) = change else {
            out.push(EventAuthor::Invalid);
            continue;
        };
        out.push(match &proofs[change] {
            Some(a) if actor_of(&a.author(), actor.to_bytes()) => {
                let author = a.author();
                EventAuthor::Signed {
                    node: NodeId::from_bytes(author).to_string(),
                    office: directory.office_of(&author).cloned(),
                }
            }
            Some(_) => EventAuthor::Invalid,
            // Its own attestation is stored but does not verify.
            None if own.contains(&metas[change].hash.0) => EventAuthor::Invalid,
            None => EventAuthor::Unsigned,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::documents::DocKind;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ObjType};
    use lienthong_sync::protocol::attest::Signer;
    use std::sync::Arc;

    fn signer() -> Signer {
        let identity =
            lienthong_sync::transport::identity::NodeIdentity::generate("commune:x").unwrap();
        Signer::new(identity.attestation_key_pair().unwrap())
    }

    fn append(doc: &mut Automerge, actor: &[u8]) {
        doc.set_actor(ActorId::from(actor));
        let mut tx = doc.transaction();
        let events = match tx.get(ROOT, "events").unwrap() {
            Some((Value::Object(_), id)) => id,
            _ => tx.put_object(ROOT, "events", ObjType::List).unwrap(),
        };
        let at = tx.length(&events);
        let event = tx.insert_object(&events, at, ObjType::Map).unwrap();
        tx.put(&event, "office", "commune:x").unwrap();
        tx.commit();
    }

    #[test]
    fn events_written_before_signing_show_unsigned_until_their_author_signs_a_later_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("store.db")).unwrap();
        let key: DocKey = [4; 16];
        let own = signer();
        let actor = own.actor_bytes().to_vec();
        let own_id = *own.node_id();
        // Written before the upgrade: the store had no key.
        let mut doc = Automerge::new();
        append(&mut doc, &actor);
        store
            .write(|w| w.save_document(&key, DocKind::Dossier, &doc, &[]))
            .unwrap();
        let directory = Directory::default();
        let authors = store
            .read(|r| event_authors(r, &key, &doc, &directory))
            .unwrap();
        assert_eq!(authors, vec![EventAuthor::Unsigned]);
        // After: every local write is signed. The node's next change, whose
        // history holds its earlier one under its own actor, vouches for
        // it through the hash chain (as a peer admitting both would).
        store.set_signer(Arc::new(own));
        let before = doc.get_heads();
        append(&mut doc, &actor);
        store
            .write(|w| w.save_document(&key, DocKind::Dossier, &doc, &before))
            .unwrap();
        let authors = store
            .read(|r| event_authors(r, &key, &doc, &directory))
            .unwrap();
        let signed = EventAuthor::Signed {
            node: NodeId::from_bytes(own_id).to_string(),
            office: None,
        };
        assert_eq!(authors, vec![signed.clone(), signed]);
        // A change under another actor is never signed with this key.
        let before = doc.get_heads();
        append(&mut doc, &[9; 16]);
        store
            .write(|w| w.save_document(&key, DocKind::Dossier, &doc, &before))
            .unwrap();
        let authors = store
            .read(|r| event_authors(r, &key, &doc, &directory))
            .unwrap();
        assert_eq!(authors[2], EventAuthor::Unsigned);
    }

    #[test]
    fn an_event_proven_through_the_chain_shows_its_author_and_a_bad_signature_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("store.db")).unwrap();
        let key: DocKey = [5; 16];
        let author = signer();
        let actor = author.actor_bytes().to_vec();
        // Two events by a peer, received with one attestation: the latest
        // change's, as a relay stores it.
        let mut doc = Automerge::new();
        append(&mut doc, &actor);
        let first = doc.get_heads()[0];
        append(&mut doc, &actor);
        let latest = doc.get_heads()[0];
        store
            .write(|w| {
                w.save_document(&key, DocKind::Dossier, &doc, &[])?;
                w.put_attestations(&key, &[author.sign(&DocumentId(key), &latest.0)])
            })
            .unwrap();
        let directory = Directory::default();
        let signed = EventAuthor::Signed {
            node: NodeId::from_bytes(*author.node_id()).to_string(),
            office: None,
        };
        let authors = store
            .read(|r| event_authors(r, &key, &doc, &directory))
            .unwrap();
        assert_eq!(authors, vec![signed.clone(), signed.clone()]);
        assert_eq!(
            store.read(|r| r.attestation(&key, &first)).unwrap(),
            None,
            "precondition: the first change has no attestation of its own"
        );
        // The same with the latest's signature damaged on disk: nothing
        // proves either; the first has none of its own (unsigned), the
        // latest a bad one (invalid).
        let other: DocKey = [6; 16];
        let mut damaged = author.sign(&DocumentId(other), &latest.0);
        damaged.signature[0] ^= 1;
        store
            .write(|w| {
                w.save_document(&other, DocKind::Dossier, &doc, &[])?;
                w.put_attestations(&other, &[damaged])
            })
            .unwrap();
        let authors = store
            .read(|r| event_authors(r, &other, &doc, &directory))
            .unwrap();
        assert_eq!(authors, vec![EventAuthor::Unsigned, EventAuthor::Invalid]);
    }
}
