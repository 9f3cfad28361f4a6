//! Who wrote each event of a stored dossier, as the attestations stored
//! beside it say (issue 8): for `show` and the console's dossier page.
//!
//! An event's author is the node that signed the change creating it, when
//! that attestation is stored and verifies under the change's own actor.
//! A change held from before attestations existed (written or received
//! before the upgrade) has none: it is shown as unsigned — kept where it
//! already is, never admitted unsigned from a peer.

use automerge::{Automerge, ChangeHash, ObjId, ROOT, ReadDoc, Value};
use lienthong_shared::OfficeId;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::attest::actor_of;
use lienthong_sync::transport::identity::NodeId;
use serde::Serialize;

use super::attested::Directory;
use crate::store::documents::DocKey;
use crate::store::{Reader, StoreError};

/// The author of one event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "author", rename_all = "snake_case")]
pub enum EventAuthor {
    /// Signed by this node, whose signature verified.
    Signed {
        node: String,
        /// The office whose node it is, if the directory knows it.
        office: Option<OfficeId>,
    },
    /// No attestation is stored for the change that wrote it (held from
    /// before the upgrade).
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
    let changes: Vec<(
        automerge::ActorId,
        std::ops::RangeInclusive<u64>,
        ChangeHash,
    )> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| (m.actor.into_owned(), m.start_op..=m.max_op, m.hash))
        .collect();
    let id = DocumentId(*key);
    let mut out = Vec::new();
    for item in doc.list_range(&events, ..) {
        let ObjId::Id(counter, actor, _) = item.id() else {
            out.push(EventAuthor::Invalid);
            continue;
        };
        let change = changes
            .iter()
            .find(|(a, ops, _)| *a == actor && ops.contains(&counter))
            .map(|(_, _, hash)| *hash);
        let Some(change) = change else {
            out.push(EventAuthor::Invalid);
            continue;
        };
        out.push(match r.attestation(key, &change)? {
            None => EventAuthor::Unsigned,
            Some(a) if a.verify(&id) && actor_of(&a.author(), actor.to_bytes()) => {
                let author = a.author();
                EventAuthor::Signed {
                    node: NodeId::from_bytes(author).to_string(),
                    office: directory.office_of(&author).cloned(),
                }
            }
            Some(_) => EventAuthor::Invalid,
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
    fn events_written_before_signing_show_unsigned_and_later_ones_their_author() {
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
        // After: every local write is signed.
        store.set_signer(Arc::new(own));
        let before = doc.get_heads();
        append(&mut doc, &actor);
        store
            .write(|w| w.save_document(&key, DocKind::Dossier, &doc, &before))
            .unwrap();
        let directory = Directory::default();
        let authors = store
            .read(|r| event_authors(r, &key, &doc, &directory))
            .unwrap();
        assert_eq!(
            authors,
            vec![
                EventAuthor::Unsigned,
                EventAuthor::Signed {
                    node: NodeId::from_bytes(own_id).to_string(),
                    office: None
                }
            ]
        );
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
}
