//! The admission target: `NodeAdmission::admit` (the district Điện Bàn's
//! node) on documents a peer could send — real dossiers and the network
//! configuration document, edited by the fuzzer through Automerge itself
//! (puts, inserts, deletes, nested objects, several changes), so every
//! input is a document that loads and the fuzzer's effort goes into the
//! reader, the fold and the scope rules rather than into checksums.
//!
//! Input: `base:u8 peer:u8 op*`; each op is an opcode byte and operands,
//! read until the input ends (at most [`MAX_OPS`]).
//!
//! Invariants: no panic, memory within the budget; a document admitted as
//! a dossier reads as one; configuration is admitted only from an office
//! above the district, and only when its text parses; a document of no
//! known schema is never admitted; the verdict does not change when the
//! document is saved and loaded again (it depends on content, not history).

use std::cell::RefCell;
use std::collections::HashMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};
use lienthong::replication::admission::NodeAdmission;
use lienthong::replication::config_docs::ConfigFile;
use lienthong::replication::{DocumentSchema, schema_of};
use lienthong_shared::builtin;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::schema;
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{Admission, PeerId};

use super::fixture::{self, DISTRICT, office};
use super::{MEMORY_BUDGET, alloc};

/// Most edits applied from one input.
pub const MAX_OPS: usize = 64;

/// The peers the district knows, by input byte: its commune, its province,
/// another district's commune, and a stranger.
pub const PEERS: [(PeerId, Option<&str>); 4] = [
    ([0xC1; 32], Some(fixture::COMMUNE)),
    ([0xC2; 32], Some(fixture::PROVINCE)),
    ([0xC3; 32], Some(fixture::OTHER_COMMUNE)),
    ([0xC4; 32], None),
];

/// Words the edits draw from: field names of the dossier layout, event
/// kinds, offices of the network, times, the schema tags.
const WORDS: &[&str] = &[
    "schema",
    "facts",
    "events",
    "kind",
    "at",
    "office",
    "officer",
    "to",
    "days",
    "id",
    "code",
    "origin",
    "route",
    "rules",
    "task",
    "lead",
    "text",
    "name",
    "procedure",
    "processing_days",
    "same_day_cutoff",
    "return_office",
    "result",
    "deadline",
    "new_due",
    "consultation",
    "attachment",
    "documents",
    "size",
    "hash",
    "lienthong.dossier/1",
    "lienthong.config/1",
    "received",
    "submitted",
    "forwarded",
    "accepted",
    "appraised",
    "consulted",
    "consultation_answered",
    "supplement_requested",
    "approved",
    "result_issued",
    "returned",
    "apologized",
    "stopped",
    fixture::DISTRICT,
    fixture::COMMUNE,
    fixture::SIBLING,
    fixture::OTHER_COMMUNE,
    fixture::PROVINCE,
    "province:quang-nam/so-tai-nguyen-moi-truong",
    "2026-03-02T02:00:00Z",
    "2026-03-02T09:30:00+07:00",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2018",
    "2025",
    "15:00",
    "1.004227",
    "",
];

thread_local! {
    static ADMISSION: RefCell<NodeAdmission> = RefCell::new(NodeAdmission::new(
        builtin::quang_nam_3tier(),
        WorkingCalendar::builtin(),
        office(DISTRICT),
        [0xd1; 32],
        PEERS
            .iter()
            .filter_map(|(peer, o)| o.map(|o| (*peer, office(o))))
            .collect::<HashMap<_, _>>(),
    ));
}

/// The documents an input starts from, by its first byte.
pub fn base(selector: u8) -> (DocumentId, Automerge) {
    let f = fixture::fixture();
    match selector % 6 {
        0..=2 => {
            let d = &f.dossiers[usize::from(selector % 6)];
            (d.id, d.latest().clone())
        }
        3 => (f.config.0, f.config.1.clone()),
        4 => (DocumentId(ConfigFile::Catalogue.key()), f.config.1.clone()),
        _ => (DocumentId([0xEE; 16]), Automerge::new()),
    }
}

pub fn admission(data: &[u8]) {
    let mut input = Input { data, pos: 0 };
    let (doc_id, mut doc) = base(input.byte());
    let (peer, peer_office) = PEERS[usize::from(input.byte()) % PEERS.len()];
    edit(&mut doc, &mut input);

    let (verdict, cost) = alloc::measure_input(data, MEMORY_BUDGET, || {
        ADMISSION.with(|a| a.borrow_mut().admit(&peer, &doc_id, &doc, true, &[], &[]))
    });
    assert!(
        cost.within(MEMORY_BUDGET),
        "admission of one document cost {} bytes",
        cost.peak
    );
    if verdict.is_ok() {
        match schema_of(&doc) {
            DocumentSchema::Dossier => {
                assert!(
                    schema::read(&doc).is_ok(),
                    "a dossier that does not read was admitted"
                );
            }
            DocumentSchema::Config => {
                assert_eq!(
                    peer_office,
                    Some(fixture::PROVINCE),
                    "configuration admitted from an office not above the district"
                );
            }
            DocumentSchema::Unknown => panic!("a document of no known schema was admitted"),
        }
    } else if let Err(reason) = &verdict {
        assert!(!reason.is_empty(), "a refusal without a reason");
    }
    let reloaded = Automerge::load(&doc.save()).expect("a saved document loads");
    let again = ADMISSION.with(|a| {
        a.borrow_mut()
            .admit(&peer, &doc_id, &reloaded, true, &[], &[])
    });
    assert_eq!(
        verdict.is_ok(),
        again.is_ok(),
        "the verdict changed when the document was saved and loaded: {verdict:?} then {again:?}"
    );
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }

    fn u64(&mut self) -> u64 {
        let mut raw = [0u8; 8];
        let bytes = self.bytes(8);
        raw[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(raw)
    }

    fn word(&mut self) -> String {
        let b = self.byte();
        if b < 0xF0 {
            WORDS[usize::from(b) % WORDS.len()].to_string()
        } else {
            let n = usize::from(self.byte() % 48);
            String::from_utf8_lossy(self.bytes(n)).into_owned()
        }
    }

    fn scalar(&mut self) -> ScalarValue {
        match self.byte() % 10 {
            0 => ScalarValue::Str(self.word().into()),
            1 => ScalarValue::Int(self.u64() as i64),
            2 => ScalarValue::Uint(self.u64()),
            3 => ScalarValue::F64(f64::from_bits(self.u64())),
            4 => ScalarValue::Boolean(self.byte() & 1 == 1),
            5 => ScalarValue::Null,
            6 => ScalarValue::Timestamp(self.u64() as i64),
            7 => ScalarValue::Counter((self.u64() as i64).into()),
            8 => {
                let n = usize::from(self.byte() % 64);
                ScalarValue::Bytes(self.bytes(n).to_vec())
            }
            _ => ScalarValue::Int(i64::from(self.byte() as i8)),
        }
    }
}

/// Every object of the document (depth-first, at most 4096).
fn objects(doc: &Automerge) -> Vec<(ObjId, ObjType)> {
    let mut found = vec![(ROOT, ObjType::Map)];
    let mut i = 0;
    while i < found.len() && found.len() < 4096 {
        let (obj, kind) = found[i].clone();
        i += 1;
        let props: Vec<Prop> = match kind {
            ObjType::Map | ObjType::Table => doc.keys(&obj).map(Prop::Map).collect(),
            ObjType::List => (0..doc.length(&obj)).map(Prop::Seq).collect(),
            ObjType::Text => Vec::new(),
        };
        for prop in props {
            if let Ok(Some((Value::Object(kind), id))) = doc.get(&obj, prop) {
                found.push((id, kind));
            }
        }
    }
    found
}

fn edit(doc: &mut Automerge, input: &mut Input<'_>) {
    let mut actor = 0u8;
    for _ in 0..MAX_OPS {
        if input.done() {
            break;
        }
        let all = objects(doc);
        let op = input.byte();
        let (obj, kind) = all[usize::from(input.byte()) % all.len()].clone();
        if op % 8 == 7 {
            actor = actor.wrapping_add(1);
            doc.set_actor(ActorId::from(&[0xF5, actor][..]));
            continue;
        }
        let mut tx = doc.transaction();
        let _ = apply(&mut tx, op, &obj, kind, input);
        tx.commit_with(CommitOptions::default().with_time(0));
    }
}

fn apply<T: Transactable>(
    tx: &mut T,
    op: u8,
    obj: &ObjId,
    kind: ObjType,
    input: &mut Input<'_>,
) -> Result<(), automerge::AutomergeError> {
    let len = tx.length(obj);
    let index = |input: &mut Input<'_>, extra: usize| usize::from(input.byte()) % (len + extra);
    let key = |tx: &T, input: &mut Input<'_>| -> String {
        let keys: Vec<String> = tx.keys(obj).collect();
        let b = input.byte();
        if b & 1 == 0 && !keys.is_empty() {
            keys[usize::from(b >> 1) % keys.len()].clone()
        } else {
            input.word()
        }
    };
    let new_kind = |b: u8| match b % 3 {
        0 => ObjType::Map,
        1 => ObjType::List,
        _ => ObjType::Text,
    };
    match (kind, op % 8) {
        (ObjType::Map | ObjType::Table, 0..=2) => {
            let k = key(tx, input);
            let v = input.scalar();
            tx.put(obj, k, v)?;
        }
        (ObjType::Map | ObjType::Table, 3) => {
            let k = key(tx, input);
            tx.delete(obj, k)?;
        }
        (ObjType::Map | ObjType::Table, _) => {
            let k = key(tx, input);
            let t = new_kind(input.byte());
            tx.put_object(obj, k, t)?;
        }
        (ObjType::List, 0) if len > 0 => {
            let i = index(input, 0);
            let v = input.scalar();
            tx.put(obj, i, v)?;
        }
        (ObjType::List, 0..=2) => {
            let i = index(input, 1);
            let v = input.scalar();
            tx.insert(obj, i, v)?;
        }
        (ObjType::List, 3) if len > 0 => {
            let i = index(input, 0);
            tx.delete(obj, i)?;
        }
        (ObjType::List, _) => {
            let i = index(input, 1);
            let t = new_kind(input.byte());
            tx.insert_object(obj, i, t)?;
        }
        (ObjType::Text, _) => {
            let at = index(input, 1);
            let del = if len > at {
                isize::from(input.byte()) % (len - at + 1) as isize
            } else {
                0
            };
            let text = input.word();
            tx.splice_text(obj, at, del, &text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(base_selector: u8, peer: usize) -> Result<(), String> {
        let (id, doc) = base(base_selector);
        ADMISSION.with(|a| {
            a.borrow_mut()
                .admit(&PEERS[peer].0, &id, &doc, false, &[], &[])
                .map(|_| ())
        })
    }

    /// The fuzzer starts from both sides of every rule: a dossier in the
    /// district's scope and one outside it, configuration from above and
    /// from below, a document of no schema.
    #[test]
    fn the_base_documents_reach_every_verdict() {
        assert_eq!(
            verdict(0, 0),
            Ok(()),
            "a dossier routed through the district"
        );
        assert_eq!(verdict(1, 0), Ok(()));
        assert!(
            verdict(2, 0).is_err(),
            "a birth at another district's commune"
        );
        assert_eq!(verdict(3, 1), Ok(()), "the network from the province");
        assert!(verdict(3, 0).is_err(), "the network from a commune");
        assert!(
            verdict(4, 1).is_err(),
            "network text under the catalogue's key"
        );
        assert!(verdict(5, 1).is_err(), "an empty document");
    }
}
