//! The `withdrawal_requested` / `stopped` and `payment_requested` / `paid`
//! rows of the event table.

use lienthong_shared::dossier::fold::ConflictReason;
use lienthong_shared::dossier::{Status, Timeliness};

use crate::support::Procedure::Days;
use crate::support::*;

const WITHDRAWABLE: [Status; 5] = [
    Status::Submitted,
    Status::Received,
    Status::Processing,
    Status::AwaitingSupplement,
    Status::AwaitingPayment,
];

/// A dossier in each status a withdrawal is allowed in, with its holder.
fn withdrawable_cases() -> Vec<(Status, Case, &'static str)> {
    let submitted_case = dossier(Days(5)).submitted("2026-03-02 08:00");
    let received_case = dossier(Days(5)).received("2026-03-02 09:00");
    let processing = at_district();
    let mut supplement = at_district();
    supplement.ok(supplement_requested(), DISTRICT, "2026-03-02 14:00");
    let mut payment = at_district();
    payment.ok(payment_requested(), DISTRICT, "2026-03-02 14:00");
    vec![
        (Status::Submitted, submitted_case, COMMUNE),
        (Status::Received, received_case, COMMUNE),
        (Status::Processing, processing, DISTRICT),
        (Status::AwaitingSupplement, supplement, DISTRICT),
        (Status::AwaitingPayment, payment, DISTRICT),
    ]
}

#[test]
fn withdrawal_is_allowed_in_1_2_4_5_6_from_the_origin_desk_only() {
    for (status, mut d, holder) in withdrawable_cases() {
        assert_eq!(d.status(), Some(status));
        // Not from the holder (unless it is the origin) nor another office.
        for by in [DISTRICT, SIBLING] {
            assert_eq!(
                d.conflict(withdrawal_requested(), by, "2026-03-03 09:00"),
                ConflictReason::NotOrigin {
                    origin: office(COMMUNE)
                },
                "by {by} in {status}"
            );
        }
        d.ok(withdrawal_requested(), COMMUNE, "2026-03-03 09:00");
        assert_eq!(d.code(), 7, "from {status}");
        // Then the holder stops it: 8, final.
        if holder != COMMUNE {
            assert_eq!(
                d.conflict(stopped(), COMMUNE, "2026-03-03 10:00"),
                ConflictReason::NotHolder {
                    holder: Some(office(holder))
                }
            );
        }
        d.ok(stopped(), holder, "2026-03-03 10:00");
        assert_eq!(d.code(), 8, "stopped after withdrawal from {status}");
        let state = d.state();
        assert_eq!(state.ended_at, Some(at_local("2026-03-03 10:00")));
        assert!(
            state.pauses.iter().all(|p| p.until.is_some()),
            "no pause left open"
        );
    }
}

#[test]
fn withdrawal_is_refused_once_resolved_and_in_final_statuses() {
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 09:00");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-03 10:00");
    assert_eq!(d.code(), 9);
    let reason = d.conflict(withdrawal_requested(), COMMUNE, "2026-03-03 11:00");
    assert_not_allowed(&reason, Status::Resolved, &WITHDRAWABLE);

    // Asked twice: already 7.
    let mut twice = at_district();
    twice.ok(withdrawal_requested(), COMMUNE, "2026-03-03 09:00");
    let reason = twice.conflict(withdrawal_requested(), COMMUNE, "2026-03-03 09:30");
    assert_not_allowed(&reason, Status::WithdrawalRequested, &WITHDRAWABLE);

    // Final statuses.
    d.ok(returned(), COMMUNE, "2026-03-04 09:00");
    twice.ok(stopped(), DISTRICT, "2026-03-03 10:00");
    let refused_case =
        dossier(Days(5)).starting_with(event(refused(), COMMUNE, "2026-03-02 09:00"));
    for mut finished in [d, twice, refused_case] {
        let status = finished.status().unwrap();
        assert_eq!(
            finished.conflict(withdrawal_requested(), COMMUNE, "2026-03-05 09:00"),
            ConflictReason::FinalStatus { status }
        );
    }
}

#[test]
fn stopped_is_allowed_from_4_and_7_only() {
    // From 4 directly (not eligible).
    let mut d = at_district();
    d.ok(stopped(), DISTRICT, "2026-03-03 09:00");
    assert_eq!(d.code(), 8);
    // Not from 2, 5 or 6.
    let mut received_case = dossier(Days(5)).received("2026-03-02 09:00");
    let allowed = [Status::Processing, Status::WithdrawalRequested];
    let reason = received_case.conflict(stopped(), COMMUNE, "2026-03-02 10:00");
    assert_not_allowed(&reason, Status::Received, &allowed);
    let mut paused = at_district();
    paused.ok(supplement_requested(), DISTRICT, "2026-03-02 14:00");
    let reason = paused.conflict(stopped(), DISTRICT, "2026-03-03 10:00");
    assert_not_allowed(&reason, Status::AwaitingSupplement, &allowed);
}

#[test]
fn payment_requested_is_6_and_paid_is_back_to_4() {
    let mut d = at_district();
    d.ok(payment_requested(), DISTRICT, "2026-03-03 09:00");
    assert_eq!(d.code(), 6);
    // Only the origin desk (or the holder, through the post) records payment.
    assert_eq!(
        d.conflict(paid(), SIBLING, "2026-03-03 10:00"),
        ConflictReason::NotOrigin {
            origin: office(COMMUNE)
        }
    );
    // Nothing is processed while waiting for the fee.
    assert_not_allowed(
        &d.conflict(appraised(), DISTRICT, "2026-03-03 10:00"),
        Status::AwaitingPayment,
        &[Status::Processing],
    );
    d.ok(paid(), COMMUNE, "2026-03-03 11:00");
    assert_eq!(d.code(), 4);
    assert_eq!(d.state().holder, Some(office(DISTRICT)));
    d.ok(appraised(), DISTRICT, "2026-03-03 14:00");

    // The holder may record it too.
    let mut by_holder = at_district();
    by_holder.ok(payment_requested(), DISTRICT, "2026-03-03 09:00");
    by_holder.ok(paid(), DISTRICT, "2026-03-03 11:00");
    assert_eq!(by_holder.code(), 4);
}

#[test]
fn payment_only_from_4_by_the_holder_and_paid_only_in_6() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    assert_not_allowed(
        &d.conflict(payment_requested(), COMMUNE, "2026-03-02 10:00"),
        Status::Received,
        &[Status::Processing],
    );
    let mut d = at_district();
    assert_eq!(
        d.conflict(payment_requested(), COMMUNE, "2026-03-02 10:00"),
        ConflictReason::NotHolder {
            holder: Some(office(DISTRICT))
        }
    );
    assert_not_allowed(
        &d.conflict(paid(), COMMUNE, "2026-03-02 10:00"),
        Status::Processing,
        &[Status::AwaitingPayment],
    );
}

#[test]
fn waiting_for_payment_does_not_pause_the_clock() {
    // Only status 5 pauses the clock (D3); a fee unpaid past the due time
    // leaves the dossier overdue.
    let mut d = at_district();
    d.ok(payment_requested(), DISTRICT, "2026-03-03 09:00");
    let state = d.state_at("2026-03-09 10:00");
    assert_eq!(state.status, Some(Status::AwaitingPayment));
    assert_eq!(state.timeliness, Some(Timeliness::Overdue));
    assert!(state.pauses.is_empty());
}
