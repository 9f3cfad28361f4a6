//! RULES.md D3: a supplement request pauses the clock (status 5); the
//! supplement restarts it from zero (default) or extends the old due time by
//! the working time waited (configurable); a request later than 3 working
//! days after receipt is flagged; a second request counts the dossier late.

use lienthong_shared::dossier::fold::{ConflictReason, Flag, Pause};
use lienthong_shared::dossier::{Status, Timeliness};

use crate::support::Procedure::Days;
use crate::support::*;

#[test]
fn d3_waiting_for_a_supplement_pauses_the_clock() {
    let mut d = at_district(); // due Mon 9 Mar 09:00
    d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    assert_eq!(d.code(), 5);
    // Three months later, far past the due time, still waiting: not overdue.
    let state = d.state_at("2026-06-01 09:00");
    assert!(state.is_paused());
    assert_eq!(state.timeliness, None);
    assert!(!state.is_overdue());
    assert!(!state.flags.contains(&Flag::ApologyMissing));
    assert!(!state.flags.contains(&Flag::DueSoon));
    assert_eq!(
        state.pauses,
        vec![Pause {
            from: at_local("2026-03-04 09:00"),
            until: None
        }]
    );
    // The same dossier without the request is overdue by then.
    let running = at_district().state_at("2026-06-01 09:00");
    assert_eq!(running.timeliness, Some(Timeliness::Overdue));
}

#[test]
fn d3_the_supplement_restarts_the_clock_from_zero() {
    // The shipped rule set "2025" restarts the clock.
    let mut d = at_district();
    d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    d.ok(supplement_received(), COMMUNE, "2026-03-06 09:00");
    let state = d.state();
    assert_eq!(state.status, Some(Status::Processing), "back to 4");
    assert_eq!(state.holder, Some(office(DISTRICT)), "with the holder");
    // A full 5 working days from Fri 6 Mar 09:00: Fri 13 Mar 09:00.
    assert_eq!(state.due_at, Some(at_local("2026-03-13 09:00")));
    assert_eq!(state.original_due_at, Some(at_local("2026-03-09 09:00")));
    assert_eq!(
        state.pauses,
        vec![Pause {
            from: at_local("2026-03-04 09:00"),
            until: Some(at_local("2026-03-06 09:00"))
        }]
    );
    // Past the original due time but not the restarted one: not overdue.
    assert_eq!(d.state_at("2026-03-11 09:00").timeliness, None);
    assert_eq!(
        d.state_at("2026-03-13 09:01").timeliness,
        Some(Timeliness::Overdue)
    );
}

#[test]
fn d3_the_extend_rule_set_moves_the_due_time_by_the_working_time_waited() {
    let mut d = dossier(Days(5)).rule_sets(extend_rule_sets()).at_district();
    d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    d.ok(supplement_received(), COMMUNE, "2026-03-06 09:00");
    // Waited Wed 4 Mar 09:00 → Fri 6 Mar 09:00: 2 working days.
    // Mon 9 Mar 09:00 + 2 working days = Wed 11 Mar 09:00.
    assert_eq!(d.state().due_at, Some(at_local("2026-03-11 09:00")));
    assert_eq!(d.code(), 4);
}

#[test]
fn d3_restart_and_extend_across_tet() {
    // Received Wed 11 Feb 09:00, 5 days: Thu 12 (1), Fri 13 (2), Mon 23 (3),
    // Tue 24 (4), Wed 25 Feb 09:00 (5). The desk asks for a supplement
    // Thu 12 Feb 09:00 and gets it Mon 23 Feb 09:00: 2 working days waited
    // (Thu 12 → Fri 13 → Mon 23), though 11 calendar days.
    let run = |sets| {
        let mut d = dossier(Days(5))
            .rule_sets(sets)
            .received("2026-02-11 09:00");
        assert_eq!(d.due(), at_local("2026-02-25 09:00"));
        d.ok(supplement_requested(), COMMUNE, "2026-02-12 09:00");
        d.ok(supplement_received(), COMMUNE, "2026-02-23 09:00");
        d.state()
    };
    // Restart: Mon 23 Feb 09:00 + 5 = Mon 2 Mar 09:00.
    assert_eq!(
        run(shipped_rule_sets()).due_at,
        Some(at_local("2026-03-02 09:00"))
    );
    // Extend: Wed 25 Feb 09:00 + 2 = Fri 27 Feb 09:00.
    assert_eq!(
        run(extend_rule_sets()).due_at,
        Some(at_local("2026-02-27 09:00"))
    );
}

#[test]
fn d3_a_supplement_asked_for_at_the_desk_goes_back_to_processing() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    d.ok(supplement_requested(), COMMUNE, "2026-03-02 10:00");
    assert_eq!(d.code(), 5);
    d.ok(supplement_received(), COMMUNE, "2026-03-03 09:00");
    assert_eq!(d.code(), 4, "the table says: back to 4 with the holder");
    assert_eq!(d.state().holder, Some(office(COMMUNE)));
    // From 4 the desk may still forward it on.
    d.ok(forwarded(DISTRICT), COMMUNE, "2026-03-03 09:30");
    d.ok(accepted(), DISTRICT, "2026-03-03 10:00");
    assert_eq!(d.state().holder, Some(office(DISTRICT)));
}

#[test]
fn d3_only_the_origin_desk_records_the_supplement() {
    let mut d = at_district();
    d.ok(supplement_requested(), DISTRICT, "2026-03-04 09:00");
    for by in [DISTRICT, SIBLING] {
        assert_eq!(
            d.conflict(supplement_received(), by, "2026-03-05 09:00"),
            ConflictReason::NotOrigin {
                origin: office(COMMUNE)
            }
        );
    }
    d.ok(supplement_received(), COMMUNE, "2026-03-05 09:00");
}

#[test]
fn d3_a_supplement_cannot_be_asked_for_during_a_transfer() {
    let mut d = at_district();
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    assert_eq!(
        d.conflict(supplement_requested(), DISTRICT, "2026-03-03 10:00"),
        ConflictReason::InTransfer { to: office(LAND) }
    );
}

fn requested_at(received_at: &str, request_at: &str) -> Vec<Flag> {
    let mut d = dossier(Days(10)).received(received_at);
    d.ok(supplement_requested(), COMMUNE, request_at);
    d.state().flags
}

#[test]
fn d3_a_request_later_than_3_working_days_after_receipt_is_flagged() {
    // Received Mon 2 Mar 09:00; three working days later is Thu 5 Mar 09:00.
    let in_time = requested_at("2026-03-02 09:00", "2026-03-05 09:00");
    assert!(
        !in_time.contains(&Flag::SupplementRequestLate),
        "{in_time:?}"
    );
    let late = requested_at("2026-03-02 09:00", "2026-03-05 09:01");
    assert!(late.contains(&Flag::SupplementRequestLate), "{late:?}");
    // Working days, not calendar days: from Thu 12 Feb 09:00, Tue 24 Feb
    // 09:00 is 3 working days later (Fri 13, Mon 23, Tue 24; Tết skipped).
    let tet = requested_at("2026-02-12 09:00", "2026-02-24 09:00");
    assert!(!tet.contains(&Flag::SupplementRequestLate), "{tet:?}");
    let tet_late = requested_at("2026-02-12 09:00", "2026-02-24 09:30");
    assert!(
        tet_late.contains(&Flag::SupplementRequestLate),
        "{tet_late:?}"
    );
}

#[test]
fn d3_a_second_request_counts_the_dossier_late() {
    let finish = |second_request: bool| {
        let mut d = at_district();
        d.ok(supplement_requested(), DISTRICT, "2026-03-03 09:00");
        d.ok(supplement_received(), COMMUNE, "2026-03-04 09:00");
        if second_request {
            d.ok(supplement_requested(), DISTRICT, "2026-03-04 14:00");
            let state = d.state();
            assert_eq!(state.supplement_requests, 2);
            assert!(state.flags.contains(&Flag::RepeatedSupplementRequest));
            d.ok(supplement_received(), COMMUNE, "2026-03-05 09:00");
        }
        d.ok(approved(), DISTRICT, "2026-03-05 10:00");
        // Well before the due time (Wed 11 or Thu 12 Mar 09:00).
        d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-05 11:00");
        let state = d.state();
        assert!(state.ended_at < state.due_at);
        state
    };
    let once = finish(false);
    assert_eq!(once.supplement_requests, 1);
    assert_eq!(once.timeliness, Some(Timeliness::Early));
    assert!(!once.flags.contains(&Flag::RepeatedSupplementRequest));
    let twice = finish(true);
    assert_eq!(twice.timeliness, Some(Timeliness::Late));
    assert!(twice.flags.contains(&Flag::RepeatedSupplementRequest));
}
