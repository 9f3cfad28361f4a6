//! The record only grows (issue 8): what a peer's changes may do to a
//! dossier this node already holds.
//!
//! - The event log only grows: every event held before is still there,
//!   unaltered and in the same order (new events may sort between them:
//!   concurrent appends interleave), and no unreadable entry disappears.
//! - The facts (hồ sơ gốc: applicant, procedure, route, origin…) are those
//!   written by the change that created the dossier. The one amendment the
//!   workflow defines is a scanned file added to a component (`attach`,
//!   recorded with a note): components and their attachments may be
//!   appended, never changed or removed.
//!
//! Checked on the dossier as it was stored here and as it would be with the
//! peer's changes, before anything is stored; a violation refuses the whole
//! message for that document.

use lienthong_shared::dossier::schema::{Component, DossierFacts};
use lienthong_shared::dossier::{Dossier, StoredEvent};

/// How a peer's changes rewrite a dossier's record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryViolation {
    #[error(
        "dossier {code}: the changes rewrite its facts ({fields}); facts are fixed when a dossier is received, only scanned files may be added. Nothing of this message was stored; the sending node's operator must check what wrote these changes"
    )]
    FactsRewritten { code: String, fields: String },
    #[error(
        "dossier {code}: the changes remove event {event} from its log; the log only grows. Nothing of this message was stored; the sending node's operator must check what wrote these changes"
    )]
    EventRemoved { code: String, event: String },
    #[error(
        "dossier {code}: the changes alter event {event} ({what}); a recorded event never changes. Nothing of this message was stored; the sending node's operator must check what wrote these changes"
    )]
    EventAltered {
        code: String,
        event: String,
        what: String,
    },
    #[error(
        "dossier {code}: the changes move event {event} before an event recorded earlier; the log keeps its order. Nothing of this message was stored"
    )]
    EventMoved { code: String, event: String },
    #[error(
        "dossier {code}: the changes remove {removed} unreadable log entries; nothing is ever removed from the log. Nothing of this message was stored"
    )]
    MalformedRemoved { code: String, removed: usize },
}

/// Check that `after` (with the peer's changes) keeps the record of
/// `before` (as stored here).
pub fn check(before: &Dossier, after: &Dossier) -> Result<(), HistoryViolation> {
    let code = before.facts.code.clone();
    let fields = rewritten_facts(&before.facts, &after.facts);
    if !fields.is_empty() {
        return Err(HistoryViolation::FactsRewritten {
            code,
            fields: fields.join(", "),
        });
    }
    check_log(&code, &before.events, &after.events)
}

/// The names of the facts `after` changed (documents: changed or removed,
/// not appended).
fn rewritten_facts(before: &DossierFacts, after: &DossierFacts) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut differs = |name, changed: bool| {
        if changed {
            fields.push(name);
        }
    };
    differs("id", before.id != after.id);
    differs("code", before.code != after.code);
    differs("rules", before.rules != after.rules);
    differs("origin", before.origin != after.origin);
    differs("channel", before.channel != after.channel);
    differs(
        "result_delivery",
        before.result_delivery != after.result_delivery,
    );
    differs("procedure", before.procedure != after.procedure);
    differs("applicant", before.applicant != after.applicant);
    differs("route", before.route != after.route);
    differs(
        "documents",
        !documents_grow(&before.documents, &after.documents),
    );
    fields
}

/// Every component held before is still there, in order, with the same
/// name and copies, holding at least the attachments it held (in order).
fn documents_grow(before: &[Component], after: &[Component]) -> bool {
    let mut rest = after.iter();
    before.iter().all(|old| {
        rest.by_ref().any(|new| {
            new.name == old.name
                && new.copies == old.copies
                && is_subsequence(&old.attachments, &new.attachments)
        })
    })
}

fn is_subsequence<T: PartialEq>(short: &[T], long: &[T]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|item| rest.by_ref().any(|x| x == item))
}

fn check_log(
    code: &str,
    before: &[StoredEvent],
    after: &[StoredEvent],
) -> Result<(), HistoryViolation> {
    use std::collections::HashMap;
    // Positions of the readable events after, by id (ids are unique in an
    // honest log; a duplicate keeps its first position, as the fold does).
    let mut position = HashMap::with_capacity(after.len());
    for (index, stored) in after.iter().enumerate() {
        if let StoredEvent::Valid(event) = stored {
            position.entry(&event.id).or_insert((index, event));
        }
    }
    let mut last = None;
    for stored in before {
        let StoredEvent::Valid(old) = stored else {
            continue;
        };
        let event = old.id.0.clone();
        let Some(&(index, new)) = position.get(&old.id) else {
            return Err(HistoryViolation::EventRemoved {
                code: code.to_string(),
                event,
            });
        };
        if new != old {
            return Err(HistoryViolation::EventAltered {
                code: code.to_string(),
                event,
                what: altered_fields(old, new),
            });
        }
        if last.is_some_and(|l| index <= l) {
            return Err(HistoryViolation::EventMoved {
                code: code.to_string(),
                event,
            });
        }
        last = Some(index);
    }
    let malformed = |log: &[StoredEvent]| {
        log.iter()
            .filter(|e| matches!(e, StoredEvent::Malformed { .. }))
            .count()
    };
    let (held, kept) = (malformed(before), malformed(after));
    if kept < held {
        return Err(HistoryViolation::MalformedRemoved {
            code: code.to_string(),
            removed: held - kept,
        });
    }
    Ok(())
}

fn altered_fields(
    old: &lienthong_shared::dossier::Event,
    new: &lienthong_shared::dossier::Event,
) -> String {
    let mut fields = Vec::new();
    if old.at != new.at {
        fields.push("time");
    }
    if old.office != new.office {
        fields.push("office");
    }
    if old.officer != new.officer {
        fields.push("officer");
    }
    if old.action != new.action {
        fields.push("action");
    }
    fields.join(", ")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use lienthong_shared::dossier::schema::{Applicant, ProcedureSnapshot, StoredAttachment};
    use lienthong_shared::dossier::{Action, Channel, Event, EventId};

    use super::*;

    fn event(id: &str, office: &str, officer: &str) -> StoredEvent {
        StoredEvent::Valid(Event {
            id: EventId(id.into()),
            at: Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap(),
            office: office.parse().unwrap(),
            officer: officer.into(),
            action: Action::Note {
                text: "ghi chú".into(),
            },
        })
    }

    fn attachment(name: &str) -> StoredAttachment {
        StoredAttachment {
            hash: "ab".repeat(32),
            size: 10,
            media_type: "application/pdf".into(),
            name: name.into(),
            chunks_root: "cd".repeat(32),
        }
    }

    fn dossier() -> Dossier {
        Dossier {
            facts: DossierFacts {
                id: "00".repeat(16),
                code: "X-260302-0001".into(),
                rules: "2025".into(),
                origin: "commune:a".parse().unwrap(),
                channel: Channel::Direct,
                result_delivery: Channel::Direct,
                procedure: ProcedureSnapshot {
                    code: "1.000001".into(),
                    name: "Thủ tục".into(),
                    catalogue_version: "1".into(),
                    processing_days: Some(5),
                    same_day_cutoff: None,
                    fee_vnd: 0,
                },
                applicant: Applicant {
                    name: "Nguyễn Văn An".into(),
                    id_number: "049090000001".into(),
                    ..Applicant::default()
                },
                route: Vec::new(),
                documents: vec![Component {
                    name: "Đơn".into(),
                    copies: 1,
                    attachments: vec![attachment("a.pdf")],
                }],
            },
            events: vec![
                event("e1", "commune:a", "An"),
                event("e2", "district:b", "Bình"),
            ],
        }
    }

    #[test]
    fn appending_events_and_attachments_keeps_the_record() {
        let before = dossier();
        let mut after = before.clone();
        // A concurrent append may sort between the events held before.
        after.events.insert(1, event("e3", "commune:a", "An"));
        after.events.push(event("e4", "district:b", "Bình"));
        after.facts.documents[0]
            .attachments
            .push(attachment("b.pdf"));
        after.facts.documents.push(Component {
            name: "Bổ sung".into(),
            copies: 1,
            attachments: vec![attachment("c.pdf")],
        });
        assert_eq!(check(&before, &after), Ok(()));
        assert_eq!(check(&before, &before), Ok(()));
    }

    #[test]
    fn rewritten_facts_are_named() {
        let before = dossier();
        let mut after = before.clone();
        after.facts.applicant.name = "Kẻ Mạo Danh".into();
        after.facts.applicant.id_number = "0".into();
        let Err(HistoryViolation::FactsRewritten { fields, .. }) = check(&before, &after) else {
            panic!("a rewritten applicant was let through");
        };
        assert_eq!(fields, "applicant");
        let mut after = before.clone();
        after.facts.documents[0].attachments.clear();
        assert!(matches!(
            check(&before, &after),
            Err(HistoryViolation::FactsRewritten { fields, .. }) if fields == "documents"
        ));
        let mut after = before.clone();
        after
            .facts
            .route
            .push(lienthong_shared::dossier::schema::RouteStep {
                office: "district:b".parse().unwrap(),
                task: "xử lý".into(),
                days: 1,
                lead: true,
            });
        assert!(matches!(
            check(&before, &after),
            Err(HistoryViolation::FactsRewritten { fields, .. }) if fields == "route"
        ));
    }

    #[test]
    fn a_removed_altered_or_moved_event_is_a_violation() {
        let before = dossier();
        let mut after = before.clone();
        after.events.remove(1);
        assert!(matches!(
            check(&before, &after),
            Err(HistoryViolation::EventRemoved { event, .. }) if event == "e2"
        ));
        let mut after = before.clone();
        after.events[1] = event("e2", "district:b", "Người khác");
        assert!(matches!(
            check(&before, &after),
            Err(HistoryViolation::EventAltered { event, what, .. }) if event == "e2" && what == "officer"
        ));
        let mut after = before.clone();
        after.events.swap(0, 1);
        assert!(matches!(
            check(&before, &after),
            Err(HistoryViolation::EventMoved { .. })
        ));
        let mut before_with_malformed = before.clone();
        before_with_malformed.events.push(StoredEvent::Malformed {
            index: 2,
            problem: "?".into(),
        });
        assert!(matches!(
            check(&before_with_malformed, &before),
            Err(HistoryViolation::MalformedRemoved { removed: 1, .. })
        ));
    }
}
