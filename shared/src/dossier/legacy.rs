//! The writers this version replaced, kept for the tests only: autosurgeon's
//! `reconcile` for the facts and a component's files, one
//! `batch_create_object` per event (as of issue 11's document cache).
//! `write_tests` proves the new writer's documents equal theirs.

use automerge::transaction::{Transactable, Transaction};
use automerge::{ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::event::{Action, AttachmentRef, Event};
use super::schema::{Component, DOSSIER_SCHEMA, DossierFacts, SchemaError, StoredAttachment};

pub(super) fn create(
    tx: &mut Transaction<'_>,
    facts: &DossierFacts,
    first: &Event,
) -> Result<(), SchemaError> {
    tx.put(ROOT, "schema", DOSSIER_SCHEMA)?;
    autosurgeon::reconcile_prop(tx, ROOT, "facts", facts)?;
    let events = tx.put_object(ROOT, "events", ObjType::List)?;
    tx.batch_create_object(&events, 0, &event_value(first), true)?;
    Ok(())
}

pub(super) fn append_event(tx: &mut Transaction<'_>, event: &Event) -> Result<(), SchemaError> {
    let events = match tx.get(ROOT, "events")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => return Err(SchemaError::NoEvents),
    };
    let len = tx.length(&events);
    tx.batch_create_object(&events, len, &event_value(event), true)?;
    Ok(())
}

pub(super) fn add_attachment(
    tx: &mut Transaction<'_>,
    component_name: &str,
    attachment: &AttachmentRef,
) -> Result<(), SchemaError> {
    let facts = match tx.get(ROOT, "facts")? {
        Some((Value::Object(ObjType::Map), id)) => id,
        _ => return Err(SchemaError::WrongSchema { found: None }),
    };
    let documents = match tx.get(&facts, "documents")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => return Err(SchemaError::WrongSchema { found: None }),
    };
    let count = tx.length(&documents);
    let mut target = None;
    for index in 0..count {
        if let Some((Value::Object(ObjType::Map), component)) = tx.get(&documents, index)?
            && let Some((Value::Scalar(name), _)) = tx.get(&component, "name")?
            && matches!(name.as_ref(), ScalarValue::Str(s) if s.as_str() == component_name)
        {
            target = Some(component);
            break;
        }
    }
    let stored = StoredAttachment::from(attachment);
    match target {
        Some(component) => {
            let attachments = match tx.get(&component, "attachments")? {
                Some((Value::Object(ObjType::List), id)) => id,
                _ => tx.put_object(&component, "attachments", ObjType::List)?,
            };
            let len = tx.length(&attachments);
            autosurgeon::reconcile_insert(tx, attachments, len, &stored)?;
        }
        None => {
            let component = Component {
                name: component_name.to_string(),
                copies: 1,
                attachments: vec![stored],
            };
            autosurgeon::reconcile_insert(tx, documents, count, &component)?;
        }
    }
    Ok(())
}

/// An event as the flat map stored in the log.
fn event_value(event: &Event) -> automerge::hydrate::Value {
    use automerge::hydrate::Value as V;
    let time =
        |t: &chrono::DateTime<chrono::Utc>| V::scalar(ScalarValue::Timestamp(t.timestamp_millis()));
    let text = |t: &str| V::from(t);
    let mut fields: Vec<(&str, V)> = vec![
        ("id", text(&event.id.0)),
        ("kind", text(event.action.kind().as_str())),
        ("at", time(&event.at)),
        ("office", text(event.office.as_str())),
        ("officer", text(&event.officer)),
    ];
    match &event.action {
        Action::Submitted | Action::Received | Action::Accepted => {}
        Action::Refused { reason }
        | Action::ForwardCancelled { reason }
        | Action::WithdrawalRequested { reason }
        | Action::Stopped { reason } => fields.push(("reason", text(reason))),
        Action::Forwarded { to, task, days } => {
            fields.push(("to", text(to.as_str())));
            fields.push(("task", text(task)));
            fields.push(("days", V::from(u64::from(*days))));
        }
        Action::Appraised { outcome, note } => {
            fields.push(("outcome", text(outcome.as_str())));
            fields.push(("note", text(note)));
        }
        Action::VerificationScheduled { when, place, who } => {
            fields.push(("when", time(when)));
            fields.push(("place", text(place)));
            fields.push(("who", text(who)));
        }
        Action::Consulted {
            to,
            question,
            deadline,
        } => {
            fields.push(("to", text(to.as_str())));
            fields.push(("question", text(question)));
            fields.push(("deadline", time(deadline)));
        }
        Action::ConsultationAnswered {
            consultation,
            answer,
        } => {
            fields.push(("consultation", text(&consultation.0)));
            fields.push(("answer", text(answer)));
        }
        Action::SupplementRequested { items, reason } => {
            fields.push((
                "items",
                V::from(items.iter().map(|i| text(i)).collect::<Vec<_>>()),
            ));
            fields.push(("reason", text(reason)));
        }
        Action::SupplementReceived { note } | Action::Approved { note } => {
            fields.push(("note", text(note)))
        }
        Action::PaymentRequested { amount_vnd, note } => {
            fields.push(("amount_vnd", V::from(*amount_vnd)));
            fields.push(("note", text(note)));
        }
        Action::Paid {
            amount_vnd,
            receipt,
        } => {
            fields.push(("amount_vnd", V::from(*amount_vnd)));
            fields.push(("receipt", text(receipt)));
        }
        Action::Apologized { reason, new_due } => {
            fields.push(("reason", text(reason)));
            fields.push(("new_due", time(new_due)));
        }
        Action::ResultIssued {
            result,
            attachment,
            return_office,
        } => {
            fields.push(("result", text(result)));
            fields.push(("return_office", text(return_office.as_str())));
            if let Some(a) = attachment {
                let map: std::collections::HashMap<&str, V> = [
                    ("hash", text(&a.hash)),
                    ("size", V::from(a.size)),
                    ("media_type", text(&a.media_type)),
                    ("name", text(&a.name)),
                    ("chunks_root", text(&a.chunks_root)),
                ]
                .into_iter()
                .collect();
                fields.push(("attachment", V::from(map)));
            }
        }
        Action::Returned { channel } => fields.push(("channel", text(channel.as_str()))),
        Action::Note { text: note } => fields.push(("text", text(note))),
        // Only ever read, never written by this version; keep the name.
        Action::Unknown { name } => fields[1] = ("kind", text(name)),
    }
    V::from(
        fields
            .into_iter()
            .collect::<std::collections::HashMap<&str, V>>(),
    )
}
