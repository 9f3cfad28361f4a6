//! What a node holds, read from its store, and the convergence checks.
//!
//! Two depths: [`quick`] reads heads, codes and scope rows with plain SQL
//! (cheap enough to poll); [`full`] loads every dossier and folds it at the
//! fixed [`super::judge_now`] (for the final assertions).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use automerge::ChangeHash;
use lienthong::node::Node;
use lienthong::store::documents::{DocKey, decode_heads, hex};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::StoredEvent;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema;
use lienthong_shared::scope;
use rusqlite::{Connection, OpenFlags};

/// One dossier as a node's store shows it, without loading the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quick {
    pub code: String,
    pub origin: String,
    /// Sorted.
    pub heads: Vec<ChangeHash>,
    /// The nodes (by office) the node computed as the dossier's scope.
    pub scope: BTreeSet<String>,
    pub conflicts: i64,
    pub holder: Option<String>,
    pub transfer_to: Option<String>,
}

pub type QuickView = BTreeMap<DocKey, Quick>;

fn key_of(bytes: Vec<u8>) -> Option<DocKey> {
    DocKey::try_from(bytes.as_slice()).ok()
}

/// Read a node's dossiers from `DIR/store.db` (read-only; the daemon and
/// officer commands may be writing).
pub fn quick(dir: &Path) -> Result<QuickView, String> {
    let path = dir.join("store.db");
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    // One read transaction: heads, index and scope of the same moment.
    conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
    let mut view = QuickView::new();
    {
        let mut statement = conn
            .prepare(
                "SELECT d.doc_id, d.heads, x.code, x.origin, x.conflicts, x.holder, x.transfer_to
                 FROM documents d JOIN dossiers x USING (doc_id) WHERE d.kind = 'dossier'",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        for row in rows {
            let (key, heads, code, origin, conflicts, holder, transfer_to) =
                row.map_err(|e| e.to_string())?;
            let key = key_of(key).ok_or("a document key is not 16 bytes")?;
            let mut heads = decode_heads(&heads).ok_or("undecodable heads")?;
            heads.sort();
            view.insert(
                key,
                Quick {
                    code,
                    origin,
                    heads,
                    scope: BTreeSet::new(),
                    conflicts,
                    holder,
                    transfer_to,
                },
            );
        }
        let mut statement = conn
            .prepare("SELECT doc_id, node FROM doc_scope")
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| e.to_string())?;
        for row in rows {
            let (key, node) = row.map_err(|e| e.to_string())?;
            if let Some(quick) = key_of(key).and_then(|k| view.get_mut(&k)) {
                quick.scope.insert(node);
            }
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())?;
    Ok(view)
}

/// Why a set of nodes has not converged yet (`None`: it has): for every
/// dossier any of them holds, every member in its scope holds it with the
/// same heads, and no member outside its scope holds it.
pub fn divergence(views: &BTreeMap<OfficeId, QuickView>) -> Option<String> {
    let keys: BTreeSet<&DocKey> = views.values().flat_map(|v| v.keys()).collect();
    for key in keys {
        let holders: Vec<(&OfficeId, &Quick)> = views
            .iter()
            .filter_map(|(office, view)| view.get(key).map(|q| (office, q)))
            .collect();
        let (first_office, first) = holders[0];
        for (office, quick) in &holders[1..] {
            if quick.heads != first.heads {
                return Some(format!(
                    "dossier {} ({}): {} holds heads {} but {} holds {}",
                    first.code,
                    hex(key),
                    first_office,
                    short_heads(&first.heads),
                    office,
                    short_heads(&quick.heads)
                ));
            }
        }
        let held: BTreeSet<&str> = holders.iter().map(|(o, _)| o.as_str()).collect();
        for office in views.keys() {
            let in_scope = first.scope.contains(office.as_str());
            let holds = held.contains(office.as_str());
            if in_scope && !holds {
                return Some(format!(
                    "dossier {} ({}) is in the scope of {office}, which does not hold it yet (held by {:?})",
                    first.code,
                    hex(key),
                    held
                ));
            }
            if holds && !in_scope {
                return Some(format!(
                    "dossier {} ({}) is held by {office}, outside its scope {:?}",
                    first.code,
                    hex(key),
                    first.scope
                ));
            }
        }
    }
    None
}

pub fn short_heads(heads: &[ChangeHash]) -> String {
    let parts: Vec<String> = heads
        .iter()
        .map(|h| h.to_string()[..8].to_string())
        .collect();
    format!("[{}]", parts.join(" "))
}

/// One dossier loaded and folded at [`super::judge_now`].
#[derive(Debug, Clone, PartialEq)]
pub struct Full {
    pub code: String,
    pub origin: OfficeId,
    pub heads: Vec<ChangeHash>,
    /// The derived state as JSON (every field the fold computes).
    pub state: String,
    pub status: Option<String>,
    pub holder: Option<String>,
    /// `kind by office: reason` for each conflict the fold reports.
    pub conflicts: Vec<String>,
    /// Ids of every event in the log.
    pub events: BTreeSet<String>,
    /// Nodes in scope, computed here from the document.
    pub scope: BTreeSet<OfficeId>,
    /// Attachment hashes the dossier references.
    pub attachments: Vec<String>,
}

pub type FullView = BTreeMap<DocKey, Full>;

/// Load and fold every dossier a node holds.
pub fn full(dir: &Path) -> Result<FullView, String> {
    let mut node = Node::open(dir).map_err(|e| e.to_string())?;
    let keys: Vec<DocKey> = {
        let mut statement = node
            .store
            .connection()
            .prepare("SELECT doc_id FROM documents WHERE kind = 'dossier' ORDER BY doc_id")
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| e.to_string())?;
        rows.filter_map(|r| r.ok().and_then(key_of)).collect()
    };
    let (store, ctx, tree) = node.split(super::judge_now());
    let mut view = FullView::new();
    for key in keys {
        let (_, doc) = store
            .read(|r| r.load_document(&key))
            .map_err(|e| e.to_string())?
            .ok_or("a listed document vanished")?;
        let dossier = schema::read(&doc).map_err(|e| format!("{}: {e}", hex(&key)))?;
        let state = fold::fold(&dossier, &ctx);
        let mut heads = doc.get_heads();
        heads.sort();
        let events = dossier
            .events
            .iter()
            .filter_map(|e| match e {
                StoredEvent::Valid(event) => Some(event.id.0.clone()),
                _ => None,
            })
            .collect();
        view.insert(
            key,
            Full {
                code: dossier.facts.code.clone(),
                origin: dossier.facts.origin.clone(),
                heads,
                state: serde_json::to_string(&state).map_err(|e| e.to_string())?,
                status: state.status.map(|s| s.as_str().to_string()),
                holder: state.holder.as_ref().map(|h| h.to_string()),
                conflicts: state.conflicts.iter().map(|c| c.to_string()).collect(),
                events,
                scope: scope::nodes_in_scope(&dossier, &state, tree),
                attachments: lienthong::officer::attachments_of(&dossier)
                    .into_iter()
                    .map(|a| a.hash)
                    .collect(),
            },
        );
    }
    Ok(view)
}

/// Everything the final assertions found, for the test to print.
#[derive(Debug, Default)]
pub struct Agreement {
    pub dossiers: usize,
    /// Copies checked (dossier × node holding it).
    pub copies: usize,
    /// Dossiers with at least one conflict, and their conflicts.
    pub conflicts: BTreeMap<String, Vec<String>>,
}

/// The strict end-of-test check over nodes that must all have converged:
/// every dossier is held by exactly the members in its scope, with the
/// same heads and the same derived state (folded at the same `now`);
/// codes are unique; a commune never holds a sibling commune's dossier.
/// Panics with what differs.
pub fn assert_agree(views: &BTreeMap<OfficeId, FullView>) -> Agreement {
    let tree = lienthong_shared::builtin::quang_nam_3tier().offices;
    let keys: BTreeSet<&DocKey> = views.values().flat_map(|v| v.keys()).collect();
    let mut agreement = Agreement::default();
    let mut codes: BTreeMap<&str, &DocKey> = BTreeMap::new();
    for key in keys {
        let holders: Vec<(&OfficeId, &Full)> = views
            .iter()
            .filter_map(|(office, view)| view.get(key).map(|f| (office, f)))
            .collect();
        let (first_office, first) = holders[0];
        for (office, full) in &holders[1..] {
            assert_eq!(
                full.heads, first.heads,
                "dossier {}: {office} and {first_office} hold different changes",
                first.code
            );
            assert_eq!(
                full.state, first.state,
                "dossier {}: {office} and {first_office} derive different states from the same changes",
                first.code
            );
            assert_eq!(full.scope, first.scope);
        }
        for office in views.keys() {
            let holds = holders.iter().any(|(o, _)| *o == office);
            let in_scope = first.scope.contains(office);
            assert_eq!(
                holds,
                in_scope,
                "dossier {} (origin {}): {office} {} it but it is {} its scope {:?}",
                first.code,
                first.origin,
                if holds { "holds" } else { "does not hold" },
                if in_scope { "in" } else { "outside" },
                first.scope
            );
            // Principle 5, spelled out: a commune never holds a sibling's dossier.
            if holds
                && office.as_str().starts_with("commune:")
                && first.origin != *office
                && first.origin.as_str().starts_with("commune:")
            {
                let siblings =
                    tree.parent(office).map(|p| &p.id) == tree.parent(&first.origin).map(|p| &p.id);
                assert!(
                    !siblings,
                    "commune {office} holds {} of its sibling {}",
                    first.code, first.origin
                );
            }
        }
        if let Some(other) = codes.insert(first.code.as_str(), key) {
            panic!(
                "dossier code {} given to two dossiers: {} and {}",
                first.code,
                hex(other),
                hex(key)
            );
        }
        if !first.conflicts.is_empty() {
            agreement
                .conflicts
                .insert(first.code.clone(), first.conflicts.clone());
        }
        agreement.dossiers += 1;
        agreement.copies += holders.len();
    }
    agreement
}
