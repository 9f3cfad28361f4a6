//! The direct writer (`writer.rs`) against the writers it replaced
//! (`legacy.rs`: autosurgeon's reconcile, one batch insert per event), on
//! generated dossiers: every field, optional ones absent and present,
//! every kind of action, from a fixed seed. The document is the storage and
//! wire format: what the two write must be the same tree of values, with
//! the same scalar types (`Str`, `Uint`, `Timestamp`, `Null`, `Boolean`),
//! objects and list order, and read the same.

use automerge::transaction::Transaction;
use automerge::{ActorId, Automerge, ROOT};
use chrono::{DateTime, Utc};

use super::event::{Action, ActionKind, AppraisalOutcome, AttachmentRef, Channel, Event, EventId};
use super::schema::{
    self, Applicant, Component, DossierFacts, ProcedureSnapshot, RouteStep, SchemaError,
    StoredAttachment,
};
use super::{legacy, reader};
use crate::OfficeId;

/// SplitMix64: a fixed sequence from a fixed seed, nothing random.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }

    /// A string: sometimes empty, often Vietnamese with its diacritics.
    fn text(&mut self) -> String {
        const WORDS: [&str; 12] = [
            "Nguyễn",
            "Thị",
            "Hồng",
            "đăng ký",
            "khai sinh",
            "Điện Bàn",
            "Quảng Nam",
            "giấy",
            "123",
            "ngõ 4/7",
            "\"quoted\"",
            "tab\tand\nnewline",
        ];
        let n = self.below(5);
        (0..n)
            .map(|_| self.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A whole number: small, zero, or at the edges of u64 (a `Uint` above
    /// `i64::MAX` must stay a `Uint`).
    fn number(&mut self) -> u64 {
        match self.below(4) {
            0 => 0,
            1 => self.below(100),
            2 => u64::MAX - self.below(3),
            _ => self.next(),
        }
    }

    fn office(&mut self) -> OfficeId {
        self.pick(&[
            "commune:dien-ban/dien-phuong",
            "commune:dien-ban/dien-minh",
            "district:dien-ban",
            "province:quang-nam/tu-phap",
            "center:quang-nam",
        ])
        .parse()
        .expect("a valid office id")
    }

    fn channel(&mut self) -> Channel {
        [Channel::Direct, Channel::Postal, Channel::Online][self.below(3) as usize]
    }

    /// A time before or after 1970, often finer than the millisecond the
    /// document keeps.
    fn time(&mut self) -> DateTime<Utc> {
        let ms = self.below(4_000_000_000_000) as i64 - 200_000_000_000;
        let t = DateTime::from_timestamp_millis(ms).expect("in range");
        if self.coin() {
            t + chrono::Duration::nanoseconds(self.below(1_000_000) as i64)
        } else {
            t
        }
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from_digit(self.below(16) as u32, 16).expect("a hex digit"))
            .collect()
    }

    fn attachment(&mut self) -> AttachmentRef {
        AttachmentRef {
            hash: self.hex(64),
            size: self.number(),
            media_type: self.pick(&["application/pdf", "image/jpeg", ""]).into(),
            name: self.text(),
            chunks_root: self.hex(64),
        }
    }

    fn facts(&mut self) -> DossierFacts {
        DossierFacts {
            id: self.hex(32),
            code: format!(
                "H49.{}-260302-{:04}",
                10 + self.below(20),
                self.below(10_000)
            ),
            rules: self.pick(&["2018", "2025"]).into(),
            origin: self.office(),
            channel: self.channel(),
            result_delivery: self.channel(),
            procedure: ProcedureSnapshot {
                code: self.text(),
                name: self.text(),
                catalogue_version: self.pick(&["2026.1", "2025.4", ""]).into(),
                processing_days: self.coin().then(|| self.number()),
                same_day_cutoff: self
                    .coin()
                    .then(|| self.pick(&["11:00", "15:30", ""]).into()),
                fee_vnd: self.number(),
            },
            applicant: Applicant {
                name: self.text(),
                id_number: self.hex(12),
                address: self.text(),
                phone: self.text(),
                email: self.text(),
                organisation: self.text(),
            },
            route: (0..self.below(5))
                .map(|_| RouteStep {
                    office: self.office(),
                    task: self.text(),
                    days: self.number(),
                    lead: self.coin(),
                })
                .collect(),
            documents: (0..self.below(4))
                .map(|_| Component {
                    name: self.text(),
                    copies: self.number(),
                    attachments: (0..self.below(3))
                        .map(|_| StoredAttachment::from(&self.attachment()))
                        .collect(),
                })
                .collect(),
        }
    }

    fn action(&mut self, kind: ActionKind) -> Action {
        match kind {
            ActionKind::Submitted => Action::Submitted,
            ActionKind::Received => Action::Received,
            ActionKind::Accepted => Action::Accepted,
            ActionKind::Refused => Action::Refused {
                reason: self.text(),
            },
            ActionKind::ForwardCancelled => Action::ForwardCancelled {
                reason: self.text(),
            },
            ActionKind::WithdrawalRequested => Action::WithdrawalRequested {
                reason: self.text(),
            },
            ActionKind::Stopped => Action::Stopped {
                reason: self.text(),
            },
            ActionKind::Forwarded => Action::Forwarded {
                to: self.office(),
                task: self.text(),
                days: if self.coin() {
                    u32::MAX
                } else {
                    self.below(30) as u32
                },
            },
            ActionKind::Appraised => Action::Appraised {
                outcome: [
                    AppraisalOutcome::Ok,
                    AppraisalOutcome::NeedsSupplement,
                    AppraisalOutcome::NotEligible,
                ][self.below(3) as usize],
                note: self.text(),
            },
            ActionKind::VerificationScheduled => Action::VerificationScheduled {
                when: self.time(),
                place: self.text(),
                who: self.text(),
            },
            ActionKind::Consulted => Action::Consulted {
                to: self.office(),
                question: self.text(),
                deadline: self.time(),
            },
            ActionKind::ConsultationAnswered => Action::ConsultationAnswered {
                consultation: EventId(self.hex(16)),
                answer: self.text(),
            },
            ActionKind::SupplementRequested => Action::SupplementRequested {
                items: (0..self.below(4)).map(|_| self.text()).collect(),
                reason: self.text(),
            },
            ActionKind::SupplementReceived => Action::SupplementReceived { note: self.text() },
            ActionKind::PaymentRequested => Action::PaymentRequested {
                amount_vnd: self.number(),
                note: self.text(),
            },
            ActionKind::Paid => Action::Paid {
                amount_vnd: self.number(),
                receipt: self.text(),
            },
            ActionKind::Apologized => Action::Apologized {
                reason: self.text(),
                new_due: self.time(),
            },
            ActionKind::Approved => Action::Approved { note: self.text() },
            ActionKind::ResultIssued => Action::ResultIssued {
                result: self.text(),
                attachment: self.coin().then(|| self.attachment()),
                return_office: self.office(),
            },
            ActionKind::Returned => Action::Returned {
                channel: self.channel(),
            },
            ActionKind::Note => Action::Note { text: self.text() },
            ActionKind::Unknown => Action::Unknown {
                name: self.pick(&["escalated", "archived_v3"]).into(),
            },
        }
    }

    fn event(&mut self, kind: ActionKind) -> Event {
        Event {
            id: EventId(self.hex(16)),
            at: self.time(),
            office: self.office(),
            officer: self.text(),
            action: self.action(kind),
        }
    }
}

/// Every kind of action, the one this version only reads included.
fn kinds() -> Vec<ActionKind> {
    let mut kinds = ActionKind::KNOWN.to_vec();
    kinds.push(ActionKind::Unknown);
    kinds
}

/// One step of a dossier's history after its receipt.
enum Step {
    Append(Event),
    /// A scanned file for the component of that name (an existing one's
    /// name, or a new component).
    Attach(String, AttachmentRef),
}

struct Case {
    facts: DossierFacts,
    first: Event,
    /// Written with the receipt, in its change (`create_with_events`).
    follow_up: Vec<Event>,
    steps: Vec<Step>,
}

/// Dossier `n`: its first event's kind and those of the next steps walk
/// through every kind, so the first 22 dossiers open with each one.
fn case(draw: &mut Draw, n: usize) -> Case {
    let kinds = kinds();
    let facts = draw.facts();
    let first = draw.event(kinds[n % kinds.len()]);
    let follow_up = (0..draw.below(3))
        .map(|i| draw.event(kinds[(n + 7 + i as usize) % kinds.len()]))
        .collect();
    let steps = (0..draw.below(2 * kinds.len() as u64))
        .map(|i| {
            if draw.below(6) == 0 {
                let name = match facts.documents.first() {
                    Some(c) if draw.coin() => c.name.clone(),
                    _ => draw.text(),
                };
                Step::Attach(name, draw.attachment())
            } else {
                Step::Append(draw.event(kinds[(n + 1 + i as usize) % kinds.len()]))
            }
        })
        .collect();
    Case {
        facts,
        first,
        follow_up,
        steps,
    }
}

type Create = fn(&mut Transaction<'_>, &DossierFacts, &Event, &[Event]) -> Result<(), SchemaError>;
type Append = fn(&mut Transaction<'_>, &Event) -> Result<(), SchemaError>;
type Attach = fn(&mut Transaction<'_>, &str, &AttachmentRef) -> Result<(), SchemaError>;

/// The former receipt: the facts and first event, then each next event.
fn legacy_create(
    tx: &mut Transaction<'_>,
    facts: &DossierFacts,
    first: &Event,
    next: &[Event],
) -> Result<(), SchemaError> {
    legacy::create(tx, facts, first)?;
    next.iter().try_for_each(|e| legacy::append_event(tx, e))
}

const OLD: (Create, Append, Attach) = (legacy_create, legacy::append_event, legacy::add_attachment);
const NEW: (Create, Append, Attach) = (
    schema::create_with_events,
    schema::append_event,
    schema::add_attachment,
);

/// Write `case`, one change per step; `writers(i)` says whose writer takes
/// change `i` (0 is the receipt).
fn write(case: &Case, writers: impl Fn(usize) -> (Create, Append, Attach)) -> Automerge {
    write_onto(
        Automerge::new().with_actor(ActorId::from(&[7u8; 16][..])),
        case,
        writers,
    )
}

/// [`write`] onto `doc`, which may already hold something.
fn write_onto(
    mut doc: Automerge,
    case: &Case,
    writers: impl Fn(usize) -> (Create, Append, Attach),
) -> Automerge {
    let mut tx = doc.transaction();
    (writers(0).0)(&mut tx, &case.facts, &case.first, &case.follow_up)
        .expect("the receipt is written");
    tx.commit();
    for (i, step) in case.steps.iter().enumerate() {
        let (_, append, attach) = writers(i + 1);
        let mut tx = doc.transaction();
        match step {
            Step::Append(event) => append(&mut tx, event).expect("the event is appended"),
            Step::Attach(name, file) => attach(&mut tx, name, file).expect("the file is added"),
        }
        tx.commit();
    }
    doc
}

/// The operations each change holds.
fn ops_per_change(doc: &Automerge) -> Vec<usize> {
    doc.get_changes(&[]).iter().map(|c| c.len()).collect()
}

const DOSSIERS: usize = 300;

#[test]
fn the_direct_writer_writes_the_former_writers_tree() {
    let mut draw = Draw(0x0011_2026_1207);
    let mut seen = std::collections::BTreeSet::new();
    let (mut absent, mut present, mut files, mut attached) = (0, 0, 0, 0);
    for n in 0..DOSSIERS {
        let case = case(&mut draw, n);
        let old = write(&case, |_| OLD);
        let new = write(&case, |_| NEW);
        // The whole tree: object types, scalar types and values, list order.
        assert_eq!(
            old.hydrate(None),
            new.hydrate(None),
            "dossier {n}: the trees differ"
        );
        // No extra or missing operations in any change (the same history
        // sizes, not only the same visible values).
        assert_eq!(ops_per_change(&old), ops_per_change(&new), "dossier {n}");

        // The reader and autosurgeon read the new document as they read the
        // old one, and as what was written.
        let read = reader::read(&new).expect("the new document reads");
        assert_eq!(reader::read(&old).expect("the old document reads"), read);
        let facts: DossierFacts =
            autosurgeon::hydrate_prop(&new, ROOT, "facts").expect("autosurgeon hydrates the facts");
        assert_eq!(facts, read.facts, "dossier {n}");
        let written: Vec<&Event> = std::iter::once(&case.first)
            .chain(&case.follow_up)
            .chain(case.steps.iter().filter_map(|s| match s {
                Step::Append(e) => Some(e),
                Step::Attach(..) => None,
            }))
            .collect();
        // The events as written, times cut to the millisecond.
        let stored = schema::as_written(&case.facts, &written)
            .expect("no unknown kind named like a known one");
        assert_eq!(read.events, stored.events, "dossier {n}");
        for event in &written {
            seen.insert(event.action.kind());
        }
        if case.steps.iter().all(|s| matches!(s, Step::Append(_))) {
            assert_eq!(read.facts, case.facts, "dossier {n}");
        }

        // What the generator covered, checked below.
        let p = &case.facts.procedure;
        for optional in [p.processing_days.is_some(), p.same_day_cutoff.is_some()] {
            if optional { present += 1 } else { absent += 1 }
        }
        files += case
            .facts
            .documents
            .iter()
            .map(|c| c.attachments.len())
            .sum::<usize>();
        attached += case
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Attach(..)))
            .count();
    }
    assert_eq!(seen.len(), kinds().len(), "every kind written: {seen:?}");
    assert!(
        absent > 100 && present > 100,
        "{absent} absent, {present} present"
    );
    assert!(
        files > 100 && attached > 100,
        "{files} files at receipt, {attached} added"
    );
}

/// A dossier written by both versions in turn (peers on the old and the new
/// version appending to it) is the dossier either writes alone.
#[test]
fn old_and_new_writers_interleave() {
    let mut draw = Draw(0x0011_2026_1208);
    for n in 0..DOSSIERS / 3 {
        let case = case(&mut draw, n);
        let old = write(&case, |_| OLD);
        let alternating = write(&case, |i| if (i + n) % 2 == 0 { OLD } else { NEW });
        assert_eq!(old.hydrate(None), alternating.hydrate(None), "dossier {n}");
        assert_eq!(
            reader::read(&old).expect("reads"),
            reader::read(&alternating).expect("reads")
        );
    }
}

/// What a receipt holds without reading its document back is what reading
/// it gives, to the millisecond.
#[test]
fn a_receipt_reads_as_written() {
    let mut draw = Draw(0x0011_2026_1210);
    let mut finer = 0;
    for n in 0..DOSSIERS {
        let case = case(&mut draw, n);
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        schema::create_with_events(&mut tx, &case.facts, &case.first, &case.follow_up)
            .expect("the receipt is written");
        tx.commit();
        let events: Vec<&Event> = std::iter::once(&case.first)
            .chain(&case.follow_up)
            .collect();
        let written = schema::as_written(&case.facts, &events)
            .expect("no unknown kind named like a known one");
        assert_eq!(reader::read(&doc).expect("reads"), written, "dossier {n}");
        finer += events
            .iter()
            .filter(|e| e.at.timestamp_subsec_nanos() % 1_000_000 != 0)
            .count();
    }
    assert!(finer > 50, "{finer} times finer than a millisecond");
    // An unknown kind named like a known one reads back as that kind.
    let mut event = Draw(5).event(ActionKind::Note);
    event.action = Action::Unknown {
        name: "received".into(),
    };
    assert_eq!(schema::as_written(&Draw(6).facts(), &[&event]), None);
}

/// A dossier created in a document that already holds a change (nothing
/// does this today; the batch for an empty document must not be used
/// there) is written key by key, in the same shape.
#[test]
fn creating_in_a_document_with_history() {
    use automerge::transaction::Transactable;
    let mut draw = Draw(0x0011_2026_1209);
    for n in 0..30 {
        let case = case(&mut draw, n);
        let mut base = Automerge::new().with_actor(ActorId::from(&[9u8; 16][..]));
        let mut tx = base.transaction();
        tx.put(ROOT, "earlier", 1u64).expect("written");
        tx.commit();
        let old = write_onto(base.clone(), &case, |_| OLD);
        let new = write_onto(base, &case, |_| NEW);
        assert_eq!(old.hydrate(None), new.hydrate(None), "dossier {n}");
        assert_eq!(ops_per_change(&old), ops_per_change(&new), "dossier {n}");
        assert_eq!(
            reader::read(&old).expect("reads"),
            reader::read(&new).expect("reads")
        );
    }
}

/// The comparison above can fail: the same value stored as an `Int`
/// instead of a `Uint`, or as text instead of a `Str`, is a different tree.
#[test]
fn the_comparison_sees_a_changed_type() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ScalarValue};
    let new = write(&case(&mut Draw(3), 3), |_| NEW);
    let with = |change: &dyn Fn(&mut Transaction<'_>)| {
        let mut doc = new.clone();
        let mut tx = doc.transaction();
        change(&mut tx);
        tx.commit();
        doc.hydrate(None)
    };
    let uint = with(&|tx| {
        tx.put(ROOT, "probe", ScalarValue::Uint(1))
            .expect("written");
    });
    let int = with(&|tx| {
        tx.put(ROOT, "probe", ScalarValue::Int(1)).expect("written");
    });
    assert_ne!(uint, int, "Int and Uint differ");
    let str = with(&|tx| {
        tx.put(ROOT, "probe", "ok").expect("written");
    });
    let text = with(&|tx| {
        let t = tx
            .put_object(ROOT, "probe", ObjType::Text)
            .expect("written");
        tx.splice_text(&t, 0, 0, "ok").expect("written");
    });
    assert_ne!(str, text, "text and Str differ");
    assert_eq!(
        uint,
        with(&|tx| {
            tx.put(ROOT, "probe", 1u64).expect("written");
        })
    );
}
