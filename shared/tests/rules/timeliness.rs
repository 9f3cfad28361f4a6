//! RULES.md D6: a finished dossier is early (a day before the due day), on
//! time (on the due day, at any hour) or late (a later day), judged at `ended` = the first of resolved,
//! returned, stopped, refused; an unfinished dossier past due is overdue.

use lienthong_shared::dossier::Timeliness;
use lienthong_shared::dossier::fold::{DossierState, Flag};

use crate::support::Procedure::{self, Days};
use crate::support::*;

/// `at_district()` (due Mon 9 Mar 09:00), approved, result issued at `at`.
fn resolved_at(at: &str) -> DossierState {
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-04 09:00");
    d.ok(result_issued(COMMUNE), DISTRICT, at);
    let state = d.state_at("2026-12-01 09:00");
    assert_eq!(state.ended_at, Some(at_local(at)));
    state
}

#[test]
fn d6_early_before_the_due_day() {
    assert_eq!(
        resolved_at("2026-03-06 16:00").timeliness,
        Some(Timeliness::Early)
    );
    assert_eq!(
        resolved_at("2026-03-04 10:00").timeliness,
        Some(Timeliness::Early)
    );
}

#[test]
fn d6_on_time_on_the_due_day_at_any_hour() {
    for at in [
        "2026-03-09 07:30",
        "2026-03-09 09:00",
        "2026-03-09 09:01",
        "2026-03-09 16:59",
    ] {
        let state = resolved_at(at);
        assert_eq!(state.timeliness, Some(Timeliness::OnTime), "finished {at}");
        assert!(
            !state.flags.contains(&Flag::ApologyMissing),
            "finished {at}"
        );
    }
}

#[test]
fn d6_late_on_a_later_day() {
    let state = resolved_at("2026-03-10 07:30");
    assert_eq!(state.timeliness, Some(Timeliness::Late));
    assert!(state.flags.contains(&Flag::ApologyMissing));
    assert_eq!(
        resolved_at("2026-03-10 10:00").timeliness,
        Some(Timeliness::Late)
    );
}

#[test]
fn d6_ended_is_the_first_of_resolved_and_returned() {
    // Resolved Fri 6 Mar, returned to the applicant only Tue 10 Mar: early.
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-04 09:00");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-06 10:00");
    d.ok(returned(), COMMUNE, "2026-03-10 10:00");
    let state = d.state();
    assert_eq!(state.ended_at, Some(at_local("2026-03-06 10:00")));
    assert_eq!(state.returned_at, Some(at_local("2026-03-10 10:00")));
    assert_eq!(state.timeliness, Some(Timeliness::Early));
}

#[test]
fn d6_a_stopped_dossier_ends_when_stopped() {
    let stop_at = |at: &str| {
        let mut d = at_district();
        d.ok(withdrawal_requested(), COMMUNE, "2026-03-04 09:00");
        d.ok(stopped(), DISTRICT, at);
        d.state_at("2026-12-01 09:00")
    };
    let early = stop_at("2026-03-04 10:00");
    assert_eq!(early.ended_at, Some(at_local("2026-03-04 10:00")));
    assert_eq!(early.timeliness, Some(Timeliness::Early));
    assert_eq!(
        stop_at("2026-03-10 10:00").timeliness,
        Some(Timeliness::Late)
    );
}

#[test]
fn d6_a_refused_dossier_ends_at_refusal_with_no_due_time() {
    let d = dossier(Days(5)).starting_with(event(refused(), COMMUNE, "2026-03-02 09:00"));
    let state = d.state_at("2026-12-01 09:00");
    assert_eq!(state.ended_at, Some(at_local("2026-03-02 09:00")));
    assert_eq!(state.due_at, None);
    assert_eq!(state.timeliness, None, "never overdue");
}

#[test]
fn d6_unfinished_past_the_due_time_is_overdue() {
    let d = at_district();
    assert_eq!(d.state_at("2026-03-06 09:00").timeliness, None);
    assert_eq!(d.state_at("2026-03-09 09:00").timeliness, None);
    assert_eq!(
        d.state_at("2026-03-09 09:01").timeliness,
        Some(Timeliness::Overdue)
    );
    // A finished dossier is never overdue, however late "now" is.
    let finished = resolved_at("2026-03-06 16:00");
    assert_eq!(finished.timeliness, Some(Timeliness::Early));
}

#[test]
fn d6_same_day_procedures() {
    // Received Tue 10 Mar 10:00, before the cut-off: due 17:00 that day.
    // The commune processes it itself: it forwards to itself and accepts,
    // which takes it to status 4.
    let finish = |at: &str| {
        let mut d = dossier(Procedure::SameDay("15:00")).received("2026-03-10 10:00");
        d.ok(forwarded(COMMUNE), COMMUNE, "2026-03-10 10:05");
        d.ok(accepted(), COMMUNE, "2026-03-10 10:06");
        d.ok(approved(), COMMUNE, "2026-03-10 11:00");
        d.ok(result_issued(COMMUNE), COMMUNE, at);
        d.state().timeliness
    };
    assert_eq!(finish("2026-03-10 16:59"), Some(Timeliness::OnTime));
    assert_eq!(finish("2026-03-10 17:00"), Some(Timeliness::OnTime));
    // After hours on the due day is still the due day (D6).
    assert_eq!(finish("2026-03-10 17:01"), Some(Timeliness::OnTime));
    assert_eq!(finish("2026-03-11 07:31"), Some(Timeliness::Late));
}
