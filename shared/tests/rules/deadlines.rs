//! RULES.md D1 (due time in working time) and D2 (same-day procedures),
//! with the shipped 2026 calendar: Tết and the swapped Saturday.

use crate::support::Procedure::{self, Days, SameDay};
use crate::support::*;

/// The due time set when a dossier of `procedure` is received at `at`.
fn due(procedure: Procedure, at: &str) -> String {
    let d = dossier(procedure).received(at);
    let state = d.state();
    assert_eq!(state.original_due_at, state.due_at);
    local(d.due())
}

fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%Y-%m-%d %H:%M %a")
        .to_string()
}

#[test]
fn d1_counts_working_time_in_an_ordinary_week() {
    // Mon 2 Mar 09:00 + 5 working days = Mon 9 Mar 09:00 (the weekend skipped).
    assert_eq!(due(Days(5), "2026-03-02 09:00"), "2026-03-09 09:00 Mon");
    // Fri 6 Mar 09:00 + 3 = Mon 9, Tue 10, Wed 11 Mar 09:00.
    assert_eq!(due(Days(3), "2026-03-06 09:00"), "2026-03-11 09:00 Wed");
    // Stored as UTC: 09:00 local is 02:00Z.
    let d = dossier(Days(5)).received("2026-03-02 09:00");
    assert_eq!(d.due().to_rfc3339(), "2026-03-09T02:00:00+00:00");
}

#[test]
fn d1_skips_tet_2026() {
    // Fri 13 Feb 09:00 + 3 working days. Sat 14 – Sun 22 Feb are all off
    // (weekends and Tết Mon 16 – Fri 20). Fri 13 09:00 → Mon 23 09:00 is one
    // working day (6 h on Friday, 2 h on Monday), Tue 24 09:00 two, Wed 25
    // 09:00 three.
    assert_eq!(due(Days(3), "2026-02-13 09:00"), "2026-02-25 09:00 Wed");
    // Thu 12 Feb 14:00 + 2: Fri 13 14:00 (1), Mon 23 14:00 (2).
    assert_eq!(due(Days(2), "2026-02-12 14:00"), "2026-02-23 14:00 Mon");
    // Thu 12 Feb 09:00 + 10: Fri 13 (1), Mon 23 – Fri 27 (2–6), Mon 2 – Thu 5 Mar (7–10).
    assert_eq!(due(Days(10), "2026-02-12 09:00"), "2026-03-05 09:00 Thu");
}

#[test]
fn d1_counts_the_swapped_working_saturday_of_august_2026() {
    // Sat 22 Aug 2026 is worked (in exchange for Mon 31 Aug):
    // Fri 21 Aug 09:00 + 1 = Sat 22 Aug 09:00.
    assert_eq!(due(Days(1), "2026-08-21 09:00"), "2026-08-22 09:00 Sat");
    // An ordinary Saturday is not: Fri 14 Aug 09:00 + 1 = Mon 17 Aug 09:00.
    assert_eq!(due(Days(1), "2026-08-14 09:00"), "2026-08-17 09:00 Mon");
    // Wed 19 Aug 16:00 + 3: Thu 20 (1), Fri 21 (2), Sat 22 16:00 (3).
    assert_eq!(due(Days(3), "2026-08-19 16:00"), "2026-08-22 16:00 Sat");
    // Thu 27 Aug 10:00 + 3: Fri 28 (1); Sat 29 – Wed 2 Sep off (weekend,
    // the swapped Mon 31, Quốc khánh Tue 1 and Wed 2); Thu 3 Sep (2), Fri 4 Sep 10:00 (3).
    assert_eq!(due(Days(3), "2026-08-27 10:00"), "2026-09-04 10:00 Fri");
    // Received on the swapped Saturday itself: Sat 22 Aug 10:00 + 1 = Mon 24 Aug 10:00.
    assert_eq!(due(Days(1), "2026-08-22 10:00"), "2026-08-24 10:00 Mon");
}

#[test]
fn d1_received_after_hours_starts_the_next_working_morning() {
    // Fri 13 Feb 18:30: the clock starts Mon 23 Feb 07:00 (after Tết); one
    // working day later is Mon 23 Feb 17:00.
    assert_eq!(due(Days(1), "2026-02-13 18:30"), "2026-02-23 17:00 Mon");
    // At 17:00 sharp the day is over: starts Wed 11 Mar 07:00.
    assert_eq!(due(Days(1), "2026-03-10 17:00"), "2026-03-11 17:00 Wed");
    // Before opening, the same morning: Tue 10 Mar 06:00 → 07:00 → 17:00.
    assert_eq!(due(Days(1), "2026-03-10 06:00"), "2026-03-10 17:00 Tue");
    // On a Sunday: Sun 8 Mar → Mon 9 Mar 07:00 → 17:00.
    assert_eq!(due(Days(1), "2026-03-08 10:00"), "2026-03-09 17:00 Mon");
    // At lunch the count starts at 13:30: Tue 10 Mar 13:30–17:00 (3.5 h) and
    // Wed 11 Mar 07:00–11:30 (4.5 h) make the 8 hours; a due time falling on
    // the end of a period stays there, so Wed 11 Mar 11:30.
    assert_eq!(due(Days(1), "2026-03-10 12:00"), "2026-03-11 11:30 Wed");
    // During Tết: Wed 18 Feb 10:00 → Mon 23 Feb 07:00, + 2 = Tue 24 Feb 17:00.
    assert_eq!(due(Days(2), "2026-02-18 10:00"), "2026-02-24 17:00 Tue");
}

#[test]
fn d2_same_day_before_the_cutoff_is_due_17_00_that_day() {
    assert_eq!(
        due(SameDay("15:00"), "2026-02-10 07:30"),
        "2026-02-10 17:00 Tue"
    );
    assert_eq!(
        due(SameDay("15:00"), "2026-02-10 14:59"),
        "2026-02-10 17:00 Tue"
    );
}

#[test]
fn d2_same_day_at_or_after_the_cutoff_is_due_17_00_the_next_working_day() {
    assert_eq!(
        due(SameDay("15:00"), "2026-02-10 15:00"),
        "2026-02-11 17:00 Wed"
    );
    assert_eq!(
        due(SameDay("15:00"), "2026-02-10 16:30"),
        "2026-02-11 17:00 Wed"
    );
    // After hours too.
    assert_eq!(
        due(SameDay("15:00"), "2026-02-10 19:00"),
        "2026-02-11 17:00 Wed"
    );
}

#[test]
fn d2_friday_after_the_cutoff_is_due_the_next_working_day() {
    // An ordinary Friday: Monday 17:00.
    assert_eq!(
        due(SameDay("15:00"), "2026-03-06 15:30"),
        "2026-03-09 17:00 Mon"
    );
    // Friday before Tết: before the cut-off that Friday, after it Mon 23 Feb.
    assert_eq!(
        due(SameDay("15:00"), "2026-02-13 14:00"),
        "2026-02-13 17:00 Fri"
    );
    assert_eq!(
        due(SameDay("15:00"), "2026-02-13 15:01"),
        "2026-02-23 17:00 Mon"
    );
    // Friday before the swapped Saturday: that Saturday.
    assert_eq!(
        due(SameDay("15:00"), "2026-08-21 16:00"),
        "2026-08-22 17:00 Sat"
    );
    // The swapped Saturday itself is a working day for D2 as well.
    assert_eq!(
        due(SameDay("15:00"), "2026-08-22 10:00"),
        "2026-08-22 17:00 Sat"
    );
    assert_eq!(
        due(SameDay("15:00"), "2026-08-22 15:30"),
        "2026-08-24 17:00 Mon"
    );
    // Received on a day off (Tết): the next working day.
    assert_eq!(
        due(SameDay("15:00"), "2026-02-17 09:00"),
        "2026-02-23 17:00 Mon"
    );
}

#[test]
fn d2_the_cutoff_is_per_procedure() {
    assert_eq!(
        due(SameDay("15:00"), "2026-03-10 12:00"),
        "2026-03-10 17:00 Tue"
    );
    assert_eq!(
        due(SameDay("11:00"), "2026-03-10 12:00"),
        "2026-03-11 17:00 Wed"
    );
    assert_eq!(
        due(SameDay("11:00"), "2026-03-10 10:59"),
        "2026-03-10 17:00 Tue"
    );
}
