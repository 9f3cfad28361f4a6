//! A byte-exact Rust port of the benchmark workload generator
//! (`shared/bench/workload.mjs`, restated in `shared/bench/WORKLOAD-DATA.md`).
//!
//! Everything is derived from `(seed, index)` with integer arithmetic on a
//! 32-bit PRNG (mulberry32), so [`dump_jsonl`] prints exactly what
//! `node workload.mjs dump N` prints, byte for byte.
//!
//! - [`generate`] draws one dossier with its whole history: the record as
//!   created, the 8 history events (each with the status and holder it
//!   leaves behind) and the phase-2 event.
//! - [`final_dossier`] is the record after the 9 changes of history
//!   (create + 8 events), what `dump` prints; the phase-2 event is not in it.
//! - [`build_document`] / [`apply_phase2`] build the Automerge document the
//!   workload describes (see `document.rs`), and [`read_dossier`] reads it
//!   back.

mod document;
pub mod vocabulary;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

pub use document::{apply_phase2, build_document, push_event, read_dossier, write_record};
use vocabulary::{
    CHANNELS, COMMUNE_COUNT, DISTRICTS, EVENT_PLAN, EXTRA_EVENT_AT, EXTRA_EVENT_KIND, FAMILY,
    GIVEN, MIDDLE, PHONE_PREFIX, PROCEDURES, STREETS, notes_for,
};

/// The workload's default seed.
pub const DEFAULT_SEED: u32 = 20260105;

/// Dossiers per commune per day (`PER_COMMUNE_PER_DAY`).
pub const PER_COMMUNE_PER_DAY: usize = 20;

const DAY_MS: i64 = 86_400_000;

/// `Date.UTC(2026, 0, 5)`: 2026-01-05T00:00:00Z in Unix milliseconds.
pub const BASE_DAY_MS: i64 = 1_767_571_200_000;

/// The mulberry32 PRNG; every draw is a `u32`.
#[derive(Clone, Debug)]
pub struct Mulberry32 {
    a: u32,
}

impl Mulberry32 {
    pub fn new(seed: u32) -> Self {
        Self { a: seed }
    }

    pub fn next_u32(&mut self) -> u32 {
        self.a = self.a.wrapping_add(0x6D2B_79F5);
        let mut t = self.a;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        t ^ (t >> 14)
    }

    /// `pick(list) = list[draw % len]`.
    fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[self.next_u32() as usize % list.len()]
    }

    /// `digits(k)`: k draws, each `draw % 10` as one decimal digit.
    fn digits(&mut self, out: &mut String, k: usize) {
        for _ in 0..k {
            out.push(char::from(b'0' + (self.next_u32() % 10) as u8));
        }
    }
}

/// The PRNG seed of dossier `index`:
/// `seed XOR ((index + 1) * 0x9E3779B1 mod 2^32)`.
pub fn dossier_seed(seed: u32, index: usize) -> u32 {
    seed ^ (index as u32).wrapping_add(1).wrapping_mul(0x9E37_79B1)
}

/// A dossier record. Field order is the record's key order, so
/// `serde_json::to_string` matches `JSON.stringify` byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadDossier {
    pub code: String,
    pub procedure: ProcedureRef,
    pub applicant: Applicant,
    pub channel: String,
    pub received_at: String,
    pub due_at: String,
    pub status: String,
    pub holder: String,
    pub route: Vec<RouteStep>,
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcedureRef {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub full_name: String,
    pub id_number: String,
    pub address: String,
    pub phone: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStep {
    pub office: String,
    pub deadline: String,
    pub done: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: String,
    pub at: String,
    pub by: String,
    pub office: String,
    pub note: String,
}

/// One generated dossier with all of its history: the record at creation
/// and the 8 history events and the phase-2 event (the 9th event,
/// `notify_applicant`), exactly as workload.mjs draws them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    pub index: usize,
    /// The record as created by change 1: status `"new"`, holder the
    /// commune, `events` empty.
    pub created: WorkloadDossier,
    /// Changes 2..=9: `(event pushed, status after, holder after)`.
    pub history: Vec<(Event, String, String)>,
    /// The phase-2 change: push this event, touch nothing else.
    pub phase2_event: Event,
}

/// `new Date(ms).toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ` (years 0..=9999).
pub fn iso_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Draw dossier `index` of the workload with `seed`, exactly as
/// `dossier(i, seed)` in workload.mjs.
pub fn generate(index: usize, seed: u32) -> Generated {
    let mut r = Mulberry32::new(dossier_seed(seed, index));

    // placement: no draws
    let c = index % COMMUNE_COUNT;
    let district = &DISTRICTS[c / 4];
    let (commune_slug, commune_name) = district.communes[c % 4];
    let k = index / COMMUNE_COUNT;
    let day = (k / PER_COMMUNE_PER_DAY) as i64;
    let seq = k % PER_COMMUNE_PER_DAY + 1;
    let day_ms = BASE_DAY_MS + day * DAY_MS;
    let day_iso = iso_timestamp(day_ms);
    let yymmdd = format!("{}{}{}", &day_iso[2..4], &day_iso[5..7], &day_iso[8..10]);
    let code = format!("H49.{}-{yymmdd}-{seq:04}", 10 + c);
    let commune_id = format!("commune:{}/{commune_slug}", district.slug);
    let district_id = format!("district:{}", district.slug);

    // draws, in this order
    let proc = r.pick(&PROCEDURES); // 1
    let province_id = format!("province:quang-nam/{}", proc.dept);
    let family = r.pick(&FAMILY); // 2
    let middle = r.pick(&MIDDLE); // 3
    let given = r.pick(&GIVEN); // 4
    let full_name = format!("{family} {middle} {given}");
    let mut id_number = String::from("049");
    r.digits(&mut id_number, 9); // 5..13
    let house = 1 + r.next_u32() % 250; // 14
    let street = r.pick(&STREETS); // 15
    let address = format!(
        "{house} {street}, {commune_name}, {}, tỉnh Quảng Nam",
        district.name
    );
    let mut phone = String::from(r.pick(&PHONE_PREFIX)); // 16
    r.digits(&mut phone, 7); // 17..23
    let channel = r.pick(&CHANNELS); // 24
    let minutes = i64::from(r.next_u32() % 480); // 25
    let seconds = i64::from(r.next_u32() % 60); // 26
    let received_ms = day_ms + 3_600_000 + minutes * 60_000 + seconds * 1000;
    let days = i64::from(proc.days);
    let due_ms = received_ms + days * DAY_MS;
    let offices = [commune_id, district_id, province_id];

    let route = (0..3i64)
        .map(|j| RouteStep {
            office: offices[j as usize].clone(),
            // Math.ceil(days * (j + 1) / 3)
            deadline: iso_timestamp(received_ms + (days * (j + 1) + 2) / 3 * DAY_MS),
            done: false,
        })
        .collect();

    let created = WorkloadDossier {
        code,
        procedure: ProcedureRef {
            code: proc.code.to_owned(),
            name: proc.name.to_owned(),
        },
        applicant: Applicant {
            full_name,
            id_number,
            address,
            phone,
        },
        channel: channel.to_owned(),
        received_at: iso_timestamp(received_ms),
        due_at: iso_timestamp(due_ms),
        status: "new".to_owned(),
        holder: offices[0].clone(),
        route,
        events: Vec::new(),
    };

    // events: per event a gap draw (not for the first), officer, note
    let mut at_ms = received_ms;
    let mut make_event = |kind: &str, at: usize, first: bool| {
        if !first {
            at_ms += (60 + i64::from(r.next_u32() % (48 * 60))) * 60_000;
        }
        let by = format!("officer-{:04}", r.next_u32() % 10_000);
        let note = r.pick(notes_for(kind));
        Event {
            kind: kind.to_owned(),
            at: iso_timestamp(at_ms),
            by,
            office: offices[at].clone(),
            note: note.to_owned(),
        }
    };
    let history = EVENT_PLAN
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let event = make_event(p.kind, p.at, n == 0);
            (event, p.status.to_owned(), offices[p.at].clone())
        })
        .collect();
    let phase2_event = make_event(EXTRA_EVENT_KIND, EXTRA_EVENT_AT, false);

    Generated {
        index,
        created,
        history,
        phase2_event,
    }
}

/// The record after its 9 changes of history (create + the 8 events); the
/// phase-2 event is not included. This is what `dump` prints.
pub fn final_dossier(g: &Generated) -> WorkloadDossier {
    let mut d = g.created.clone();
    for (event, status, holder) in &g.history {
        d.events.push(event.clone());
        d.status.clone_from(status);
        d.holder.clone_from(holder);
    }
    d
}

/// What `node workload.mjs dump N [seed]` prints: the final dossiers
/// `0..n` as compact JSON, one per line, each followed by `\n`.
pub fn dump_jsonl(n: usize, seed: u32) -> String {
    let mut out = Vec::with_capacity(n * 2_500);
    for i in 0..n {
        serde_json::to_writer(&mut out, &final_dossier(&generate(i, seed)))
            .expect("serializing a dossier cannot fail");
        out.push(b'\n');
    }
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// What `node workload.mjs digest N [seed]` prints: the lowercase hex
/// SHA-256 of [`dump_jsonl`].
pub fn digest(n: usize, seed: u32) -> String {
    hex(&Sha256::digest(dump_jsonl(n, seed).as_bytes()))
}

/// What `node workload.mjs extra N [seed]` prints: for each dossier changed
/// in phase 2, `{"i":…,"event":{…}}` on one line.
pub fn extra_jsonl(n: usize, seed: u32) -> String {
    #[derive(Serialize)]
    struct Extra {
        i: usize,
        event: Event,
    }
    let mut out = String::new();
    for i in (0..n).filter(|&i| is_phase2(i)) {
        let event = generate(i, seed).phase2_event;
        out.push_str(&serde_json::to_string(&Extra { i, event }).expect("serializing cannot fail"));
        out.push('\n');
    }
    out
}

/// Whether dossier `index` is changed in phase 2 (exactly 1%: `index % 100 == 0`).
pub fn is_phase2(index: usize) -> bool {
    index.is_multiple_of(100)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
