//! Change attestations (issue 8): who wrote each change of a document, as
//! its author's Ed25519 signature over the change hash. Stored with the
//! document in the same transaction — signed here for this node's own
//! writes, verified by admission for a peer's — and forwarded to peers
//! with the changes.

use automerge::ChangeHash;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::Attestation;
use rusqlite::{OptionalExtension, params};

use super::documents::DocKey;
use super::{Reader, Result, Writer};

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Attestation>> {
    let change: Vec<u8> = row.get(0)?;
    let key: Vec<u8> = row.get(1)?;
    let signature: Vec<u8> = row.get(2)?;
    Ok(
        match (
            <[u8; 32]>::try_from(change.as_slice()),
            <[u8; 32]>::try_from(key.as_slice()),
            <[u8; 64]>::try_from(signature.as_slice()),
        ) {
            (Ok(change), Ok(key), Ok(signature)) => Some(Attestation {
                change,
                key,
                signature,
            }),
            _ => None,
        },
    )
}

impl Reader<'_> {
    /// The stored attestations of `doc`: of the changes in `changes`, or of
    /// all its changes when `changes` is empty.
    pub fn attestations(&self, doc: &DocKey, changes: &[ChangeHash]) -> Result<Vec<Attestation>> {
        let mut out = Vec::new();
        if changes.is_empty() {
            let mut statement = self.conn().prepare_cached(
                "SELECT change, key, signature FROM attestations WHERE doc_id = ?1",
            )?;
            let rows = statement.query_map([&doc[..]], row)?;
            for a in rows {
                out.extend(a?);
            }
        } else {
            let mut statement = self.conn().prepare_cached(
                "SELECT change, key, signature FROM attestations WHERE doc_id = ?1 AND change = ?2",
            )?;
            for change in changes {
                if let Some(a) = statement
                    .query_row(params![&doc[..], &change.0[..]], row)
                    .optional()?
                {
                    out.extend(a);
                }
            }
        }
        Ok(out)
    }

    /// The attestation of one change, if stored.
    pub fn attestation(&self, doc: &DocKey, change: &ChangeHash) -> Result<Option<Attestation>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT change, key, signature FROM attestations WHERE doc_id = ?1 AND change = ?2",
            )?
            .query_row(params![&doc[..], &change.0[..]], row)
            .optional()?
            .flatten())
    }
}

impl Writer<'_> {
    /// Keep attestations (already verified, or made here). A change keeps
    /// the first attestation stored for it.
    pub fn put_attestations(&self, doc: &DocKey, list: &[Attestation]) -> Result<()> {
        let mut statement = self.conn().prepare_cached(
            "INSERT OR IGNORE INTO attestations (doc_id, change, key, signature) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for a in list {
            statement.execute(params![
                &doc[..],
                &a.change[..],
                &a.key[..],
                &a.signature[..]
            ])?;
        }
        Ok(())
    }

    /// Does this write sign this node's own changes?
    pub(super) fn signs(&self) -> bool {
        self.signer.is_some()
    }

    /// Sign the changes of this node's own actor in `changes` (the changes
    /// a local write saves), when the store has the node's key. A change of
    /// another actor is never signed here: it came from a peer with its
    /// author's attestation.
    pub(super) fn sign_own(
        &self,
        doc: &DocKey,
        changes: impl IntoIterator<Item = (ChangeHash, automerge::ActorId)>,
    ) -> Result<()> {
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        let id = DocumentId(*doc);
        let own: Vec<Attestation> = changes
            .into_iter()
            .filter(|(_, actor)| actor.to_bytes() == signer.actor_bytes())
            .map(|(hash, _)| signer.sign(&id, &hash.0))
            .collect();
        self.put_attestations(doc, &own)
    }
}
