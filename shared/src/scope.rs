//! Scope (Principle 5): which offices hold a copy of a dossier.
//!
//! A dossier is replicated to its origin office, every office on its route
//! (the route template, offices it was forwarded to or consulted, the office
//! that returns its result) and all their ancestors up to the province —
//! and to no one else. A commune never receives a sibling commune's dossier.
//!
//! Only events the fold applied count: an event rejected as a conflict (a
//! non-holder "forwarding" to a sibling) must not widen who sees the dossier.

use std::collections::BTreeSet;

use crate::OfficeId;
use crate::dossier::Action;
use crate::dossier::fold::DossierState;
use crate::dossier::schema::{Dossier, StoredEvent};
use crate::offices::OfficeTree;

/// The offices a dossier names directly (without their ancestors).
pub fn named_offices(dossier: &Dossier, state: &DossierState) -> BTreeSet<OfficeId> {
    let mut offices = BTreeSet::new();
    offices.insert(dossier.facts.origin.clone());
    offices.extend(dossier.facts.route.iter().map(|step| step.office.clone()));
    for (stored, applied) in dossier.events.iter().zip(&state.applied) {
        let StoredEvent::Valid(event) = stored else {
            continue;
        };
        if !applied {
            continue;
        }
        match &event.action {
            Action::Forwarded { to, .. } | Action::Consulted { to, .. } => {
                offices.insert(to.clone());
            }
            Action::ResultIssued { return_office, .. } => {
                offices.insert(return_office.clone());
            }
            _ => {}
        }
    }
    offices
}

/// Every office in the dossier's scope: the named offices and their ancestors.
/// Offices the tree does not know are kept as named (they have no known
/// ancestors); the node refuses to forward to unknown offices in the first place.
pub fn offices_in_scope(
    dossier: &Dossier,
    state: &DossierState,
    tree: &OfficeTree,
) -> BTreeSet<OfficeId> {
    let mut scope = BTreeSet::new();
    for office in named_offices(dossier, state) {
        scope.extend(tree.ancestors(&office).into_iter().map(|o| o.id.clone()));
        scope.insert(office);
    }
    scope
}

/// The nodes (identified by the office each serves as) that hold a copy.
pub fn nodes_in_scope(
    dossier: &Dossier,
    state: &DossierState,
    tree: &OfficeTree,
) -> BTreeSet<OfficeId> {
    offices_in_scope(dossier, state, tree)
        .into_iter()
        .map(|office| tree.served_by(&office).cloned().unwrap_or(office))
        .collect()
}
