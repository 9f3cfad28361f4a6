//! Building dossiers through the library for report and notice tests:
//! nodes of the shipped three-tier network, officer actions at explicit
//! times, and copying a node's dossiers into another node's store as a
//! peer's batch would (no network needed).

#![allow(dead_code)]

use std::path::Path;

use automerge::Automerge;
use chrono::{DateTime, TimeZone, Utc};
use lienthong::node::{InitSources, Node};
use lienthong::officer::{self, NewDossier};
use lienthong::store::documents::DocKey;
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::dossier::Action;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema::{self, Applicant};

pub const PROVINCE: &str = "province:quang-nam";
pub const SO_TU_PHAP: &str = "province:quang-nam/so-tu-phap";
pub const DIEN_BAN: &str = "district:dien-ban";
pub const DIEN_PHUONG: &str = "commune:dien-ban/dien-phuong";
pub const DIEN_MINH: &str = "commune:dien-ban/dien-minh";
pub const DUY_XUYEN: &str = "district:duy-xuyen";
pub const DUY_SON: &str = "commune:duy-xuyen/duy-son";

/// Marriage registration: one working day, decided at the receiving office.
pub const ONE_DAY: &str = "1.000894";

/// Local time (Asia/Ho_Chi_Minh) in March 2026; 2 March is a Monday.
pub fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

pub fn id(office: &str) -> OfficeId {
    office.parse().unwrap()
}

pub fn node(root: &Path, office: &str) -> Node {
    Node::init(
        &root.join(office.replace([':', '/'], "_")),
        &id(office),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap()
}

pub fn applicant(name: &str) -> Applicant {
    Applicant {
        name: name.into(),
        phone: "0905 123 456".into(),
        email: "an@example.vn".into(),
        ..Applicant::default()
    }
}

/// Receive a dossier at `office`'s desk; its code.
pub fn receive(node: &mut Node, office: &str, when: DateTime<Utc>, name: &str) -> String {
    receive_as(node, office, when, name, false)
}

/// Record a submission not yet taken in at the desk (status 1).
pub fn submit(node: &mut Node, office: &str, when: DateTime<Utc>, name: &str) -> String {
    receive_as(node, office, when, name, true)
}

fn receive_as(
    node: &mut Node,
    office: &str,
    when: DateTime<Utc>,
    name: &str,
    submitted_only: bool,
) -> String {
    let new = NewDossier {
        submitted_only,
        ..NewDossier::at_the_desk(ONE_DAY, applicant(name))
    };
    officer::receive(node, &id(office), "Trần Thị Hoa", when, &new)
        .unwrap()
        .code
}

/// Record `action` as `office` (default: the office the rule needs).
pub fn act(node: &mut Node, code: &str, office: Option<&str>, when: DateTime<Utc>, action: Action) {
    let office = office.map(id);
    if let Err(e) = officer::record(node, code, office.as_ref(), "Lê Văn Bình", when, action) {
        panic!("{code}: {e}");
    }
}

/// The office decides the one-day procedure itself, so the receipt took
/// the dossier straight into its processing (or it came back there after a
/// supplement): check it is processing there, not in transfer, at `when`.
pub fn start(node: &mut Node, code: &str, office: &str, when: DateTime<Utc>) {
    let key = officer::resolve(node, code).unwrap().key;
    let (_, dossier) = officer::load(node, &key).unwrap();
    let state = lienthong_shared::dossier::fold::fold(&dossier, &node.fold_context(when));
    assert_eq!(
        (
            state.status,
            state.holder.as_ref().map(|h| h.as_str()),
            &state.transfer
        ),
        (
            Some(lienthong_shared::dossier::Status::Processing),
            Some(office),
            &None
        ),
        "{code} is processing at {office}"
    );
}

/// Approve and issue the result, to be returned at `office`'s desk.
pub fn resolve(node: &mut Node, code: &str, office: &str, when: DateTime<Utc>) {
    act(
        node,
        code,
        None,
        when,
        Action::Approved {
            note: String::new(),
        },
    );
    act(
        node,
        code,
        None,
        when,
        Action::ResultIssued {
            result: "Giấy chứng nhận kết hôn".into(),
            attachment: None,
            return_office: id(office),
        },
    );
}

pub fn supplement(
    node: &mut Node,
    code: &str,
    asked: DateTime<Utc>,
    received: Option<DateTime<Utc>>,
) {
    act(
        node,
        code,
        None,
        asked,
        Action::SupplementRequested {
            items: vec!["Giấy xác nhận tình trạng hôn nhân".into()],
            reason: "Thiếu giấy tờ".into(),
        },
    );
    if let Some(received) = received {
        act(
            node,
            code,
            None,
            received,
            Action::SupplementReceived {
                note: String::new(),
            },
        );
    }
}

pub fn key_of(node: &mut Node, code: &str) -> DocKey {
    officer::resolve(node, code).unwrap().key
}

/// Copy every dossier of `from` into `into`'s store and index, as a peer's
/// batch would arrive.
pub fn absorb_all(into: &mut Node, from: &mut Node) {
    let mut keys = Vec::new();
    from.store
        .read(|r| r.for_each_indexed(|row| keys.push(row.key)))
        .unwrap();
    for key in keys {
        let (_, source) = from.store.read(|r| r.load_document(&key)).unwrap().unwrap();
        let bytes = source.save();
        let existing = into.store.read(|r| r.load_document(&key)).unwrap();
        let (mut doc, before) = match existing {
            Some((_, doc)) => {
                let heads = doc.get_heads();
                (doc, heads)
            }
            None => (Automerge::new(), Vec::new()),
        };
        doc.load_incremental(&bytes).unwrap();
        let dossier = schema::read(&doc).unwrap();
        let (store, ctx, tree) = into.split(at(2, 8, 0));
        let state = fold::fold(&dossier, &ctx);
        store
            .write(|w| officer::save_dossier(w, &key, &doc, &before, &dossier, &state, tree))
            .unwrap();
    }
}
