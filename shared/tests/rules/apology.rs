//! RULES.md D4: the apology (Form 04) — once, by the holder, before the due
//! time, with a later due time; flagged late when less than one working day
//! before the due time; the new due time is then in force. Overdue with no
//! apology is flagged; "due soon" within a working day.

use lienthong_shared::dossier::fold::{self, ConflictReason, Flag};
use lienthong_shared::dossier::{Status, Timeliness};

use crate::support::Procedure::Days;
use crate::support::*;

// `at_district()` is due Mon 9 Mar 2026 09:00.

#[test]
fn d4_an_apology_moves_the_due_time_once() {
    let mut d = at_district();
    let first = d.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-04 09:00");
    let state = d.state();
    assert_eq!(state.due_at, Some(at_local("2026-03-13 17:00")));
    assert_eq!(state.original_due_at, Some(at_local("2026-03-09 09:00")));
    let apology = state.apology.expect("apology recorded");
    assert_eq!(apology.event, first);
    assert_eq!(apology.previous_due, at_local("2026-03-09 09:00"));
    assert!(!apology.late);
    assert!(!state.flags.contains(&Flag::ApologyLate));

    let second = d.conflict(apologized("2026-03-20 17:00"), DISTRICT, "2026-03-05 09:00");
    assert_eq!(second, ConflictReason::AlreadyApologized);
    assert!(second.to_string().contains("at most one"), "{second}");
    assert_eq!(d.state().due_at, Some(at_local("2026-03-13 17:00")));
}

#[test]
fn d4_only_the_holder_apologizes() {
    let mut d = at_district();
    assert_eq!(
        d.conflict(apologized("2026-03-13 17:00"), COMMUNE, "2026-03-04 09:00"),
        ConflictReason::NotHolder {
            holder: Some(office(DISTRICT))
        }
    );
}

#[test]
fn d4_an_apology_at_or_after_the_due_time_is_refused() {
    let due = at_local("2026-03-09 09:00");
    for at in ["2026-03-09 09:00", "2026-03-09 09:01", "2026-03-10 10:00"] {
        let mut d = at_district();
        let reason = d.conflict(apologized("2026-03-20 17:00"), DISTRICT, at);
        assert_eq!(reason, ConflictReason::ApologyAfterDue { due }, "at {at}");
        // Still overdue, and the missing apology is flagged.
        let state = d.state_at("2026-03-10 10:00");
        assert_eq!(state.timeliness, Some(Timeliness::Overdue));
        assert!(state.flags.contains(&Flag::ApologyMissing));
    }
    // One minute before is still in time (though late: flagged, see below).
    let mut d = at_district();
    d.ok(apologized("2026-03-20 17:00"), DISTRICT, "2026-03-09 08:59");
}

#[test]
fn d4_an_apology_is_offered_only_before_the_due_time() {
    use lienthong_shared::dossier::ActionKind;
    let d = at_district();
    let dossier = d.dossier();
    let district = office(DISTRICT);
    let offered = |now: &str| {
        fold::allowed_actions(&dossier, &district, &d.ctx(at_local(now)))
            .contains(&ActionKind::Apologized)
    };
    assert!(offered("2026-03-09 08:59"), "before the due time");
    assert!(!offered("2026-03-09 09:00"), "at the due time");
    assert!(!offered("2026-03-10 10:00"), "past the due time");
    // What is offered is what would be applied.
    let mut late = at_district();
    late.conflict(apologized("2026-03-20 17:00"), DISTRICT, "2026-03-10 10:00");
}

#[test]
fn d4_the_new_due_time_must_be_later() {
    let due = at_local("2026-03-09 09:00");
    for new_due in ["2026-03-09 09:00", "2026-03-06 17:00"] {
        let mut d = at_district();
        assert_eq!(
            d.conflict(apologized(new_due), DISTRICT, "2026-03-04 09:00"),
            ConflictReason::ApologyNotLater { due },
            "new due {new_due}"
        );
        // A refused apology does not use up the one allowed.
        d.ok(apologized("2026-03-09 09:01"), DISTRICT, "2026-03-04 10:00");
    }
}

#[test]
fn d4_an_apology_less_than_a_working_day_ahead_is_applied_but_flagged_late() {
    // Fri 6 Mar 09:00 → Mon 9 Mar 09:00 is exactly one working day (480 min):
    // in time. One minute later leaves 479 minutes: late.
    let mut in_time = at_district();
    in_time.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-06 09:00");
    let state = in_time.state();
    assert!(!state.apology.unwrap().late);
    assert!(!state.flags.contains(&Flag::ApologyLate));

    let mut late = at_district();
    late.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-06 09:01");
    let state = late.state();
    assert!(state.apology.as_ref().unwrap().late);
    assert!(state.flags.contains(&Flag::ApologyLate));
    assert_eq!(
        state.due_at,
        Some(at_local("2026-03-13 17:00")),
        "still applied"
    );
}

#[test]
fn d4_after_a_valid_apology_the_new_due_time_is_in_force() {
    let apologized_case = || {
        let mut d = at_district();
        d.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-04 09:00");
        d.ok(approved(), DISTRICT, "2026-03-10 09:00");
        d
    };
    // Past the original due time, before the new one: not overdue, nothing flagged.
    let state = apologized_case().state_at("2026-03-12 10:00");
    assert_eq!(state.timeliness, None);
    assert!(
        !state.flags.contains(&Flag::ApologyMissing),
        "{:?}",
        state.flags
    );
    assert!(!state.flags.contains(&Flag::DueSoon), "{:?}", state.flags);

    // Finished Thu 12 Mar, after the original due time: early, not late.
    let mut early = apologized_case();
    early.ok(result_issued(COMMUNE), DISTRICT, "2026-03-12 10:00");
    assert_eq!(early.state().timeliness, Some(Timeliness::Early));
    // On the new due day, at any hour: on time. On a later day: late.
    let mut on_time = apologized_case();
    on_time.ok(result_issued(COMMUNE), DISTRICT, "2026-03-13 16:00");
    assert_eq!(on_time.state().timeliness, Some(Timeliness::OnTime));
    let mut after_hours = apologized_case();
    after_hours.ok(result_issued(COMMUNE), DISTRICT, "2026-03-13 17:01");
    assert_eq!(after_hours.state().timeliness, Some(Timeliness::OnTime));
    let mut late = apologized_case();
    late.ok(result_issued(COMMUNE), DISTRICT, "2026-03-16 08:00");
    let state = late.state();
    assert_eq!(state.timeliness, Some(Timeliness::Late));
    assert!(
        !state.flags.contains(&Flag::ApologyMissing),
        "it did apologize"
    );
}

#[test]
fn d4_overdue_with_no_apology_is_flagged() {
    let d = at_district();
    let at_due = d.state_at("2026-03-09 09:00");
    assert_eq!(
        at_due.timeliness, None,
        "at the due time it is not yet overdue"
    );
    assert!(!at_due.flags.contains(&Flag::ApologyMissing));
    let after = d.state_at("2026-03-09 09:01");
    assert_eq!(after.timeliness, Some(Timeliness::Overdue));
    assert!(after.is_overdue());
    assert!(after.flags.contains(&Flag::ApologyMissing));
}

#[test]
fn d4_due_soon_within_one_working_day_of_the_due_time() {
    let d = at_district();
    // Fri 6 Mar 08:59 leaves 481 working minutes; 09:00 leaves 480.
    assert!(
        !d.state_at("2026-03-06 08:59")
            .flags
            .contains(&Flag::DueSoon)
    );
    assert!(
        d.state_at("2026-03-06 09:00")
            .flags
            .contains(&Flag::DueSoon)
    );
    // Over the weekend and up to the due time.
    assert!(
        d.state_at("2026-03-07 12:00")
            .flags
            .contains(&Flag::DueSoon)
    );
    assert!(
        d.state_at("2026-03-09 09:00")
            .flags
            .contains(&Flag::DueSoon)
    );
    // Once overdue it is no longer "due soon".
    assert!(
        !d.state_at("2026-03-09 09:01")
            .flags
            .contains(&Flag::DueSoon)
    );

    // Not after an apology, nor while the clock is paused.
    let mut apologized_case = at_district();
    apologized_case.ok(apologized("2026-03-09 10:00"), DISTRICT, "2026-03-04 09:00");
    assert!(
        !apologized_case
            .state_at("2026-03-09 09:30")
            .flags
            .contains(&Flag::DueSoon)
    );
    let mut paused = at_district();
    paused.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    assert!(
        !paused
            .state_at("2026-03-06 10:00")
            .flags
            .contains(&Flag::DueSoon)
    );
}

#[test]
fn d4_an_apology_is_allowed_in_2_4_5_and_6_only() {
    // 2: at the desk, before forwarding.
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    d.ok(apologized("2026-03-13 17:00"), COMMUNE, "2026-03-03 09:00");
    // 4
    let mut d = at_district();
    d.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-03 09:00");
    // 5: waiting for the applicant, before the due time.
    let mut d = at_district();
    d.ok(supplement_requested(), DISTRICT, "2026-03-03 09:00");
    d.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-04 09:00");
    assert_eq!(d.code(), 5);
    // 6
    let mut d = at_district();
    d.ok(payment_requested(), DISTRICT, "2026-03-03 09:00");
    d.ok(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-04 09:00");
    assert_eq!(d.code(), 6);

    let allowed = [
        Status::Received,
        Status::Processing,
        Status::AwaitingSupplement,
        Status::AwaitingPayment,
    ];
    // 1: not received, no due time yet.
    let mut d = dossier(Days(5)).submitted("2026-03-02 08:00");
    let reason = d.conflict(apologized("2026-03-13 17:00"), COMMUNE, "2026-03-02 08:30");
    assert_not_allowed(&reason, Status::Submitted, &allowed);
    // 7
    let mut d = at_district();
    d.ok(withdrawal_requested(), COMMUNE, "2026-03-03 09:00");
    let reason = d.conflict(apologized("2026-03-13 17:00"), DISTRICT, "2026-03-03 10:00");
    assert_not_allowed(&reason, Status::WithdrawalRequested, &allowed);
    // 9
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 09:00");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-03 10:00");
    let reason = d.conflict(apologized("2026-03-13 17:00"), COMMUNE, "2026-03-03 11:00");
    assert_not_allowed(&reason, Status::Resolved, &allowed);
}
