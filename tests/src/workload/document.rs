//! The workload's Automerge representation: one document per dossier, the
//! root map is the record; nested objects are maps, `route`/`events` are
//! lists, `done` is a boolean, and every string is a scalar string
//! (`ScalarValue::Str`, JS `ImmutableString`), never a text object.

use anyhow::{Context as _, anyhow};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, AutomergeError, ObjId, ObjType, Prop, ROOT, ReadDoc, Value};

use super::{Applicant, Event, Generated, ProcedureRef, RouteStep, WorkloadDossier};

/// Write `record` into the root map of `tx` in the record's key order (what
/// `Automerge.from(record)` does): nested maps, lists for `route` and
/// `events`, scalar strings, a boolean `done`.
pub fn write_record<T: Transactable>(
    tx: &mut T,
    record: &WorkloadDossier,
) -> Result<(), AutomergeError> {
    tx.put(ROOT, "code", record.code.as_str())?;

    let procedure = tx.put_object(ROOT, "procedure", ObjType::Map)?;
    tx.put(&procedure, "code", record.procedure.code.as_str())?;
    tx.put(&procedure, "name", record.procedure.name.as_str())?;

    let applicant = tx.put_object(ROOT, "applicant", ObjType::Map)?;
    let a = &record.applicant;
    tx.put(&applicant, "full_name", a.full_name.as_str())?;
    tx.put(&applicant, "id_number", a.id_number.as_str())?;
    tx.put(&applicant, "address", a.address.as_str())?;
    tx.put(&applicant, "phone", a.phone.as_str())?;

    tx.put(ROOT, "channel", record.channel.as_str())?;
    tx.put(ROOT, "received_at", record.received_at.as_str())?;
    tx.put(ROOT, "due_at", record.due_at.as_str())?;
    tx.put(ROOT, "status", record.status.as_str())?;
    tx.put(ROOT, "holder", record.holder.as_str())?;

    let route = tx.put_object(ROOT, "route", ObjType::List)?;
    for (j, step) in record.route.iter().enumerate() {
        let s = tx.insert_object(&route, j, ObjType::Map)?;
        tx.put(&s, "office", step.office.as_str())?;
        tx.put(&s, "deadline", step.deadline.as_str())?;
        tx.put(&s, "done", step.done)?;
    }

    let events = tx.put_object(ROOT, "events", ObjType::List)?;
    for (n, event) in record.events.iter().enumerate() {
        insert_event(tx, &events, n, event)?;
    }
    Ok(())
}

fn insert_event<T: Transactable>(
    tx: &mut T,
    events: &ObjId,
    index: usize,
    event: &Event,
) -> Result<(), AutomergeError> {
    let e = tx.insert_object(events, index, ObjType::Map)?;
    tx.put(&e, "kind", event.kind.as_str())?;
    tx.put(&e, "at", event.at.as_str())?;
    tx.put(&e, "by", event.by.as_str())?;
    tx.put(&e, "office", event.office.as_str())?;
    tx.put(&e, "note", event.note.as_str())?;
    Ok(())
}

/// Push `event` (a map, in key order kind, at, by, office, note) onto the
/// root's `events` list.
pub fn push_event<T: Transactable>(tx: &mut T, event: &Event) -> Result<(), AutomergeError> {
    let events = match tx.get(ROOT, "events")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => return Err(AutomergeError::InvalidObjId("events".to_owned())),
    };
    let len = tx.length(&events);
    insert_event(tx, &events, len, event)
}

/// The Automerge document of a dossier built exactly as the workload says:
/// change 1 creates the root map with the record, then 8 changes each push
/// one event onto `events` and set `status` and `holder`. The document has
/// 9 changes, all by `actor`, with commit time 0 and no message, so the
/// bytes are reproducible.
pub fn build_document(g: &Generated, actor: ActorId) -> Automerge {
    let mut doc = Automerge::new().with_actor(actor);
    doc.transact(|tx| write_record(tx, &g.created))
        .expect("creating a dossier in a fresh document cannot fail");
    for (event, status, holder) in &g.history {
        doc.transact(|tx| {
            push_event(tx, event)?;
            tx.put(ROOT, "status", status.as_str())?;
            tx.put(ROOT, "holder", holder.as_str())
        })
        .expect("a history change on a well-formed dossier cannot fail");
    }
    doc
}

/// The phase-2 change: push the `notify_applicant` event (touches nothing
/// else), one commit. The caller decides which dossiers get it
/// ([`super::is_phase2`]). On error nothing is committed.
pub fn apply_phase2(doc: &mut Automerge, g: &Generated) -> Result<(), AutomergeError> {
    doc.transact(|tx| push_event(tx, &g.phase2_event))
        .map(|_| ())
        .map_err(|f| f.error)
}

/// Read a dossier back from a document (or transaction) with the
/// [`ReadDoc`] API: the inverse of [`write_record`] + [`push_event`].
/// Fails if a field is missing or has the wrong type.
pub fn read_dossier<R: ReadDoc>(doc: &R) -> anyhow::Result<WorkloadDossier> {
    let procedure = obj(doc, &ROOT, "procedure", ObjType::Map)?;
    let applicant = obj(doc, &ROOT, "applicant", ObjType::Map)?;
    let route = obj(doc, &ROOT, "route", ObjType::List)?;
    let events = obj(doc, &ROOT, "events", ObjType::List)?;
    Ok(WorkloadDossier {
        code: string(doc, &ROOT, "code")?,
        procedure: ProcedureRef {
            code: string(doc, &procedure, "code")?,
            name: string(doc, &procedure, "name")?,
        },
        applicant: Applicant {
            full_name: string(doc, &applicant, "full_name")?,
            id_number: string(doc, &applicant, "id_number")?,
            address: string(doc, &applicant, "address")?,
            phone: string(doc, &applicant, "phone")?,
        },
        channel: string(doc, &ROOT, "channel")?,
        received_at: string(doc, &ROOT, "received_at")?,
        due_at: string(doc, &ROOT, "due_at")?,
        status: string(doc, &ROOT, "status")?,
        holder: string(doc, &ROOT, "holder")?,
        route: (0..doc.length(&route))
            .map(|j| {
                let s = obj(doc, &route, j, ObjType::Map)?;
                Ok(RouteStep {
                    office: string(doc, &s, "office")?,
                    deadline: string(doc, &s, "deadline")?,
                    done: boolean(doc, &s, "done")?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
        events: (0..doc.length(&events))
            .map(|n| {
                let e = obj(doc, &events, n, ObjType::Map)?;
                Ok(Event {
                    kind: string(doc, &e, "kind")?,
                    at: string(doc, &e, "at")?,
                    by: string(doc, &e, "by")?,
                    office: string(doc, &e, "office")?,
                    note: string(doc, &e, "note")?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    })
}

fn describe(prop: &Prop) -> String {
    match prop {
        Prop::Map(k) => k.to_string(),
        Prop::Seq(i) => format!("[{i}]"),
    }
}

fn value<'a, R: ReadDoc>(doc: &'a R, parent: &ObjId, prop: &Prop) -> anyhow::Result<Value<'a>> {
    doc.get(parent, prop.clone())
        .with_context(|| format!("reading {}", describe(prop)))?
        .map(|(v, _)| v)
        .ok_or_else(|| anyhow!("missing {}", describe(prop)))
}

fn obj<R: ReadDoc>(
    doc: &R,
    parent: &ObjId,
    prop: impl Into<Prop>,
    ty: ObjType,
) -> anyhow::Result<ObjId> {
    let prop = prop.into();
    match doc
        .get(parent, prop.clone())
        .with_context(|| format!("reading {}", describe(&prop)))?
    {
        Some((Value::Object(t), id)) if t == ty => Ok(id),
        Some((v, _)) => Err(anyhow!("{} is {v:?}, not a {ty:?}", describe(&prop))),
        None => Err(anyhow!("missing {}", describe(&prop))),
    }
}

fn string<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str) -> anyhow::Result<String> {
    let prop = Prop::from(key);
    value(doc, parent, &prop)?
        .into_string()
        .map_err(|v| anyhow!("{key} is {v:?}, not a scalar string"))
}

fn boolean<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str) -> anyhow::Result<bool> {
    let prop = Prop::from(key);
    let v = value(doc, parent, &prop)?;
    v.as_bool()
        .ok_or_else(|| anyhow!("{key} is {v:?}, not a boolean"))
}
