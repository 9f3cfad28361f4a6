//! Principle 5 and `scope.rs`: a dossier is replicated to its origin, every
//! office on its route (route template, forwarded to, consulted, return
//! office) and their ancestors, never to a sibling commune; a conflicting
//! event does not widen the scope.

use std::collections::BTreeSet;

use lienthong_shared::OfficeId;
use lienthong_shared::scope;

use crate::support::Procedure::Days;
use crate::support::*;

fn set(ids: &[&str]) -> BTreeSet<OfficeId> {
    ids.iter().map(|id| office(id)).collect()
}

fn offices_of(d: &Case) -> BTreeSet<OfficeId> {
    let dossier = d.dossier();
    let state = d.state();
    scope::offices_in_scope(&dossier, &state, tree())
}

fn nodes_of(d: &Case) -> BTreeSet<OfficeId> {
    let dossier = d.dossier();
    let state = d.state();
    scope::nodes_in_scope(&dossier, &state, tree())
}

#[test]
fn scope_is_the_origin_and_its_ancestors_at_first() {
    let d = dossier(Days(5)).received("2026-03-02 09:00");
    assert_eq!(offices_of(&d), set(&[COMMUNE, DISTRICT, PROVINCE]));
    assert!(!offices_of(&d).contains(&office(SIBLING)));
}

#[test]
fn scope_grows_with_forwards_consultations_and_the_route() {
    let mut d = dossier(Days(10))
        .route(&[(DISTRICT_LABOUR, 5)])
        .received("2026-03-02 09:00");
    d.ok(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30");
    d.ok(accepted(), DISTRICT, "2026-03-02 10:00");
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    d.ok(accepted(), LAND, "2026-03-03 10:00");
    d.ok(
        consulted(CONSTRUCTION, "2026-03-06 17:00"),
        LAND,
        "2026-03-03 11:00",
    );
    let expected = set(&[
        COMMUNE,
        DISTRICT,
        DISTRICT_LABOUR,
        PROVINCE,
        LAND,
        CONSTRUCTION,
    ]);
    assert_eq!(offices_of(&d), expected);
    // Departments at the Center are served by the Center's node; the
    // district's agency by the district's.
    assert_eq!(nodes_of(&d), set(&[COMMUNE, DISTRICT, PROVINCE]));
    for outsider in [SIBLING, OTHER_DISTRICT, OTHER_COMMUNE, POLICE] {
        assert!(!offices_of(&d).contains(&office(outsider)), "{outsider}");
    }
}

#[test]
fn the_police_returning_directly_are_in_scope() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    d.ok(forwarded(POLICE), COMMUNE, "2026-03-02 09:30");
    d.ok(accepted(), POLICE, "2026-03-02 10:00");
    d.ok(approved(), POLICE, "2026-03-03 09:00");
    d.ok(result_issued(POLICE), POLICE, "2026-03-03 10:00");
    assert_eq!(offices_of(&d), set(&[COMMUNE, DISTRICT, PROVINCE, POLICE]));
}

#[test]
fn a_conflicting_forward_or_consultation_does_not_widen_the_scope() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    d.ok(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30");
    d.ok(accepted(), DISTRICT, "2026-03-02 10:00");
    let before = offices_of(&d);
    // The commune no longer holds it: its forward to a sibling and its
    // consultation of another district's commune are conflicts.
    d.conflict(forwarded(SIBLING), COMMUNE, "2026-03-02 11:00");
    d.conflict(
        consulted(OTHER_COMMUNE, "2026-03-05 17:00"),
        COMMUNE,
        "2026-03-02 11:10",
    );
    // Nor does a result naming a return office that was never applied.
    d.conflict(result_issued(OTHER_COMMUNE), DISTRICT, "2026-03-02 11:20");
    assert_eq!(offices_of(&d), before);
    assert!(!offices_of(&d).contains(&office(SIBLING)));
    assert!(!nodes_of(&d).contains(&office(OTHER_DISTRICT)));

    // The same forward by the holder would widen it: the check above is
    // about the conflict, not about the event kind.
    d.ok(forwarded(SIBLING), DISTRICT, "2026-03-02 14:00");
    assert!(offices_of(&d).contains(&office(SIBLING)));
}
