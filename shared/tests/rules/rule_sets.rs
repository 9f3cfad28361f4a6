//! RULES.md "Rule sets": every dossier records the rule set in force when it
//! was received and is judged by that one for its whole life.

use lienthong_shared::dossier::fold::{DossierState, Flag};
use lienthong_shared::rule_set::SupplementClock;

use crate::support::Procedure::Days;
use crate::support::*;

/// `at_district()` under rule set `rules` of [`contrasting_rule_sets`]: a
/// supplement asked for Wed 4 Mar 09:00 (two working days after receipt)
/// and received Fri 6 Mar 09:00.
fn with_supplement(rules: &str) -> DossierState {
    let mut d = dossier(Days(5))
        .rules(rules)
        .rule_sets(contrasting_rule_sets())
        .at_district();
    d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    d.ok(supplement_received(), COMMUNE, "2026-03-06 09:00");
    d.state()
}

/// `at_district()` under rule set `rules`, apologizing Thu 5 Mar 10:00:
/// 900 working minutes (1 day 7 h) before the due time Mon 9 Mar 09:00.
fn with_apology(rules: &str) -> DossierState {
    let mut d = dossier(Days(5))
        .rules(rules)
        .rule_sets(contrasting_rule_sets())
        .at_district();
    d.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-05 10:00");
    d.state()
}

#[test]
fn each_dossier_is_judged_by_the_rule_set_it_records() {
    let sets = contrasting_rule_sets();
    assert_eq!(
        sets.get("2018").unwrap().supplement_clock,
        SupplementClock::Restart
    );
    assert_eq!(
        sets.get("2025").unwrap().supplement_clock,
        SupplementClock::Extend
    );
    // All these dossiers are received in 2026, when "2025" is in force: a
    // dossier recording "2018" (received before 1 July 2025) keeps it.

    // D3 clock. "2018" restarts: Fri 6 Mar 09:00 + 5 = Fri 13 Mar 09:00.
    // "2025" extends: Mon 9 Mar 09:00 + 2 days waited = Wed 11 Mar 09:00.
    let old = with_supplement("2018");
    let new = with_supplement("2025");
    assert_eq!(old.due_at, Some(at_local("2026-03-13 09:00")));
    assert_eq!(new.due_at, Some(at_local("2026-03-11 09:00")));
    // D3 request window: 3 days under "2018", 1 day under "2025".
    assert!(!old.flags.contains(&Flag::SupplementRequestLate));
    assert!(new.flags.contains(&Flag::SupplementRequestLate));

    // D4: an apology 1 day 7 h ahead is in time under "2018" (1 day) and
    // late under "2025" (2 days).
    assert!(!with_apology("2018").apology.unwrap().late);
    let late = with_apology("2025");
    assert!(late.apology.unwrap().late);
    assert!(late.flags.contains(&Flag::ApologyLate));
}

#[test]
fn the_shipped_rule_sets_both_restart_the_clock() {
    for rules in ["2018", "2025"] {
        let mut d = dossier(Days(5)).rules(rules).at_district();
        d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
        d.ok(supplement_received(), COMMUNE, "2026-03-06 09:00");
        assert_eq!(d.due(), at_local("2026-03-13 09:00"), "rules {rules}");
    }
}

#[test]
fn a_rule_set_this_node_does_not_know_falls_back_to_the_common_defaults() {
    // A dossier from a newer network with a rule set "2031": judged by the
    // defaults "2018" and "2025" agree on (restart, 3 days, 1 day).
    let mut d = dossier(Days(5))
        .rules("2031")
        .rule_sets(extend_rule_sets())
        .at_district();
    d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    d.ok(supplement_received(), COMMUNE, "2026-03-06 09:00");
    assert_eq!(d.due(), at_local("2026-03-13 09:00"), "restarted");
}
