//! Quarantine: nothing stored can stop a node from starting or a session
//! from running.
//!
//! A document that fails to load (a damaged snapshot, malformed heads) or
//! whose attachment references are unsafe (a size no node could hold) is
//! recorded here instead of failing whatever touched it. It is kept exactly
//! as it is — never deleted, so an operator can still recover it — but left
//! out of the feed offered to peers and out of attachment fetching, and
//! listed by `status` and `show`.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::documents::{DocKey, hex};
use super::{Reader, Result, Store, StoreError, Writer};
use crate::config::Limits;

/// Longest media type a reference may carry (RFC 6838 allows 127 + 127).
pub const MAX_MEDIA_TYPE: usize = 255;

/// An attachment (or a dossier's attachments together) larger than this is
/// beyond any node, whatever its `[limits]`: set aside at start. Below it,
/// the configured limits are for what peers send (admission); a dossier an
/// officer made here with a large scan is not quarantined for it.
pub const NO_NODE_HOLDS: u64 = 1 << 40;

/// One quarantined document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quarantined {
    /// The document id, hex.
    pub id: String,
    #[serde(skip)]
    pub key: DocKey,
    /// The dossier code, if the index has one.
    pub code: Option<String>,
    pub problem: String,
    pub since: DateTime<Utc>,
}

impl Reader<'_> {
    pub fn quarantined(&self, key: &DocKey) -> Result<Option<Quarantined>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT q.problem, q.at, d.code FROM quarantine q
                 LEFT JOIN dossiers d ON d.doc_id = q.doc_id WHERE q.doc_id = ?1",
            )?
            .query_row([&key[..]], |row| {
                Ok(Quarantined {
                    id: hex(key),
                    key: *key,
                    problem: row.get(0)?,
                    since: DateTime::from_timestamp_millis(row.get(1)?).unwrap_or_default(),
                    code: row.get(2)?,
                })
            })
            .optional()?)
    }

    /// Every quarantined document, oldest first.
    pub fn quarantine_list(&self) -> Result<Vec<Quarantined>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT q.doc_id, q.problem, q.at, d.code FROM quarantine q
             LEFT JOIN dossiers d ON d.doc_id = q.doc_id ORDER BY q.at, q.doc_id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, Vec<u8>>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })?;
        let mut list = Vec::new();
        for row in rows {
            let (id, problem, at, code) = row?;
            let Ok(key) = DocKey::try_from(id.as_slice()) else {
                continue;
            };
            list.push(Quarantined {
                id: hex(&key),
                key,
                code,
                problem,
                since: DateTime::from_timestamp_millis(at).unwrap_or_default(),
            });
        }
        Ok(list)
    }
}

impl Writer<'_> {
    /// Quarantine a document (kept as it is). True if it was not already.
    pub fn quarantine(&self, key: &DocKey, problem: &str, now: DateTime<Utc>) -> Result<bool> {
        let added = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO quarantine (doc_id, problem, at)
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM documents WHERE doc_id = ?1)",
            )?
            .execute(params![&key[..], problem, now.timestamp_millis()])?;
        if added > 0 {
            tracing::warn!(
                doc = %hex(key),
                %problem,
                "document quarantined: kept as it is, not sent to peers (lienthong status lists it)"
            );
        }
        Ok(added > 0)
    }

    /// Quarantine documents whose stored attachment references are unsafe
    /// to act on: an attachment (or a dossier's total) larger than both
    /// [`NO_NODE_HOLDS`] and this node's limits, a malformed hash or root,
    /// an overlong media type. Cheap (reads
    /// `blob_refs` only, no document); run at daemon start. Documents that
    /// fail to load are found where they are loaded, not by a scan here.
    /// Returns how many were newly quarantined.
    pub fn quarantine_unsafe(&self, limits: &Limits, now: DateTime<Utc>) -> Result<usize> {
        let mut found: Vec<(Vec<u8>, String)> = Vec::new();
        {
            let mut statement = self.conn().prepare(
                "SELECT doc_id, hash, size, length(root), length(media_type) FROM blob_refs
                 WHERE size < 0 OR size > ?1 OR length(hash) != 32 OR length(root) != 32
                    OR length(media_type) > ?2",
            )?;
            let rows = statement.query_map(
                params![
                    clamp(limits.max_attachment_bytes.max(NO_NODE_HOLDS)),
                    MAX_MEDIA_TYPE as i64
                ],
                |row| <(Vec<u8>, Vec<u8>, i64)>::try_from(row),
            )?;
            for row in rows {
                let (doc, hash, size) = row?;
                found.push((
                    doc,
                    format!(
                        "attachment reference {}… claims {size} bytes, beyond what any node holds, or is malformed",
                        hex_prefix(&hash)
                    ),
                ));
            }
            // What no node could hold, as for one attachment above: a
            // dossier of this office may carry more than the limit set for
            // peers. `total` is a float, so no count of references overflows it.
            let mut statement = self.conn().prepare(
                "SELECT doc_id, CAST(total(size) AS INTEGER) FROM blob_refs
                 GROUP BY doc_id HAVING total(size) > ?1",
            )?;
            let rows = statement.query_map(
                params![clamp(
                    limits.max_dossier_attachment_bytes.max(NO_NODE_HOLDS)
                )],
                |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)),
            )?;
            for row in rows {
                let (doc, total) = row?;
                found.push((
                    doc,
                    format!("attachments total {total} bytes, beyond what any node holds"),
                ));
            }
        }
        let mut added = 0;
        for (doc, problem) in found {
            if let Ok(key) = DocKey::try_from(doc.as_slice())
                && self.quarantine(&key, &problem, now)?
            {
                added += 1;
            }
        }
        Ok(added)
    }
}

impl Store {
    /// Quarantine `key` for `error` in a transaction of its own, when the
    /// error says the stored document is damaged; other errors (the
    /// database itself failing) are returned as they are.
    pub fn quarantine_on_corruption(&mut self, key: &DocKey, error: StoreError) -> Result<()> {
        match error {
            StoreError::CorruptDocument { problem, .. } => {
                self.write(|w| w.quarantine(key, &problem, Utc::now()))?;
                Ok(())
            }
            other => Err(other),
        }
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn hex_prefix(bytes: &[u8]) -> String {
    lienthong_shared::dossier::attachment::hex(&bytes[..bytes.len().min(6)])
}

#[cfg(test)]
mod tests {
    use lienthong_shared::dossier::AttachmentRef;

    use super::*;

    fn reference(n: u8, size: u64) -> AttachmentRef {
        AttachmentRef {
            hash: lienthong_shared::dossier::attachment::hex(&[n; 32]),
            size,
            media_type: "application/pdf".into(),
            name: format!("scan-{n}.pdf"),
            chunks_root: lienthong_shared::dossier::attachment::hex(&[n.wrapping_add(100); 32]),
        }
    }

    /// A dossier of this office may carry more than the per-dossier limit
    /// set for peers (600 MiB of scans here, limit 500 MiB): it is not
    /// quarantined at start. Only what no node could hold is.
    #[test]
    fn only_what_no_node_could_hold_is_quarantined_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("store.sqlite")).unwrap();
        let mib = 1u64 << 20;
        let big_local: DocKey = [1; 16];
        let impossible: DocKey = [2; 16];
        let limits = Limits::default();
        assert!(
            6 * 100 * mib > limits.max_dossier_attachment_bytes,
            "precondition"
        );
        let now = Utc::now();
        let quarantined = store
            .write(|w| {
                for key in [&big_local, &impossible] {
                    let mut doc = automerge::AutoCommit::new();
                    automerge::transaction::Transactable::put(
                        &mut doc,
                        automerge::ROOT,
                        "n",
                        key[0] as i64,
                    )
                    .unwrap();
                    w.save_document(
                        key,
                        super::super::documents::DocKind::Dossier,
                        doc.document(),
                        &[],
                    )?;
                }
                let six: Vec<AttachmentRef> = (0..6).map(|n| reference(n, 100 * mib)).collect();
                w.set_blob_refs(&big_local, &six)?;
                let many: Vec<AttachmentRef> =
                    (10..14).map(|n| reference(n, NO_NODE_HOLDS / 2)).collect();
                w.set_blob_refs(&impossible, &many)?;
                w.quarantine_unsafe(&limits, now)
            })
            .unwrap();
        assert_eq!(quarantined, 1);
        let big = store.read(|r| r.quarantined(&big_local)).unwrap();
        assert!(big.is_none(), "{big:?}");
        let held = store.read(|r| r.quarantined(&impossible)).unwrap().unwrap();
        assert!(
            held.problem.contains("beyond what any node holds"),
            "{}",
            held.problem
        );
    }
}
