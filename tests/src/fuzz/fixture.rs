//! Real documents for the fuzz targets and their seeds: dossiers written
//! with `lienthong_shared::dossier::schema` as an officer's desk writes
//! them (catalogue routes in the shipped Quảng Nam network, one change per
//! event), the network configuration document the province publishes, an
//! attachment, and the in-memory stores of the two session targets.
//!
//! Everything is deterministic (fixed actors, times and keys), so recorded
//! seeds are the same on every machine.

use std::sync::OnceLock;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use chrono::{DateTime, TimeZone, Utc};
use lienthong::replication::config_docs::{CONFIG_SCHEMA, ConfigFile};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::catalogue::resolve_route;
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::attachment;
use lienthong_shared::dossier::schema::{
    self, Applicant, Component, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{Action, AppraisalOutcome, AttachmentRef, Channel, Event, EventId};
use lienthong_sync::DocumentId;
use lienthong_sync::protocol::PeerId;
use lienthong_sync::protocol::memory::MemoryStore;

/// The fuzzed peer, as the session under test knows it.
pub const PEER: PeerId = [0xB0; 32];
/// The node under test, as the recording peer knows it.
pub const US: PeerId = [0xA0; 32];

/// The node whose admission is fuzzed.
pub const DISTRICT: &str = "district:dien-ban";
pub const COMMUNE: &str = "commune:dien-ban/dien-phuong";
pub const SIBLING: &str = "commune:dien-ban/dien-minh";
pub const OTHER_COMMUNE: &str = "commune:duy-xuyen/duy-son";
pub const PROVINCE: &str = "province:quang-nam";

/// Land-use certificate: commune → district → province agency.
const LAND: &str = "1.004227";
/// Birth registration: decided at the receiving commune.
const BIRTH: &str = "1.001193";

pub fn office(id: &str) -> OfficeId {
    id.parse().expect("a shipped office id")
}

/// A dossier document with its history.
pub struct Dossier {
    pub id: DocumentId,
    /// After each change, in order (the first: the receipt).
    pub versions: Vec<Automerge>,
}

impl Dossier {
    pub fn latest(&self) -> &Automerge {
        self.versions.last().expect("a dossier has its receipt")
    }
}

/// What the fixture holds.
pub struct Fixture {
    /// 0: land use from Điện Phương, at the district (with a scan);
    /// 1: land use from Điện Minh, result issued;
    /// 2: a birth at Duy Sơn (another district: outside Điện Bàn's scope).
    pub dossiers: Vec<Dossier>,
    /// The network configuration document the province publishes.
    pub config: (DocumentId, Automerge),
    /// The scan referenced by dossier 0.
    pub blob: Vec<u8>,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn local(day: u32, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .single()
        .expect("a plain local time")
        .with_timezone(&Utc)
}

/// A scanned page: deterministic, incompressible, two chunks (the second short).
fn scan() -> Vec<u8> {
    let mut state = 0x5eed_u64;
    (0..66_000)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

fn reference(content: &[u8]) -> AttachmentRef {
    let chunks: Vec<[u8; 32]> = content.chunks(64 * 1024).map(attachment::sha256).collect();
    AttachmentRef {
        hash: attachment::hex(&attachment::sha256(content)),
        size: content.len() as u64,
        media_type: "application/pdf".into(),
        name: "giay-to-dat.pdf".into(),
        chunks_root: attachment::hex(&attachment::chunk_root(&chunks)),
    }
}

fn build() -> Fixture {
    let network = builtin::quang_nam_3tier();
    let catalogue = builtin::catalogue();
    let calendar = WorkingCalendar::builtin();
    let blob = scan();

    let dossier = |n: u8, procedure: &str, origin: &str, stage: usize| -> Dossier {
        let origin = office(origin);
        let procedure = catalogue.get(procedure).expect("a shipped procedure");
        let route = resolve_route(&network.offices, procedure, &origin).expect("a route");
        let agency = &network
            .offices
            .get(&origin)
            .expect("a shipped office")
            .agency_code;
        let received = local(2 + u32::from(n), 8);
        let code = DossierCode::new(agency, calendar.local_date(received), u32::from(n) + 1)
            .expect("a valid code");
        let mut key = [0u8; 16];
        key[0] = 0xD0;
        key[15] = n;
        let facts = DossierFacts {
            id: key.iter().map(|b| format!("{b:02x}")).collect(),
            code: code.to_string(),
            rules: "2025".into(),
            origin: origin.clone(),
            channel: Channel::Direct,
            result_delivery: Channel::Direct,
            procedure: ProcedureSnapshot {
                code: procedure.code.clone(),
                name: procedure.name.clone(),
                catalogue_version: catalogue.version.clone(),
                processing_days: match procedure.processing {
                    lienthong_shared::catalogue::ProcessingTime::WorkingDays(d) => {
                        Some(u64::from(d))
                    }
                    lienthong_shared::catalogue::ProcessingTime::SameDay { .. } => None,
                },
                same_day_cutoff: match procedure.processing {
                    lienthong_shared::catalogue::ProcessingTime::SameDay { cutoff } => {
                        Some(cutoff.format("%H:%M").to_string())
                    }
                    _ => None,
                },
                fee_vnd: procedure.fee_vnd,
            },
            applicant: Applicant {
                name: format!("Nguyễn Thị Hồng {n}"),
                id_number: format!("04918{n:07}"),
                address: format!("Thôn {}, {}", n + 3, origin),
                phone: format!("09050{n:05}"),
                ..Applicant::default()
            },
            route: route.iter().map(RouteStep::from).collect(),
            documents: procedure
                .components
                .iter()
                .map(|c| Component {
                    name: c.name.clone(),
                    copies: u64::from(c.copies),
                    attachments: Vec::new(),
                })
                .collect(),
        };
        let processor = route
            .iter()
            .map(|s| s.office.clone())
            .find(|o| *o != origin)
            .unwrap_or_else(|| origin.clone());
        let mut k = 0;
        let mut event = |office: &OfficeId, action: Action| {
            k += 1;
            Event {
                id: EventId(format!("{n:x}-{k}")),
                at: received + chrono::Duration::hours(2 * k),
                office: office.clone(),
                officer: "Trần Văn Bình".into(),
                action,
            }
        };
        let mut events = vec![event(&origin, Action::Received)];
        if stage >= 1 {
            events.push(event(
                &origin,
                Action::Forwarded {
                    to: processor.clone(),
                    task: "Xử lý hồ sơ".into(),
                    days: 8,
                },
            ));
            events.push(event(&processor, Action::Accepted));
            events.push(event(
                &processor,
                Action::Appraised {
                    outcome: AppraisalOutcome::Ok,
                    note: "Hồ sơ hợp lệ, đủ điều kiện".into(),
                },
            ));
        }
        if stage >= 2 {
            events.push(event(
                &processor,
                Action::Approved {
                    note: String::new(),
                },
            ));
            events.push(event(
                &processor,
                Action::ResultIssued {
                    result: format!("Giấy chứng nhận số CS{n:06}"),
                    attachment: None,
                    return_office: origin.clone(),
                },
            ));
        }
        let actor = |k: u8| ActorId::from(&[0xAC, n, k][..]);
        let mut doc = Automerge::new().with_actor(actor(0));
        let mut tx = doc.transaction();
        schema::create(&mut tx, &facts, &events[0]).expect("create the dossier");
        tx.commit();
        let mut versions = vec![doc.clone()];
        if n == 0 {
            let mut tx = doc.transaction();
            schema::add_attachment(&mut tx, &facts.documents[0].name, &reference(&blob))
                .expect("attach the scan");
            tx.commit();
            versions.push(doc.clone());
        }
        for (i, e) in events[1..].iter().enumerate() {
            // The processing office writes with its own actor.
            doc.set_actor(actor(1 + u8::from(e.office != origin) + (i as u8 % 2)));
            let mut tx = doc.transaction();
            schema::append_event(&mut tx, e).expect("append an event");
            tx.commit();
            versions.push(doc.clone());
        }
        Dossier {
            id: DocumentId(key),
            versions,
        }
    };

    let dossiers = vec![
        dossier(0, LAND, COMMUNE, 1),
        dossier(1, LAND, SIBLING, 2),
        dossier(2, BIRTH, OTHER_COMMUNE, 0),
    ];

    let mut config = Automerge::new().with_actor(ActorId::from(&[0xC0, 0xF1][..]));
    let mut tx = config.transaction();
    tx.put(ROOT, "schema", CONFIG_SCHEMA).expect("put");
    tx.put(ROOT, "name", ConfigFile::Network.name())
        .expect("put");
    tx.put(ROOT, "text", builtin::QUANG_NAM_3TIER).expect("put");
    tx.commit();

    Fixture {
        dossiers,
        config: (DocumentId(ConfigFile::Network.key()), config),
        blob,
    }
}

/// The store of the session under test in `session_receive`: an early
/// copy of dossiers 0 and 1 (the peer holds more of them), nothing of
/// dossier 2, and dossier 0's scan wanted.
pub fn receiver_store() -> MemoryStore {
    let f = fixture();
    let mut store = MemoryStore::new();
    store.put(f.dossiers[0].id, f.dossiers[0].versions[1].clone());
    store.put(f.dossiers[1].id, f.dossiers[1].versions[0].clone());
    let hash = attachment::sha256(&f.blob);
    let chunks: Vec<[u8; 32]> = f.blob.chunks(64 * 1024).map(attachment::sha256).collect();
    store.want_blob(hash, f.blob.len() as u64, attachment::chunk_root(&chunks));
    store
}

/// The store of the session under test in `session_send`: every dossier
/// whole, the configuration document, and the scan.
pub fn sender_store() -> MemoryStore {
    let f = fixture();
    let mut store = MemoryStore::new();
    for d in &f.dossiers {
        store.put(d.id, d.latest().clone());
    }
    store.put(f.config.0, f.config.1.clone());
    store.add_blob(&f.blob);
    store
}
