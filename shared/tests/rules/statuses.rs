//! RULES.md "States" and "Events and who may append them": every allowed
//! transition of the table sets the right status code; a transition not
//! allowed now is a conflict naming the current status; final statuses
//! accept only notes.

use lienthong_shared::dossier::fold::{self, ConflictReason};
use lienthong_shared::dossier::{ActionKind, Status};

use crate::support::Procedure::Days;
use crate::support::*;

#[test]
fn local_times_are_written_at_utc_plus_7() {
    assert_eq!(
        at_local("2026-02-13 09:00").to_rfc3339(),
        "2026-02-13T02:00:00+00:00"
    );
}

#[test]
fn submitted_online_is_1_then_received_at_the_desk_is_2_with_a_due_time() {
    let mut d = dossier(Days(5)).submitted("2026-03-01 20:00");
    assert_eq!(d.code(), 1);
    let state = d.state();
    assert_eq!(state.holder, Some(office(COMMUNE)));
    assert_eq!(state.received_at, None);
    assert_eq!(state.due_at, None, "no clock before the desk receives it");

    d.ok(received(), COMMUNE, "2026-03-02 09:00");
    assert_eq!(d.code(), 2);
    let state = d.state();
    assert_eq!(state.received_at, Some(at_local("2026-03-02 09:00")));
    // 5 working days from Mon 2 Mar 09:00: Mon 9 Mar 09:00.
    assert_eq!(state.due_at, Some(at_local("2026-03-09 09:00")));
    assert_eq!(state.original_due_at, state.due_at);
    assert_eq!(
        state.holder,
        Some(office(COMMUNE)),
        "the origin holds it (C)"
    );
}

#[test]
fn received_directly_at_the_desk_is_2() {
    let d = dossier(Days(5)).received("2026-03-02 09:00");
    assert_eq!(d.code(), 2);
    assert_eq!(d.state().applied, vec![true]);
}

#[test]
fn a_second_receipt_says_intake_is_for_new_or_submitted_dossiers() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    let reason = d.conflict(received(), COMMUNE, "2026-03-02 10:00");
    assert!(reason.to_string().contains("new or submitted"), "{reason}");
}

#[test]
fn only_the_origin_office_submits_receives_or_refuses() {
    let mut d = dossier(Days(5)).starting_with(event(submitted(), SIBLING, "2026-03-02 08:00"));
    let state = d.state();
    assert_eq!(state.status, None);
    assert_eq!(
        state.conflicts[0].reason,
        ConflictReason::NotOrigin {
            origin: office(COMMUNE)
        }
    );
    for action in [received(), refused()] {
        assert_eq!(
            d.conflict(action, DISTRICT, "2026-03-02 09:00"),
            ConflictReason::NotOrigin {
                origin: office(COMMUNE)
            }
        );
    }
    d.ok(received(), COMMUNE, "2026-03-02 09:00");
    assert_eq!(d.code(), 2);
}

#[test]
fn refused_at_intake_from_new_or_submitted_is_final_3() {
    let new = dossier(Days(5)).starting_with(event(refused(), COMMUNE, "2026-03-02 09:00"));
    assert_eq!(new.code(), 3);
    assert!(new.status().unwrap().is_final());
    assert_eq!(new.state().ended_at, Some(at_local("2026-03-02 09:00")));
    assert_eq!(new.state().due_at, None);

    let mut online = dossier(Days(5)).submitted("2026-03-01 20:00");
    online.ok(refused(), COMMUNE, "2026-03-02 09:00");
    assert_eq!(online.code(), 3);

    // Not once received: the table allows it only when new or 1.
    let mut received_one = dossier(Days(5)).received("2026-03-02 09:00");
    let reason = received_one.conflict(refused(), COMMUNE, "2026-03-02 10:00");
    assert_not_allowed(&reason, Status::Received, &[Status::Submitted]);
}

#[test]
fn forwarded_puts_custody_in_transfer_and_accepted_makes_the_recipient_holder_in_4() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    let forward = d.ok(forwarded_for(DISTRICT, 3), COMMUNE, "2026-03-02 09:30");
    let state = d.state();
    assert_eq!(state.status, Some(Status::Received), "until accepted");
    assert_eq!(state.holder, Some(office(COMMUNE)));
    let transfer = state.transfer.expect("in transfer");
    assert_eq!(transfer.event, forward);
    assert_eq!(transfer.from, office(COMMUNE));
    assert_eq!(transfer.to, office(DISTRICT));
    assert_eq!(transfer.days, 3);

    d.ok(accepted(), DISTRICT, "2026-03-02 10:00");
    assert_eq!(d.code(), 4);
    let state = d.state();
    assert_eq!(state.holder, Some(office(DISTRICT)));
    assert_eq!(state.transfer, None);
    // The allowance written on the transfer: 3 working days from the
    // forward (Mon 2 Mar 09:30) is Thu 5 Mar 09:30.
    assert_eq!(state.step_due_at, Some(at_local("2026-03-05 09:30")));

    // And from status 4 on to the province.
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    assert_eq!(d.code(), 4, "in transfer is still processing");
    d.ok(accepted(), LAND, "2026-03-03 14:00");
    assert_eq!(d.code(), 4);
    assert_eq!(d.state().holder, Some(office(LAND)));
}

#[test]
fn appraisal_verification_and_approval_are_recorded_in_4() {
    let mut d = at_district();
    d.ok(appraised(), DISTRICT, "2026-03-03 09:00");
    d.ok(
        verification_scheduled("2026-03-04 09:00"),
        DISTRICT,
        "2026-03-03 09:10",
    );
    assert!(!d.state().approved);
    d.ok(approved(), DISTRICT, "2026-03-04 15:00");
    let state = d.state();
    assert_eq!(state.status, Some(Status::Processing));
    assert!(state.approved);
    assert!(state.applied.iter().all(|&a| a));
}

#[test]
fn every_step_of_the_table_sets_its_status_code() {
    // received 2 → forwarded/accepted 4 → supplement 5 → back to 4 →
    // payment 6 → paid 4 → approved, result 9 → returned 10.
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    let mut codes = vec![d.code()];
    let steps = [
        (forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30"),
        (accepted(), DISTRICT, "2026-03-02 10:00"),
        (supplement_requested(), DISTRICT, "2026-03-02 14:00"),
        (supplement_received(), COMMUNE, "2026-03-03 09:00"),
        (payment_requested(), DISTRICT, "2026-03-04 09:00"),
        (paid(), COMMUNE, "2026-03-04 10:00"),
        (approved(), DISTRICT, "2026-03-05 09:00"),
        (result_issued(COMMUNE), DISTRICT, "2026-03-05 10:00"),
        (returned(), COMMUNE, "2026-03-06 09:00"),
    ];
    for (action, by, at) in steps {
        d.ok(action, by, at);
        codes.push(d.code());
    }
    assert_eq!(codes, [2, 2, 4, 5, 4, 6, 4, 4, 9, 10]);
}

#[test]
fn a_transition_not_allowed_now_names_the_current_status_and_the_allowed_ones() {
    use Status::*;
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    let at = "2026-03-02 09:10";
    assert_not_allowed(
        &d.conflict(appraised(), COMMUNE, at),
        Received,
        &[Processing],
    );
    assert_not_allowed(
        &d.conflict(approved(), COMMUNE, at),
        Received,
        &[Processing],
    );
    assert_not_allowed(
        &d.conflict(paid(), COMMUNE, at),
        Received,
        &[AwaitingPayment],
    );
    assert_not_allowed(
        &d.conflict(supplement_received(), COMMUNE, at),
        Received,
        &[AwaitingSupplement],
    );
    assert_not_allowed(&d.conflict(returned(), COMMUNE, at), Received, &[Resolved]);
    assert_not_allowed(
        &d.conflict(stopped(), COMMUNE, at),
        Received,
        &[Processing, WithdrawalRequested],
    );
    assert_not_allowed(&d.conflict(received(), COMMUNE, at), Received, &[Submitted]);
    let again = d.conflict(submitted(), COMMUNE, at);
    assert_not_allowed(&again, Received, &[]);
    assert!(again.to_string().contains("it is new"), "{again}");

    d.ok(supplement_requested(), COMMUNE, "2026-03-02 10:00");
    assert_eq!(d.code(), 5);
    let at = "2026-03-02 10:10";
    assert_not_allowed(
        &d.conflict(forwarded(DISTRICT), COMMUNE, at),
        AwaitingSupplement,
        &[Received, Processing],
    );
    assert_not_allowed(
        &d.conflict(supplement_requested(), COMMUNE, at),
        AwaitingSupplement,
        &[Received, Processing],
    );
    assert_not_allowed(
        &d.conflict(payment_requested(), COMMUNE, at),
        AwaitingSupplement,
        &[Processing],
    );
}

#[test]
fn before_any_status_the_message_says_not_yet_received() {
    let mut d = dossier(Days(5)).starting_with(event(note(), COMMUNE, "2026-03-02 08:00"));
    assert_eq!(d.status(), None);
    let reason = d.conflict(appraised(), COMMUNE, "2026-03-02 08:30");
    assert_eq!(
        reason,
        ConflictReason::NotAllowedInStatus {
            status: None,
            allowed: vec![Status::Processing]
        }
    );
    assert!(reason.to_string().contains("not yet received"), "{reason}");
}

/// A dossier in each final status, with the office that last held it.
fn final_cases() -> Vec<(Status, Case)> {
    let refused_case =
        dossier(Days(5)).starting_with(event(refused(), COMMUNE, "2026-03-02 09:00"));

    let mut stopped_case = at_district();
    stopped_case.ok(withdrawal_requested(), COMMUNE, "2026-03-03 09:00");
    stopped_case.ok(stopped(), DISTRICT, "2026-03-03 10:00");

    let mut returned_case = at_district();
    returned_case.ok(approved(), DISTRICT, "2026-03-03 09:00");
    returned_case.ok(result_issued(COMMUNE), DISTRICT, "2026-03-03 10:00");
    returned_case.ok(returned(), COMMUNE, "2026-03-03 14:00");

    vec![
        (Status::Refused, refused_case),
        (Status::Stopped, stopped_case),
        (Status::Returned, returned_case),
    ]
}

#[test]
fn final_statuses_accept_only_notes() {
    for (final_status, mut d) in final_cases() {
        assert_eq!(d.status(), Some(final_status));
        assert!(final_status.is_final());
        for kind in ActionKind::KNOWN {
            if kind == ActionKind::Note {
                continue;
            }
            // Whoever appends it: the origin desk, the last holder, another office.
            for by in [COMMUNE, DISTRICT, LAND] {
                let reason = d.conflict(sample_action(kind, LAND), by, "2026-03-04 09:00");
                match &reason {
                    ConflictReason::FinalStatus { status } => {
                        assert_eq!(*status, final_status);
                        let text = reason.to_string();
                        assert!(text.contains(final_status.as_str()), "{text}");
                        assert!(text.contains("only notes"), "{text}");
                    }
                    // A second `submitted` is refused as "not new".
                    ConflictReason::NotAllowedInStatus { status, .. }
                        if kind == ActionKind::Submitted =>
                    {
                        assert_eq!(*status, Some(final_status));
                    }
                    other => panic!("{kind} in {final_status}: unexpected {other:?}"),
                }
            }
        }
        for by in [COMMUNE, DISTRICT, LAND] {
            d.ok(note(), by, "2026-03-05 09:00");
        }
        assert_eq!(d.status(), Some(final_status));
    }
}

#[test]
fn notes_are_recorded_in_every_status_and_change_nothing() {
    let mut d = dossier(Days(5)).submitted("2026-03-01 20:00");
    let steps = [
        (received(), COMMUNE, "2026-03-02 09:00"),
        (forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30"),
        (accepted(), DISTRICT, "2026-03-02 10:00"),
        (supplement_requested(), DISTRICT, "2026-03-02 14:00"),
        (supplement_received(), COMMUNE, "2026-03-03 09:00"),
        (payment_requested(), DISTRICT, "2026-03-04 09:00"),
        (paid(), COMMUNE, "2026-03-04 10:00"),
        (withdrawal_requested(), COMMUNE, "2026-03-04 11:00"),
    ];
    for (action, by, at) in steps {
        let before = comparable(&d.state_at(at));
        d.ok(note(), SIBLING, at);
        assert_eq!(
            comparable(&d.state_at(at)),
            before,
            "a note changes nothing"
        );
        d.ok(action, by, at);
    }
}

#[test]
fn check_and_allowed_actions_agree_with_the_fold() {
    let d = at_district();
    let dossier = d.dossier();
    let ctx = d.ctx(at_local("2026-03-03 09:00"));

    let district = fold::allowed_actions(&dossier, &office(DISTRICT), &ctx);
    for kind in [
        ActionKind::Forwarded,
        ActionKind::Appraised,
        ActionKind::VerificationScheduled,
        ActionKind::Consulted,
        ActionKind::SupplementRequested,
        ActionKind::PaymentRequested,
        ActionKind::Apologized,
        ActionKind::Stopped,
        ActionKind::Approved,
        ActionKind::Note,
    ] {
        assert!(
            district.contains(&kind),
            "the holder may {kind}: {district:?}"
        );
    }
    for kind in [
        ActionKind::ResultIssued, // not approved yet
        ActionKind::Accepted,
        ActionKind::ForwardCancelled,
        ActionKind::Received,
        ActionKind::Returned,
        ActionKind::WithdrawalRequested, // origin desk only
        ActionKind::SupplementReceived,
        ActionKind::Paid,
    ] {
        assert!(!district.contains(&kind), "the holder may not {kind} now");
    }
    let commune = fold::allowed_actions(&dossier, &office(COMMUNE), &ctx);
    assert!(commune.contains(&ActionKind::WithdrawalRequested));
    assert!(!commune.contains(&ActionKind::Appraised));
    assert!(!commune.contains(&ActionKind::Forwarded));

    let state = fold::check(
        &dossier,
        &event(appraised(), DISTRICT, "2026-03-03 09:00"),
        &ctx,
    )
    .expect("the holder may appraise");
    assert_eq!(state.applied, vec![true; dossier.events.len() + 1]);
    assert_eq!(
        fold::check(
            &dossier,
            &event(appraised(), COMMUNE, "2026-03-03 09:00"),
            &ctx
        ),
        Err(ConflictReason::NotHolder {
            holder: Some(office(DISTRICT))
        })
    );
}
