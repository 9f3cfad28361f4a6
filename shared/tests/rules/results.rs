//! RULES.md "Results (R)" and the `approved` / `result_issued` / `returned`
//! rows: a result needs the current holder's approval; it travels to the
//! return office named in the event (the origin desk, R1; the Police when
//! it returns directly, R2), and only that office appends `returned`.

use lienthong_shared::dossier::Status;
use lienthong_shared::dossier::fold::ConflictReason;

use crate::support::Procedure::Days;
use crate::support::*;

#[test]
fn r_a_result_needs_the_current_holders_approval() {
    let mut d = at_district();
    assert_eq!(
        d.conflict(result_issued(COMMUNE), DISTRICT, "2026-03-04 09:00"),
        ConflictReason::NotApproved
    );
    // An approval by someone else does not count.
    assert_eq!(
        d.conflict(approved(), COMMUNE, "2026-03-04 09:10"),
        ConflictReason::NotHolder {
            holder: Some(office(DISTRICT))
        }
    );
    assert_eq!(
        d.conflict(result_issued(COMMUNE), DISTRICT, "2026-03-04 09:20"),
        ConflictReason::NotApproved
    );
    d.ok(approved(), DISTRICT, "2026-03-04 09:30");
    let issued = d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-04 10:00");
    assert_eq!(d.code(), 9);
    let state = d.state();
    let result = state.result.expect("result recorded");
    assert_eq!(result.event, issued);
    assert_eq!(result.issued_by, office(DISTRICT));
    assert_eq!(result.return_office, office(COMMUNE));
    assert_eq!(
        state.holder,
        Some(office(COMMUNE)),
        "the result travels back (R1)"
    );
    assert_eq!(state.ended_at, Some(at_local("2026-03-04 10:00")));
}

#[test]
fn r_approval_resets_when_custody_changes() {
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 09:00");
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 10:00");
    d.ok(accepted(), LAND, "2026-03-03 11:00");
    assert!(!d.state().approved, "the new holder has not approved");
    assert_eq!(
        d.conflict(result_issued(COMMUNE), LAND, "2026-03-04 09:00"),
        ConflictReason::NotApproved
    );
    d.ok(approved(), LAND, "2026-03-04 10:00");
    d.ok(result_issued(COMMUNE), LAND, "2026-03-04 11:00");
    assert_eq!(d.code(), 9);
}

#[test]
fn r_a_cancelled_transfer_keeps_the_approval() {
    // Custody never changed hands, so the holder's approval stands.
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 09:00");
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 10:00");
    d.ok(forward_cancelled(), DISTRICT, "2026-03-03 10:30");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-03 11:00");
}

#[test]
fn r1_the_origin_desk_returns_the_result() {
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 09:00");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-03 10:00");
    for by in [DISTRICT, SIBLING, PROVINCE] {
        let reason = d.conflict(returned(), by, "2026-03-04 09:00");
        assert_eq!(
            reason,
            ConflictReason::NotReturnOffice {
                return_office: office(COMMUNE)
            },
            "returned by {by}"
        );
        assert!(reason.to_string().contains(COMMUNE));
    }
    d.ok(returned(), COMMUNE, "2026-03-04 09:00");
    assert_eq!(d.code(), 10);
    let state = d.state();
    assert_eq!(state.returned_at, Some(at_local("2026-03-04 09:00")));
    assert_eq!(state.ended_at, Some(at_local("2026-03-03 10:00")));
}

#[test]
fn r2_the_police_return_their_results_directly() {
    assert!(
        tree()
            .get(&office(POLICE))
            .unwrap()
            .returns_results_directly
    );
    let mut d = dossier(Days(5))
        .origin(PROVINCE)
        .received("2026-03-02 09:00");
    d.ok(forwarded(POLICE), PROVINCE, "2026-03-02 09:30");
    d.ok(accepted(), POLICE, "2026-03-02 10:00");
    d.ok(approved(), POLICE, "2026-03-04 09:00");
    d.ok(result_issued(POLICE), POLICE, "2026-03-04 10:00");
    assert_eq!(d.state().holder, Some(office(POLICE)));
    // Not the Center's desk this time.
    assert_eq!(
        d.conflict(returned(), PROVINCE, "2026-03-04 11:00"),
        ConflictReason::NotReturnOffice {
            return_office: office(POLICE)
        }
    );
    d.ok(returned(), POLICE, "2026-03-04 11:00");
    assert_eq!(d.code(), 10);
}

#[test]
fn r_returned_only_from_9() {
    let mut d = at_district();
    assert_not_allowed(
        &d.conflict(returned(), COMMUNE, "2026-03-03 09:00"),
        Status::Processing,
        &[Status::Resolved],
    );
}

#[test]
fn r_a_resolved_dossier_takes_no_more_processing() {
    let mut d = at_district();
    d.ok(approved(), DISTRICT, "2026-03-03 09:00");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-03 10:00");
    for by in [DISTRICT, COMMUNE] {
        for action in [
            appraised(),
            approved(),
            result_issued(COMMUNE),
            payment_requested(),
        ] {
            let reason = d.conflict(action, by, "2026-03-03 11:00");
            assert_not_allowed(&reason, Status::Resolved, &[Status::Processing]);
        }
        assert_not_allowed(
            &d.conflict(forwarded(LAND), by, "2026-03-03 11:00"),
            Status::Resolved,
            &[Status::Received, Status::Processing],
        );
    }
}

/// A route district → land department, the district leading (it decides).
fn routed_to_district_then_land() -> Case {
    dossier(Days(5))
        .route(&[(DISTRICT, 3), (LAND, 2)])
        .at_district()
}

#[test]
fn r_only_the_routes_deciding_agency_issues_the_result() {
    // LAND is on the route but does not lead: it may approve its part, not
    // issue the result; the event is kept as a conflict.
    let mut d = routed_to_district_then_land();
    d.ok(forwarded(LAND), DISTRICT, "2026-03-03 09:00");
    d.ok(accepted(), LAND, "2026-03-03 10:00");
    d.ok(approved(), LAND, "2026-03-03 11:00");
    assert_eq!(
        d.conflict(result_issued(COMMUNE), LAND, "2026-03-03 12:00"),
        ConflictReason::NotDecidingOffice {
            decider: office(DISTRICT)
        }
    );
    assert_eq!(d.code(), 4, "the refused result changed nothing");
    assert!(d.state().result.is_none());
    // Back at the district, the deciding agency, the same result is applied.
    d.ok(forwarded(DISTRICT), LAND, "2026-03-04 09:00");
    d.ok(accepted(), DISTRICT, "2026-03-04 10:00");
    d.ok(approved(), DISTRICT, "2026-03-04 11:00");
    d.ok(result_issued(COMMUNE), DISTRICT, "2026-03-04 12:00");
    assert_eq!(d.code(), 9);
}

#[test]
fn r_only_an_office_on_the_route_approves() {
    // The dossier went to POLICE, which is not on the route: holding it is
    // not enough to sign the decision.
    let mut d = routed_to_district_then_land();
    d.ok(forwarded(POLICE), DISTRICT, "2026-03-03 09:00");
    d.ok(accepted(), POLICE, "2026-03-03 10:00");
    assert_eq!(
        d.conflict(approved(), POLICE, "2026-03-03 11:00"),
        ConflictReason::NotOnRoute {
            route: vec![office(DISTRICT), office(LAND)]
        }
    );
    assert!(!d.state().approved, "the refused approval changed nothing");
}

#[test]
fn r_the_deciding_agency_is_the_lead_or_else_the_last_step() {
    use lienthong_shared::dossier::fold::deciding_office;
    let mut route = routed_to_district_then_land().dossier().facts.route;
    assert_eq!(deciding_office(&route), Some(&office(DISTRICT)));
    for step in &mut route {
        step.lead = false;
    }
    assert_eq!(deciding_office(&route), Some(&office(LAND)));
    assert_eq!(deciding_office(&[]), None);
}
