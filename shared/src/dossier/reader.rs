//! Reading a dossier document in one pass.
//!
//! The document is materialised once (`Automerge::hydrate`) and the facts
//! and events are read from that tree. Field-by-field lookups into the
//! document (autosurgeon's `Hydrate`, `ReadDoc::get`) cost about three
//! times as much, and every officer command and every received change reads
//! the whole dossier. Writing is `super::writer`.
//!
//! Reading is lenient per event: a malformed or unknown event never makes
//! the dossier unreadable (see [`super::schema::StoredEvent`]); malformed
//! facts do — a dossier without readable facts is not a dossier.

use automerge::ScalarValue;
use automerge::hydrate::{List, Map, Value};
use chrono::{DateTime, Utc};

use super::event::{Action, ActionKind, AppraisalOutcome, AttachmentRef, Channel, Event, EventId};
use super::schema::{
    Applicant, Component, DOSSIER_SCHEMA, Dossier, DossierFacts, ProcedureSnapshot, RouteStep,
    SchemaError, StoredAttachment, StoredEvent,
};
use crate::OfficeId;

type Field<T> = Result<T, String>;

fn get<'a>(map: &'a Map, key: &str) -> Field<&'a Value> {
    map.get(key)
        .ok_or_else(|| format!("field `{key}` is missing"))
}

fn scalar<'a>(map: &'a Map, key: &str) -> Field<&'a ScalarValue> {
    match get(map, key)? {
        Value::Scalar(s) => Ok(s),
        _ => Err(format!("field `{key}` is an object, expected a value")),
    }
}

fn text(map: &Map, key: &str) -> Field<String> {
    match scalar(map, key)? {
        ScalarValue::Str(s) => Ok(s.to_string()),
        other => Err(format!("field `{key}` is {other:?}, expected a string")),
    }
}

fn optional_text(map: &Map, key: &str) -> Field<Option<String>> {
    match map.get(key) {
        None | Some(Value::Scalar(ScalarValue::Null)) => Ok(None),
        Some(_) => text(map, key).map(Some),
    }
}

fn number(map: &Map, key: &str) -> Field<u64> {
    match scalar(map, key)? {
        ScalarValue::Uint(n) => Ok(*n),
        ScalarValue::Int(n) if *n >= 0 => Ok(*n as u64),
        other => Err(format!(
            "field `{key}` is {other:?}, expected a whole number"
        )),
    }
}

fn optional_number(map: &Map, key: &str) -> Field<Option<u64>> {
    match map.get(key) {
        None | Some(Value::Scalar(ScalarValue::Null)) => Ok(None),
        Some(_) => number(map, key).map(Some),
    }
}

fn boolean(map: &Map, key: &str) -> Field<bool> {
    match scalar(map, key)? {
        ScalarValue::Boolean(b) => Ok(*b),
        other => Err(format!(
            "field `{key}` is {other:?}, expected true or false"
        )),
    }
}

fn time(map: &Map, key: &str) -> Field<DateTime<Utc>> {
    match scalar(map, key)? {
        ScalarValue::Timestamp(ms) => DateTime::from_timestamp_millis(*ms)
            .ok_or_else(|| format!("field `{key}` is a timestamp out of range")),
        other => Err(format!("field `{key}` is {other:?}, expected a timestamp")),
    }
}

fn office(map: &Map, key: &str) -> Field<OfficeId> {
    text(map, key)?
        .parse()
        .map_err(|e| format!("field `{key}`: {e}"))
}

fn channel(map: &Map, key: &str) -> Field<Channel> {
    let name = text(map, key)?;
    Channel::parse(&name)
        .ok_or_else(|| format!("field `{key}` is `{name}`, not direct/postal/online"))
}

fn map_field<'a>(map: &'a Map, key: &str) -> Field<&'a Map> {
    match get(map, key)? {
        Value::Map(m) => Ok(m),
        _ => Err(format!("field `{key}` is not a map")),
    }
}

fn list_field<'a>(map: &'a Map, key: &str) -> Field<&'a List> {
    match get(map, key)? {
        Value::List(l) => Ok(l),
        _ => Err(format!("field `{key}` is not a list")),
    }
}

fn maps<'a>(list: &'a List, what: &'a str) -> impl Iterator<Item = Field<&'a Map>> + 'a {
    list.iter()
        .enumerate()
        .map(move |(i, item)| match &item.value {
            Value::Map(m) => Ok(m),
            _ => Err(format!("{what}[{i}] is not a map")),
        })
}

fn attachment(map: &Map) -> Field<StoredAttachment> {
    Ok(StoredAttachment {
        hash: text(map, "hash")?,
        size: number(map, "size")?,
        media_type: text(map, "media_type")?,
        name: text(map, "name")?,
        chunks_root: text(map, "chunks_root")?,
    })
}

fn facts(map: &Map) -> Field<DossierFacts> {
    let procedure = map_field(map, "procedure")?;
    let applicant = map_field(map, "applicant")?;
    Ok(DossierFacts {
        id: text(map, "id")?,
        code: text(map, "code")?,
        rules: text(map, "rules")?,
        origin: office(map, "origin")?,
        channel: channel(map, "channel")?,
        result_delivery: channel(map, "result_delivery")?,
        procedure: ProcedureSnapshot {
            code: text(procedure, "code")?,
            name: text(procedure, "name")?,
            catalogue_version: text(procedure, "catalogue_version")?,
            processing_days: optional_number(procedure, "processing_days")?,
            same_day_cutoff: optional_text(procedure, "same_day_cutoff")?,
            fee_vnd: number(procedure, "fee_vnd")?,
        },
        applicant: Applicant {
            name: text(applicant, "name")?,
            id_number: text(applicant, "id_number")?,
            address: text(applicant, "address")?,
            phone: text(applicant, "phone")?,
            email: text(applicant, "email")?,
            organisation: text(applicant, "organisation")?,
        },
        route: maps(list_field(map, "route")?, "route")
            .map(|step| {
                let step = step?;
                Ok(RouteStep {
                    office: office(step, "office")?,
                    task: text(step, "task")?,
                    days: number(step, "days")?,
                    lead: boolean(step, "lead")?,
                })
            })
            .collect::<Field<_>>()?,
        documents: maps(list_field(map, "documents")?, "documents")
            .map(|component| {
                let component = component?;
                Ok(Component {
                    name: text(component, "name")?,
                    copies: number(component, "copies")?,
                    attachments: maps(list_field(component, "attachments")?, "attachments")
                        .map(|a| attachment(a?))
                        .collect::<Field<_>>()?,
                })
            })
            .collect::<Field<_>>()?,
    })
}

fn event(map: &Map) -> Field<Event> {
    let id = EventId(text(map, "id")?);
    let kind_name = text(map, "kind")?;
    let at = time(map, "at")?;
    let acting = office(map, "office")?;
    let officer = text(map, "officer")?;
    let reason = || text(map, "reason");
    let note = || text(map, "note");
    let action = match ActionKind::from_name(&kind_name) {
        None | Some(ActionKind::Unknown) => Action::Unknown {
            name: kind_name.clone(),
        },
        Some(kind) => match kind {
            ActionKind::Submitted => Action::Submitted,
            ActionKind::Received => Action::Received,
            ActionKind::Accepted => Action::Accepted,
            ActionKind::Refused => Action::Refused { reason: reason()? },
            ActionKind::ForwardCancelled => Action::ForwardCancelled { reason: reason()? },
            ActionKind::WithdrawalRequested => Action::WithdrawalRequested { reason: reason()? },
            ActionKind::Stopped => Action::Stopped { reason: reason()? },
            ActionKind::Forwarded => Action::Forwarded {
                to: office(map, "to")?,
                task: text(map, "task")?,
                days: u32::try_from(number(map, "days")?)
                    .map_err(|_| "field `days` is too large".to_string())?,
            },
            ActionKind::Appraised => Action::Appraised {
                outcome: AppraisalOutcome::parse(&text(map, "outcome")?)
                    .ok_or("field `outcome` is not ok/needs_supplement/not_eligible")?,
                note: note()?,
            },
            ActionKind::VerificationScheduled => Action::VerificationScheduled {
                when: time(map, "when")?,
                place: text(map, "place")?,
                who: text(map, "who")?,
            },
            ActionKind::Consulted => Action::Consulted {
                to: office(map, "to")?,
                question: text(map, "question")?,
                deadline: time(map, "deadline")?,
            },
            ActionKind::ConsultationAnswered => Action::ConsultationAnswered {
                consultation: EventId(text(map, "consultation")?),
                answer: text(map, "answer")?,
            },
            ActionKind::SupplementRequested => Action::SupplementRequested {
                items: list_field(map, "items")?
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match &item.value {
                        Value::Scalar(ScalarValue::Str(s)) => Ok(s.to_string()),
                        _ => Err(format!("`items[{i}]` is not a string")),
                    })
                    .collect::<Field<_>>()?,
                reason: reason()?,
            },
            ActionKind::SupplementReceived => Action::SupplementReceived { note: note()? },
            ActionKind::Approved => Action::Approved { note: note()? },
            ActionKind::PaymentRequested => Action::PaymentRequested {
                amount_vnd: number(map, "amount_vnd")?,
                note: note()?,
            },
            ActionKind::Paid => Action::Paid {
                amount_vnd: number(map, "amount_vnd")?,
                receipt: text(map, "receipt")?,
            },
            ActionKind::Apologized => Action::Apologized {
                reason: reason()?,
                new_due: time(map, "new_due")?,
            },
            ActionKind::ResultIssued => Action::ResultIssued {
                result: text(map, "result")?,
                return_office: office(map, "return_office")?,
                attachment: match map.get("attachment") {
                    None => None,
                    Some(Value::Map(a)) => Some(AttachmentRef::from(&attachment(a)?)),
                    Some(_) => return Err("field `attachment` is not a map".into()),
                },
            },
            ActionKind::Returned => Action::Returned {
                channel: channel(map, "channel")?,
            },
            ActionKind::Note => Action::Note {
                text: text(map, "text")?,
            },
            ActionKind::Unknown => Action::Unknown {
                name: kind_name.clone(),
            },
        },
    };
    Ok(Event {
        id,
        at,
        office: acting,
        officer,
        action,
    })
}

/// Read a dossier document.
pub fn read(doc: &automerge::Automerge) -> Result<Dossier, SchemaError> {
    let Value::Map(root) = doc.hydrate(None) else {
        return Err(SchemaError::WrongSchema { found: None });
    };
    let schema = match root.get("schema") {
        Some(Value::Scalar(ScalarValue::Str(s))) => Some(s.to_string()),
        _ => None,
    };
    if schema.as_deref() != Some(DOSSIER_SCHEMA) {
        return Err(SchemaError::WrongSchema { found: schema });
    }
    let facts = map_field(&root, "facts")
        .and_then(facts)
        .map_err(SchemaError::Malformed)?;
    let events = match root.get("events") {
        Some(Value::List(list)) => list,
        _ => return Err(SchemaError::NoEvents),
    };
    let events = events
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let parsed = match &item.value {
                Value::Map(m) => event(m),
                _ => Err("not a map".to_string()),
            };
            match parsed {
                Ok(e) => StoredEvent::Valid(e),
                Err(problem) => StoredEvent::Malformed { index, problem },
            }
        })
        .collect();
    Ok(Dossier { facts, events })
}
