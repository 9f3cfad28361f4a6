//! Writing a dossier document (issue 11): each new object tree built as one
//! `hydrate::Value` and written by one Automerge batch.
//!
//! The facts used to go through autosurgeon's `reconcile`, which looks up
//! every field of the (empty) document and writes each struct's scalars one
//! `put` at a time: 3.1 M instructions a receipt, more than half of one.
//! Every single `put`/`insert` into Automerge 0.12's columnar op set is a
//! splice costing about 0.1 M instructions whatever it writes (measured:
//! an event's fields put one by one cost 1.04 M against 0.31 M as one
//! batch), so the cheapest write is the fewest splices: a new document is
//! one batch (`init_root_from_hydrate`: schema, facts and the first events
//! in one splice), an appended event or file one batch under its list.
//!
//! The shape is exactly what autosurgeon's `Reconcile` derives gave the
//! types of [`super::schema`]: structs are maps, `Vec`s lists in order,
//! `String`s `Str` scalars (never text objects), `u64`s `Uint`, `bool`s
//! `Boolean`, an absent `Option` a `Null`; an office id or a channel its
//! name as a `Str`. Events keep the shape they always had: a flat map, times
//! as `Timestamp` milliseconds. `write_tests` proves the written trees equal
//! to the former writers' on generated dossiers. The shape is the storage
//! and wire format: peers on older versions read these documents, and
//! admission compares what they say before and after a change.

use automerge::hydrate::{Map, MapValue, Value as V};
use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ROOT, ScalarValue};
use chrono::{DateTime, Utc};

use super::event::{Action, Event};
use super::schema::{Component, DOSSIER_SCHEMA, DossierFacts, RouteStep, StoredAttachment};

fn map<const N: usize>(fields: [(&str, V); N]) -> V {
    let mut map = Map::default();
    map.reserve(N);
    for (key, value) in fields {
        map.insert(
            key.to_string(),
            MapValue {
                value,
                conflict: false,
            },
        );
    }
    V::Map(map)
}

fn text(s: &str) -> V {
    V::Scalar(ScalarValue::Str(s.into()))
}

fn uint(n: u64) -> V {
    V::Scalar(ScalarValue::Uint(n))
}

fn time(t: &DateTime<Utc>) -> V {
    V::Scalar(ScalarValue::Timestamp(t.timestamp_millis()))
}

fn null_or(value: Option<V>) -> V {
    value.unwrap_or(V::Scalar(ScalarValue::Null))
}

/// A new dossier in the caller's transaction: the schema tag, `facts` and
/// `events` (at least the first). On an empty document (a receipt) it is
/// one batch; on one that holds anything, the keys are put one by one.
pub(super) fn new_dossier<T: Transactable>(
    tx: &mut T,
    has_history: bool,
    facts: &DossierFacts,
    events: &[&Event],
) -> Result<(), AutomergeError> {
    let log = V::from(events.iter().map(|e| event_value(e)).collect::<Vec<_>>());
    if !has_history && tx.pending_ops() == 0 {
        let V::Map(root) = map([
            ("schema", text(DOSSIER_SCHEMA)),
            ("facts", facts_value(facts)),
            ("events", log),
        ]) else {
            unreachable!("map() builds a map")
        };
        return tx.init_root_from_hydrate(&root);
    }
    tx.put(ROOT, "schema", DOSSIER_SCHEMA)?;
    tx.batch_create_object(ROOT, "facts", &facts_value(facts), false)?;
    tx.batch_create_object(ROOT, "events", &log, false)?;
    Ok(())
}

/// Insert `event` at `index` of the log `events`.
pub(super) fn event<T: Transactable>(
    tx: &mut T,
    events: &ObjId,
    index: usize,
    event: &Event,
) -> Result<(), AutomergeError> {
    tx.batch_create_object(events, index, &event_value(event), true)?;
    Ok(())
}

/// Insert component `c` at `index` of the `documents` list.
pub(super) fn component<T: Transactable>(
    tx: &mut T,
    documents: &ObjId,
    index: usize,
    c: &Component,
) -> Result<(), AutomergeError> {
    tx.batch_create_object(documents, index, &component_value(c), true)?;
    Ok(())
}

/// Insert a scanned file at `index` of a component's `attachments`.
pub(super) fn attachment<T: Transactable>(
    tx: &mut T,
    attachments: &ObjId,
    index: usize,
    a: &StoredAttachment,
) -> Result<(), AutomergeError> {
    tx.batch_create_object(attachments, index, &attachment_value(a), true)?;
    Ok(())
}

fn facts_value(f: &DossierFacts) -> V {
    let p = &f.procedure;
    let a = &f.applicant;
    map([
        ("id", text(&f.id)),
        ("code", text(&f.code)),
        ("rules", text(&f.rules)),
        ("origin", text(f.origin.as_str())),
        ("channel", text(f.channel.as_str())),
        ("result_delivery", text(f.result_delivery.as_str())),
        (
            "procedure",
            map([
                ("code", text(&p.code)),
                ("name", text(&p.name)),
                ("catalogue_version", text(&p.catalogue_version)),
                ("processing_days", null_or(p.processing_days.map(uint))),
                (
                    "same_day_cutoff",
                    null_or(p.same_day_cutoff.as_deref().map(text)),
                ),
                ("fee_vnd", uint(p.fee_vnd)),
            ]),
        ),
        (
            "applicant",
            map([
                ("name", text(&a.name)),
                ("id_number", text(&a.id_number)),
                ("address", text(&a.address)),
                ("phone", text(&a.phone)),
                ("email", text(&a.email)),
                ("organisation", text(&a.organisation)),
            ]),
        ),
        (
            "route",
            V::from(f.route.iter().map(route_step_value).collect::<Vec<_>>()),
        ),
        (
            "documents",
            V::from(f.documents.iter().map(component_value).collect::<Vec<_>>()),
        ),
    ])
}

fn route_step_value(step: &RouteStep) -> V {
    map([
        ("office", text(step.office.as_str())),
        ("task", text(&step.task)),
        ("days", uint(step.days)),
        ("lead", V::Scalar(ScalarValue::Boolean(step.lead))),
    ])
}

fn component_value(c: &Component) -> V {
    map([
        ("name", text(&c.name)),
        ("copies", uint(c.copies)),
        (
            "attachments",
            V::from(
                c.attachments
                    .iter()
                    .map(attachment_value)
                    .collect::<Vec<_>>(),
            ),
        ),
    ])
}

fn attachment_value(a: &StoredAttachment) -> V {
    map([
        ("hash", text(&a.hash)),
        ("size", uint(a.size)),
        ("media_type", text(&a.media_type)),
        ("name", text(&a.name)),
        ("chunks_root", text(&a.chunks_root)),
    ])
}

/// An event as the flat map stored in the log.
fn event_value(event: &Event) -> V {
    let kind = match &event.action {
        // Only ever read, never written by this version; keep the name.
        Action::Unknown { name } => name.as_str(),
        action => action.kind().as_str(),
    };
    let V::Map(mut fields) = map([
        ("id", text(&event.id.0)),
        ("kind", text(kind)),
        ("at", time(&event.at)),
        ("office", text(event.office.as_str())),
        ("officer", text(&event.officer)),
    ]) else {
        unreachable!("map() builds a map")
    };
    let mut put = |key: &str, value: V| {
        fields.insert(
            key.to_string(),
            MapValue {
                value,
                conflict: false,
            },
        );
    };
    match &event.action {
        Action::Submitted | Action::Received | Action::Accepted | Action::Unknown { .. } => {}
        Action::Refused { reason }
        | Action::ForwardCancelled { reason }
        | Action::WithdrawalRequested { reason }
        | Action::Stopped { reason } => put("reason", text(reason)),
        Action::Forwarded { to, task, days } => {
            put("to", text(to.as_str()));
            put("task", text(task));
            put("days", uint(u64::from(*days)));
        }
        Action::Appraised { outcome, note } => {
            put("outcome", text(outcome.as_str()));
            put("note", text(note));
        }
        Action::VerificationScheduled { when, place, who } => {
            put("when", time(when));
            put("place", text(place));
            put("who", text(who));
        }
        Action::Consulted {
            to,
            question,
            deadline,
        } => {
            put("to", text(to.as_str()));
            put("question", text(question));
            put("deadline", time(deadline));
        }
        Action::ConsultationAnswered {
            consultation,
            answer,
        } => {
            put("consultation", text(&consultation.0));
            put("answer", text(answer));
        }
        Action::SupplementRequested { items, reason } => {
            put(
                "items",
                V::from(items.iter().map(|i| text(i)).collect::<Vec<_>>()),
            );
            put("reason", text(reason));
        }
        Action::SupplementReceived { note } | Action::Approved { note } => put("note", text(note)),
        Action::PaymentRequested { amount_vnd, note } => {
            put("amount_vnd", uint(*amount_vnd));
            put("note", text(note));
        }
        Action::Paid {
            amount_vnd,
            receipt,
        } => {
            put("amount_vnd", uint(*amount_vnd));
            put("receipt", text(receipt));
        }
        Action::Apologized { reason, new_due } => {
            put("reason", text(reason));
            put("new_due", time(new_due));
        }
        Action::ResultIssued {
            result,
            attachment,
            return_office,
        } => {
            put("result", text(result));
            put("return_office", text(return_office.as_str()));
            if let Some(a) = attachment {
                put("attachment", attachment_value(&StoredAttachment::from(a)));
            }
        }
        Action::Returned { channel } => put("channel", text(channel.as_str())),
        Action::Note { text: note } => put("text", text(note)),
    }
    V::Map(fields)
}
