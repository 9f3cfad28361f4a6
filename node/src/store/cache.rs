//! The dossiers this process wrote last, kept as their Automerge documents
//! with their read form (issue 11: officer operations). An officer takes a
//! dossier through several steps in a row (receive, forward, accept…), and
//! a long-lived process — the console, the daemon — then skips loading the
//! document and reading it again for each one: together about half the CPU
//! of a command.
//!
//! An entry is only ever used when the store still holds exactly its heads
//! (checked against the `documents` row in the same command), so a change
//! written by another process, a peer's changes, or a transaction that
//! rolled back after the entry was made, all simply miss and load from the
//! store. An entry is taken out while a command works on it and put back
//! only after that command's write committed.

use std::collections::VecDeque;

use automerge::{Automerge, ChangeHash};
use lienthong_shared::dossier::Dossier;

use super::documents::DocKey;

/// Dossiers kept: a desk's recent work, a few megabytes at most.
const CAPACITY: usize = 64;

/// A dossier's document and what it reads as, at `heads`.
pub struct CachedDossier {
    pub doc: Automerge,
    pub dossier: Dossier,
}

#[derive(Default)]
pub struct DossierCache {
    /// Oldest first.
    entries: VecDeque<(DocKey, Vec<ChangeHash>, CachedDossier)>,
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}

impl DossierCache {
    /// Take the entry for `key` if it is at exactly `stored_heads`; a stale
    /// entry is dropped.
    pub fn take(&mut self, key: &DocKey, stored_heads: &[ChangeHash]) -> Option<CachedDossier> {
        let i = self.entries.iter().position(|(k, _, _)| k == key)?;
        let (_, heads, entry) = self.entries.remove(i)?;
        (heads == sorted(stored_heads)).then_some(entry)
    }

    /// Keep a dossier as just committed.
    pub fn keep(&mut self, key: DocKey, entry: CachedDossier) {
        debug_assert_eq!(
            entry.dossier,
            lienthong_shared::dossier::schema::read(&entry.doc).expect("a written dossier reads"),
            "a cached dossier must read as its document does"
        );
        self.entries.retain(|(k, _, _)| *k != key);
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        let heads = sorted(&entry.doc.get_heads());
        self.entries.push_back((key, heads, entry));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
