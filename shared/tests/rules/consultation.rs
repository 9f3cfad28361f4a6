//! RULES.md D5 and the `consulted` / `consultation_answered` rows: only the
//! holder consults (in 4); only the consulted office answers; a consultation
//! past its deadline unanswered is flagged; an answer to an unknown
//! consultation is a conflict.

use lienthong_shared::dossier::EventId;
use lienthong_shared::dossier::fold::{ConflictReason, Flag};

use crate::support::*;

/// The district consults the land department on Tue 3 Mar 09:00, answer
/// due Thu 5 Mar 17:00.
fn consulting() -> (Case, EventId) {
    let mut d = at_district();
    let id = d.ok(
        consulted(LAND, "2026-03-05 17:00"),
        DISTRICT,
        "2026-03-03 09:00",
    );
    (d, id)
}

fn overdue_flag(id: &EventId) -> Flag {
    Flag::ConsultationOverdue {
        consultation: id.clone(),
        to: office(LAND),
    }
}

#[test]
fn d5_consulted_opens_a_consultation() {
    let (d, id) = consulting();
    let state = d.state();
    assert_eq!(state.consultations.len(), 1);
    let c = &state.consultations[0];
    assert_eq!(c.event, id);
    assert_eq!(c.to, office(LAND));
    assert_eq!(c.deadline, at_local("2026-03-05 17:00"));
    assert!(c.is_open());
    assert_eq!(state.open_consultations().count(), 1);
    // Custody does not move: the district still holds it.
    assert_eq!(state.holder, Some(office(DISTRICT)));
}

#[test]
fn d5_only_the_holder_consults() {
    let mut d = at_district();
    assert_eq!(
        d.conflict(
            consulted(LAND, "2026-03-05 17:00"),
            COMMUNE,
            "2026-03-03 09:00"
        ),
        ConflictReason::NotHolder {
            holder: Some(office(DISTRICT))
        }
    );
}

#[test]
fn d5_only_the_consulted_office_answers() {
    let (mut d, id) = consulting();
    for by in [CONSTRUCTION, DISTRICT, COMMUNE] {
        assert_eq!(
            d.conflict(answered(&id), by, "2026-03-04 09:00"),
            ConflictReason::NotConsultedOffice { to: office(LAND) },
            "answer by {by}"
        );
    }
    d.ok(answered(&id), LAND, "2026-03-04 10:00");
    let state = d.state();
    let c = &state.consultations[0];
    assert!(!c.is_open());
    assert_eq!(c.answered_at, Some(at_local("2026-03-04 10:00")));
    assert_eq!(c.answer.as_deref(), Some("thống nhất"));
    // Answering twice: the consultation is closed.
    d.conflict(answered(&id), LAND, "2026-03-04 11:00");
}

#[test]
fn d5_a_second_answer_to_a_closed_consultation_is_a_conflict() {
    let (mut d, first) = consulting();
    d.ok(
        consulted(LAND, "2026-03-06 17:00"),
        DISTRICT,
        "2026-03-03 10:00",
    );
    d.ok(answered(&first), LAND, "2026-03-04 10:00");
    assert_eq!(
        d.conflict(answered(&first), LAND, "2026-03-04 11:00"),
        ConflictReason::ConsultationClosed {
            consultation: first.clone()
        }
    );
}

#[test]
fn d5_a_consultation_past_its_deadline_unanswered_is_flagged() {
    let (mut d, id) = consulting();
    assert!(
        !d.state_at("2026-03-05 17:00")
            .flags
            .contains(&overdue_flag(&id))
    );
    assert!(
        d.state_at("2026-03-05 17:01")
            .flags
            .contains(&overdue_flag(&id))
    );
    // Answered (even late): no longer flagged.
    d.ok(answered(&id), LAND, "2026-03-06 09:00");
    assert!(
        !d.state_at("2026-03-06 10:00")
            .flags
            .contains(&overdue_flag(&id))
    );
}

#[test]
fn d5_an_answer_to_an_unknown_consultation_is_a_conflict() {
    let (mut d, _) = consulting();
    let unknown = EventId("no-such-consultation".into());
    let reason = d.conflict(answered(&unknown), LAND, "2026-03-04 09:00");
    assert_eq!(
        reason,
        ConflictReason::UnknownConsultation {
            consultation: unknown.clone()
        }
    );
    assert!(reason.to_string().contains("no-such-consultation"));
    // With no consultation at all, an answer is a conflict too, and says so.
    let mut none = at_district();
    let reason = none.conflict(answered(&unknown), LAND, "2026-03-04 09:00");
    assert_eq!(reason, ConflictReason::NoOpenConsultation);
    assert!(
        reason.to_string().contains("no consultation is waiting"),
        "{reason}"
    );
}
