//! Writing a dossier document with direct Automerge calls (issue 11).
//!
//! The facts used to go through autosurgeon's `reconcile`, which looks up
//! every field of the (empty) document before writing it and cost about
//! 3.4 M instructions a receipt — more than half of one. Here every value
//! is put once, in the shape autosurgeon's `Reconcile` derive gave the
//! types of [`super::schema`]: structs are maps, `Vec`s lists in order,
//! `String`s `Str` scalars (never text objects), `u64`s `Uint`, `bool`s
//! `Boolean`, an absent `Option` a `Null`; an office id or a channel its
//! name as a `Str`. Events keep the shape they always had: a flat map, times
//! as `Timestamp` milliseconds. `schema::tests` proves the written trees
//! equal to the former writers' on generated dossiers.
//!
//! The shape is the storage and wire format: peers on older versions read
//! these documents, and admission compares what they say before and after
//! a change. Never change it here alone.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ObjType, ROOT, ScalarValue};
use chrono::{DateTime, Utc};

use super::event::{Action, Event};
use super::schema::{Component, DossierFacts, RouteStep, StoredAttachment};

/// Where a new object goes: under a key of a map, or inserted at an index
/// of a list.
#[derive(Clone, Copy)]
pub(super) enum At<'a> {
    Key(&'a str),
    Insert(usize),
}

fn new_object<T: Transactable>(
    tx: &mut T,
    parent: &ObjId,
    at: At<'_>,
    kind: ObjType,
) -> Result<ObjId, AutomergeError> {
    match at {
        At::Key(key) => tx.put_object(parent, key, kind),
        At::Insert(index) => tx.insert_object(parent, index, kind),
    }
}

fn timestamp(t: &DateTime<Utc>) -> ScalarValue {
    ScalarValue::Timestamp(t.timestamp_millis())
}

fn optional<V: Into<ScalarValue>>(value: Option<V>) -> ScalarValue {
    value.map_or(ScalarValue::Null, Into::into)
}

/// Put `facts` at the root's `facts` key.
pub(super) fn facts<T: Transactable>(
    tx: &mut T,
    facts: &DossierFacts,
) -> Result<(), AutomergeError> {
    let map = tx.put_object(ROOT, "facts", ObjType::Map)?;
    tx.put(&map, "id", facts.id.as_str())?;
    tx.put(&map, "code", facts.code.as_str())?;
    tx.put(&map, "rules", facts.rules.as_str())?;
    tx.put(&map, "origin", facts.origin.as_str())?;
    tx.put(&map, "channel", facts.channel.as_str())?;
    tx.put(&map, "result_delivery", facts.result_delivery.as_str())?;

    let p = &facts.procedure;
    let procedure = tx.put_object(&map, "procedure", ObjType::Map)?;
    tx.put(&procedure, "code", p.code.as_str())?;
    tx.put(&procedure, "name", p.name.as_str())?;
    tx.put(
        &procedure,
        "catalogue_version",
        p.catalogue_version.as_str(),
    )?;
    tx.put(&procedure, "processing_days", optional(p.processing_days))?;
    tx.put(
        &procedure,
        "same_day_cutoff",
        optional(p.same_day_cutoff.as_deref()),
    )?;
    tx.put(&procedure, "fee_vnd", p.fee_vnd)?;

    let a = &facts.applicant;
    let applicant = tx.put_object(&map, "applicant", ObjType::Map)?;
    tx.put(&applicant, "name", a.name.as_str())?;
    tx.put(&applicant, "id_number", a.id_number.as_str())?;
    tx.put(&applicant, "address", a.address.as_str())?;
    tx.put(&applicant, "phone", a.phone.as_str())?;
    tx.put(&applicant, "email", a.email.as_str())?;
    tx.put(&applicant, "organisation", a.organisation.as_str())?;

    let route = tx.put_object(&map, "route", ObjType::List)?;
    for (index, step) in facts.route.iter().enumerate() {
        route_step(tx, &route, index, step)?;
    }
    let documents = tx.put_object(&map, "documents", ObjType::List)?;
    for (index, c) in facts.documents.iter().enumerate() {
        component(tx, &documents, index, c)?;
    }
    Ok(())
}

fn route_step<T: Transactable>(
    tx: &mut T,
    route: &ObjId,
    index: usize,
    step: &RouteStep,
) -> Result<(), AutomergeError> {
    let map = tx.insert_object(route, index, ObjType::Map)?;
    tx.put(&map, "office", step.office.as_str())?;
    tx.put(&map, "task", step.task.as_str())?;
    tx.put(&map, "days", step.days)?;
    tx.put(&map, "lead", step.lead)?;
    Ok(())
}

/// Insert component `c` at `index` of the `documents` list.
pub(super) fn component<T: Transactable>(
    tx: &mut T,
    documents: &ObjId,
    index: usize,
    c: &Component,
) -> Result<(), AutomergeError> {
    let map = tx.insert_object(documents, index, ObjType::Map)?;
    tx.put(&map, "name", c.name.as_str())?;
    tx.put(&map, "copies", c.copies)?;
    let attachments = tx.put_object(&map, "attachments", ObjType::List)?;
    for (i, a) in c.attachments.iter().enumerate() {
        attachment(tx, &attachments, At::Insert(i), a)?;
    }
    Ok(())
}

/// A stored attachment as a map (in a component's list, or an issued
/// result's `attachment`).
pub(super) fn attachment<T: Transactable>(
    tx: &mut T,
    parent: &ObjId,
    at: At<'_>,
    a: &StoredAttachment,
) -> Result<(), AutomergeError> {
    let map = new_object(tx, parent, at, ObjType::Map)?;
    tx.put(&map, "hash", a.hash.as_str())?;
    tx.put(&map, "size", a.size)?;
    tx.put(&map, "media_type", a.media_type.as_str())?;
    tx.put(&map, "name", a.name.as_str())?;
    tx.put(&map, "chunks_root", a.chunks_root.as_str())?;
    Ok(())
}

/// Insert `event` at `index` of the log `events`, as a flat map.
pub(super) fn event<T: Transactable>(
    tx: &mut T,
    events: &ObjId,
    index: usize,
    event: &Event,
) -> Result<(), AutomergeError> {
    let map = tx.insert_object(events, index, ObjType::Map)?;
    let put = |tx: &mut T, key: &str, value: ScalarValue| tx.put(&map, key, value);
    let text = |s: &str| ScalarValue::Str(s.into());
    let kind = match &event.action {
        // Only ever read, never written by this version; keep the name.
        Action::Unknown { name } => name.as_str(),
        action => action.kind().as_str(),
    };
    put(tx, "id", text(&event.id.0))?;
    put(tx, "kind", text(kind))?;
    put(tx, "at", timestamp(&event.at))?;
    put(tx, "office", text(event.office.as_str()))?;
    put(tx, "officer", text(&event.officer))?;
    match &event.action {
        Action::Submitted | Action::Received | Action::Accepted | Action::Unknown { .. } => {}
        Action::Refused { reason }
        | Action::ForwardCancelled { reason }
        | Action::WithdrawalRequested { reason }
        | Action::Stopped { reason } => put(tx, "reason", text(reason))?,
        Action::Forwarded { to, task, days } => {
            put(tx, "to", text(to.as_str()))?;
            put(tx, "task", text(task))?;
            put(tx, "days", ScalarValue::Uint(u64::from(*days)))?;
        }
        Action::Appraised { outcome, note } => {
            put(tx, "outcome", text(outcome.as_str()))?;
            put(tx, "note", text(note))?;
        }
        Action::VerificationScheduled { when, place, who } => {
            put(tx, "when", timestamp(when))?;
            put(tx, "place", text(place))?;
            put(tx, "who", text(who))?;
        }
        Action::Consulted {
            to,
            question,
            deadline,
        } => {
            put(tx, "to", text(to.as_str()))?;
            put(tx, "question", text(question))?;
            put(tx, "deadline", timestamp(deadline))?;
        }
        Action::ConsultationAnswered {
            consultation,
            answer,
        } => {
            put(tx, "consultation", text(&consultation.0))?;
            put(tx, "answer", text(answer))?;
        }
        Action::SupplementRequested { items, reason } => {
            let list = tx.put_object(&map, "items", ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                tx.insert(&list, i, item.as_str())?;
            }
            put(tx, "reason", text(reason))?;
        }
        Action::SupplementReceived { note } | Action::Approved { note } => {
            put(tx, "note", text(note))?
        }
        Action::PaymentRequested { amount_vnd, note } => {
            put(tx, "amount_vnd", ScalarValue::Uint(*amount_vnd))?;
            put(tx, "note", text(note))?;
        }
        Action::Paid {
            amount_vnd,
            receipt,
        } => {
            put(tx, "amount_vnd", ScalarValue::Uint(*amount_vnd))?;
            put(tx, "receipt", text(receipt))?;
        }
        Action::Apologized { reason, new_due } => {
            put(tx, "reason", text(reason))?;
            put(tx, "new_due", timestamp(new_due))?;
        }
        Action::ResultIssued {
            result,
            attachment: file,
            return_office,
        } => {
            put(tx, "result", text(result))?;
            put(tx, "return_office", text(return_office.as_str()))?;
            if let Some(a) = file {
                let stored = StoredAttachment::from(a);
                attachment(tx, &map, At::Key("attachment"), &stored)?;
            }
        }
        Action::Returned { channel } => put(tx, "channel", text(channel.as_str()))?,
        Action::Note { text: note } => put(tx, "text", text(note))?,
    }
    Ok(())
}
