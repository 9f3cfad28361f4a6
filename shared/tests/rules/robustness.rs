//! Events this version cannot apply: unknown kinds (from a newer version),
//! malformed entries (from a buggy peer), duplicate ids. Each is kept in the
//! log and reported as a conflict; nothing panics; the rest still folds.

use automerge::ScalarValue;
use lienthong_shared::dossier::fold::{self, ConflictReason};
use lienthong_shared::dossier::{Action, Event, Status, StoredEvent};

use crate::support::Procedure::Days;
use crate::support::*;

fn text(s: &str) -> ScalarValue {
    ScalarValue::Str(s.into())
}

fn time(at: &str) -> ScalarValue {
    ScalarValue::Timestamp(at_local(at).timestamp_millis())
}

#[test]
fn unknown_and_malformed_events_are_kept_reported_and_skipped() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    // 1. A kind from a newer version, otherwise well-formed.
    d.push_raw(&[
        ("id", text("raw-unknown")),
        ("kind", text("escalated")),
        ("at", time("2026-03-02 09:05")),
        ("office", text(COMMUNE)),
        ("officer", text("x")),
    ]);
    // 2. No `at`.
    d.push_raw(&[
        ("id", text("raw-no-at")),
        ("kind", text("forwarded")),
        ("office", text(COMMUNE)),
        ("officer", text("x")),
        ("to", text(SIBLING)),
        ("task", text("t")),
        ("days", ScalarValue::Uint(1)),
    ]);
    // 3. `at` of the wrong type.
    d.push_raw(&[
        ("id", text("raw-at-text")),
        ("kind", text("forwarded")),
        ("at", text("2026-03-02T02:10:00Z")),
        ("office", text(COMMUNE)),
        ("officer", text("x")),
        ("to", text(SIBLING)),
        ("task", text("t")),
        ("days", ScalarValue::Uint(1)),
    ]);
    // 4. A payload field of the wrong type.
    d.push_raw(&[
        ("id", text("raw-days-text")),
        ("kind", text("forwarded")),
        ("at", time("2026-03-02 09:15")),
        ("office", text(COMMUNE)),
        ("officer", text("x")),
        ("to", text(SIBLING)),
        ("task", text("t")),
        ("days", text("three")),
    ]);
    // 5. Not an office id.
    d.push_raw(&[
        ("id", text("raw-bad-office")),
        ("kind", text("note")),
        ("at", time("2026-03-02 09:20")),
        ("office", text("Điện Phương")),
        ("officer", text("x")),
        ("text", text("hello")),
    ]);
    // 6. Not even a map.
    d.push_raw_scalar(text("garbage"));
    // 7. No `id`, no `kind`.
    d.push_raw(&[("at", time("2026-03-02 09:25"))]);
    // The rest of the log still folds.
    d.ok(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30");
    d.ok(accepted(), DISTRICT, "2026-03-02 10:00");

    let dossier = d.dossier();
    assert_eq!(dossier.events.len(), 10, "nothing dropped");
    match &dossier.events[1] {
        StoredEvent::Valid(Event {
            action: Action::Unknown { name },
            ..
        }) => assert_eq!(name, "escalated"),
        other => panic!("expected an unknown kind, got {other:?}"),
    }
    for (index, stored) in dossier.events.iter().enumerate().skip(2).take(6) {
        assert!(
            matches!(stored, StoredEvent::Malformed { index: i, .. } if *i == index),
            "entry {index}: {stored:?}"
        );
    }

    let state = d.state();
    assert_eq!(
        state.applied,
        [
            true, false, false, false, false, false, false, false, true, true
        ]
    );
    assert_eq!(state.status, Some(Status::Processing));
    assert_eq!(state.holder, Some(office(DISTRICT)));
    assert_eq!(state.conflicts.len(), 7);
    let indexes: Vec<usize> = state.conflicts.iter().map(|c| c.index).collect();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6, 7]);

    let unknown = &state.conflicts[0];
    assert_eq!(unknown.kind, "escalated");
    assert_eq!(
        unknown.reason,
        ConflictReason::UnknownKind {
            name: "escalated".into()
        }
    );
    assert!(
        unknown
            .to_string()
            .contains("unknown event kind `escalated`")
    );

    let problems: Vec<String> = state.conflicts[1..]
        .iter()
        .map(|c| match &c.reason {
            ConflictReason::Malformed { problem } => problem.clone(),
            other => panic!("expected Malformed, got {other:?}"),
        })
        .collect();
    assert!(problems[0].contains("`at` is missing"), "{}", problems[0]);
    assert!(
        problems[1].contains("expected a timestamp"),
        "{}",
        problems[1]
    );
    assert!(problems[2].contains("`days`"), "{}", problems[2]);
    assert!(problems[3].contains("`office`"), "{}", problems[3]);
    assert!(problems[4].contains("not a map"), "{}", problems[4]);
    assert!(problems[5].contains("`id`"), "{}", problems[5]);
    for conflict in &state.conflicts[1..] {
        assert_eq!(conflict.event, None);
        assert!(conflict.to_string().contains("unreadable event"));
    }

    // The other entry points cope with the same log.
    let ctx = d.ctx(at_local("2026-03-03 09:00"));
    let allowed = fold::allowed_actions(&dossier, &office(DISTRICT), &ctx);
    assert!(!allowed.is_empty());
    assert!(
        fold::check(
            &dossier,
            &event(appraised(), DISTRICT, "2026-03-03 09:00"),
            &ctx
        )
        .is_ok()
    );
}

#[test]
fn an_unknown_kind_is_never_applied_even_from_the_holder() {
    let mut d = at_district();
    let unknown = event(
        Action::Unknown {
            name: "escalated".into(),
        },
        DISTRICT,
        "2026-03-03 09:00",
    );
    assert_eq!(
        d.conflict_event(&unknown),
        ConflictReason::UnknownKind {
            name: "escalated".into()
        }
    );
    let dossier = d.dossier();
    let ctx = d.ctx(at_local("2026-03-03 09:00"));
    assert!(matches!(
        fold::check(&dossier, &unknown, &ctx),
        Err(ConflictReason::UnknownKind { .. })
    ));
}

#[test]
fn a_duplicate_event_id_is_a_conflict() {
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    let forward = d.ok(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30");
    // A note reusing the id.
    let note_again = Event {
        id: forward.clone(),
        ..event(note(), COMMUNE, "2026-03-02 09:40")
    };
    assert_eq!(
        d.conflict_event(&note_again),
        ConflictReason::DuplicateEventId
    );
    // An event that would otherwise apply.
    let accept = Event {
        id: forward.clone(),
        ..event(accepted(), DISTRICT, "2026-03-02 10:00")
    };
    let reason = d.conflict_event(&accept);
    assert_eq!(reason, ConflictReason::DuplicateEventId);
    assert!(reason.to_string().contains("same id"));
    assert!(d.state().transfer.is_some(), "still in transfer");
    d.ok(accepted(), DISTRICT, "2026-03-02 10:05");
}

#[test]
fn an_id_already_used_by_a_conflicting_event_cannot_be_reused() {
    // Every entry of the log owns its id, applied or not: ids are how
    // events are referred to (a consultation's answer names it).
    let mut d = dossier(Days(5)).received("2026-03-02 09:00");
    let rogue = event(forwarded(SIBLING), SIBLING, "2026-03-02 09:10");
    assert!(matches!(
        d.conflict_event(&rogue),
        ConflictReason::NotHolder { .. }
    ));
    let reuse = Event {
        id: rogue.id.clone(),
        ..event(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30")
    };
    assert_eq!(d.conflict_event(&reuse), ConflictReason::DuplicateEventId);
    // And `check` agrees before anything is written.
    let ctx = d.ctx(at_local("2026-03-02 09:40"));
    let candidate = Event {
        id: rogue.id.clone(),
        ..event(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:40")
    };
    assert_eq!(
        fold::check(&d.dossier(), &candidate, &ctx).unwrap_err(),
        ConflictReason::DuplicateEventId
    );
}

#[test]
fn a_dossier_outside_the_shipped_calendar_reports_it_and_does_not_panic() {
    // 2030 has no calendar file: the due time is unknown, flagged, not guessed.
    let d = dossier(Days(5)).received("2030-03-04 09:00");
    let state = d.state();
    assert_eq!(state.status, Some(Status::Received));
    assert_eq!(state.due_at, None);
    assert!(
        state.flags.iter().any(|f| matches!(
            f,
            lienthong_shared::dossier::fold::Flag::DueTimeUnknown { .. }
        )),
        "{:?}",
        state.flags
    );
}
