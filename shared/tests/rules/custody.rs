//! RULES.md "Custody (C)" and Principle 4: exactly one office holds a
//! dossier; only it appends processing events; a transfer is confirmed by
//! its recipient; nobody processes while in transfer; the sender may cancel;
//! of two concurrent forwards the holder's is kept.

use lienthong_shared::dossier::Status;
use lienthong_shared::dossier::fold::ConflictReason;

use crate::support::Procedure::Days;
use crate::support::*;

fn not_holder(holder: &str) -> ConflictReason {
    ConflictReason::NotHolder {
        holder: Some(office(holder)),
    }
}

#[test]
fn the_origin_holds_it_from_receipt_until_it_forwards() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    assert_eq!(d.state().holder, Some(office(COMMUNE)));
    // The district cannot act on it before it is forwarded there.
    assert_eq!(
        d.conflict(forwarded(LAND), DISTRICT, "2026-03-02 09:10"),
        not_holder(COMMUNE)
    );
    assert_eq!(
        d.conflict(supplement_requested(), DISTRICT, "2026-03-02 09:10"),
        not_holder(COMMUNE)
    );
    d.ok(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30");
    assert_eq!(d.state().holder, Some(office(COMMUNE)), "until accepted");
}

#[test]
fn only_the_holder_may_append_processing_events() {
    let mut d = at_district();
    let at = "2026-03-03 09:00";
    // From the origin (the previous holder) and from a sibling commune:
    // kept in the log, not applied, state unchanged (checked by `conflict`).
    for by in [COMMUNE, SIBLING, LAND] {
        for action in [
            appraised(),
            verification_scheduled("2026-03-04 09:00"),
            consulted(LAND, "2026-03-05 17:00"),
            supplement_requested(),
            payment_requested(),
            approved(),
            forwarded(SIBLING),
            stopped(),
            apologized("2026-03-20 17:00"),
        ] {
            let kind = action.kind();
            assert_eq!(
                d.conflict(action, by, at),
                not_holder(DISTRICT),
                "{kind} by {by}"
            );
        }
    }
    let state = d.state();
    assert_eq!(state.holder, Some(office(DISTRICT)));
    assert_eq!(state.status, Some(Status::Processing));
    assert!(!state.approved);
    assert!(state.consultations.is_empty());
    assert_eq!(state.conflicts.len(), 27);
    let text = state.conflicts[0].to_string();
    assert!(text.contains(DISTRICT) && text.contains("holder"), "{text}");

    // The holder itself may.
    d.ok(appraised(), DISTRICT, at);
    d.ok(approved(), DISTRICT, at);
    assert!(d.state().approved);
}

#[test]
fn only_the_office_it_was_forwarded_to_may_accept() {
    let mut d = at_district();
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    let expected = ConflictReason::NotTransferRecipient { to: office(LAND) };
    for by in [DISTRICT, COMMUNE, CONSTRUCTION, PROVINCE] {
        assert_eq!(
            d.conflict(accepted(), by, "2026-03-03 10:00"),
            expected,
            "{by}"
        );
    }
    d.ok(accepted(), LAND, "2026-03-03 10:00");
    assert_eq!(d.state().holder, Some(office(LAND)));
    // Accepting again: there is no transfer any more.
    assert_eq!(
        d.conflict(accepted(), LAND, "2026-03-03 10:05"),
        ConflictReason::NotInTransfer
    );
}

#[test]
fn nobody_processes_a_dossier_in_transfer() {
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 08:00");
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    let in_transfer = ConflictReason::InTransfer { to: office(LAND) };
    let at = "2026-03-03 09:30";
    // Neither the sender (still the holder on paper) nor the recipient.
    for by in [DISTRICT, LAND] {
        for action in [
            appraised(),
            verification_scheduled("2026-03-04 09:00"),
            consulted(CONSTRUCTION, "2026-03-05 17:00"),
            supplement_requested(),
            payment_requested(),
            approved(),
            result_issued(COMMUNE),
            forwarded(CONSTRUCTION),
            stopped(),
        ] {
            let kind = action.kind();
            assert_eq!(d.conflict(action, by, at), in_transfer, "{kind} by {by}");
        }
    }
    let state = d.state();
    assert_eq!(state.holder, Some(office(DISTRICT)));
    assert_eq!(state.transfer.as_ref().map(|t| &t.to), Some(&office(LAND)));
    assert!(
        d.state().conflicts[0]
            .to_string()
            .contains("until province:quang-nam/so-tai-nguyen-moi-truong accepts")
    );
}

#[test]
fn the_sender_may_cancel_a_transfer_not_yet_accepted() {
    let mut d = at_district();
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    // Not the recipient, nor anyone else.
    for by in [LAND, COMMUNE] {
        assert_eq!(
            d.conflict(forward_cancelled(), by, "2026-03-03 09:10"),
            ConflictReason::NotTransferSender {
                from: office(DISTRICT)
            }
        );
    }
    d.ok(forward_cancelled(), DISTRICT, "2026-03-03 09:15");
    let state = d.state();
    assert_eq!(state.transfer, None);
    assert_eq!(state.holder, Some(office(DISTRICT)));
    // The district may process again; the recipient's late accept is a conflict.
    d.ok(appraised(), DISTRICT, "2026-03-03 09:20");
    assert_eq!(
        d.conflict(accepted(), LAND, "2026-03-03 09:30"),
        ConflictReason::NotInTransfer
    );
    // Once accepted, a transfer cannot be cancelled.
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 10:00");
    d.ok(accepted(), LAND, "2026-03-03 10:30");
    assert_eq!(
        d.conflict(forward_cancelled(), DISTRICT, "2026-03-03 10:40"),
        ConflictReason::NotInTransfer
    );
    assert_eq!(d.state().holder, Some(office(LAND)));
}

/// The holder (district) forwards to the province on its node while the
/// origin commune, which no longer holds the dossier, forwards it to a
/// sibling commune on its own node; then the nodes sync, in either
/// direction. The actor bytes of the two replicas decide the order of the
/// concurrent entries in the merged log.
fn concurrent_forwards(district_actor: u8, commune_actor: u8, merge_into_district: bool) -> Case {
    let base = at_district();
    let mut district = base.fork(district_actor);
    let mut commune = base.fork(commune_actor);
    district.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    // On the commune's node it is a conflict already.
    commune.conflict(forwarded(SIBLING), COMMUNE, "2026-03-03 09:00");
    if merge_into_district {
        district.merge(&mut commune);
        commune.merge(&mut district);
    } else {
        commune.merge(&mut district);
        district.merge(&mut commune);
    }
    assert_eq!(district.doc.get_heads(), commune.doc.get_heads());
    let now = at_local("2026-03-03 10:00");
    assert_eq!(district.state_at_utc(now), commune.state_at_utc(now));
    district
}

#[test]
fn concurrent_forwards_keep_the_holders() {
    for (a, b, direction) in [(2, 3, true), (2, 3, false), (3, 2, true), (3, 2, false)] {
        let merged = concurrent_forwards(a, b, direction);
        let dossier = merged.dossier();
        let state = merged.state();
        assert_eq!(dossier.events.len(), 5, "both forwards are kept");
        let transfer = state.transfer.expect("in transfer");
        assert_eq!(transfer.from, office(DISTRICT));
        assert_eq!(transfer.to, office(LAND));
        assert_eq!(state.conflicts.len(), 1);
        let rogue = &state.conflicts[0];
        assert_eq!(rogue.office, Some(office(COMMUNE)));
        assert!(!state.applied[rogue.index]);
        // Depending on the order of the concurrent entries the commune's
        // forward is judged before (not the holder) or after the district's
        // (in transfer); either way it is not applied.
        assert!(
            matches!(
                rogue.reason,
                ConflictReason::NotHolder { .. } | ConflictReason::InTransfer { .. }
            ),
            "{:?}",
            rogue.reason
        );
        // The province may accept; the sibling may not.
        let mut merged = merged;
        assert_eq!(
            merged.conflict(accepted(), SIBLING, "2026-03-03 11:00"),
            ConflictReason::NotTransferRecipient { to: office(LAND) }
        );
        merged.ok(accepted(), LAND, "2026-03-03 11:00");
    }
}
