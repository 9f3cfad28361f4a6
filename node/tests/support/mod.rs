//! Helpers shared by the node's CLI, crash and merge tests:
//!
//! - running the `lienthong` binary as an officer would ([`run`], [`ok`],
//!   [`fails`], [`json`], [`init`]);
//! - a [`Fingerprint`] of everything a store holds, to prove that a refused
//!   command wrote nothing;
//! - [`check_store`]: the invariants a store keeps whatever killed the
//!   process writing it;
//! - moving a dossier's changes between two nodes' stores by hand, as a
//!   sync batch would ([`absorb`], [`document`]).
//!
//! Each test file includes this with `mod support;`; not every file uses
//! every helper.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use automerge::{Automerge, ChangeHash};
use chrono::{DateTime, Utc};
use lienthong::node::{InitSources, Node};
use lienthong::officer;
use lienthong::store::documents::{DocKey, DocKind};
use lienthong::store::index::IndexRow;
use lienthong_shared::builtin;
use lienthong_shared::dossier::fold::{self, DossierState};
use lienthong_shared::dossier::schema;
use lienthong_shared::dossier::{Action, Dossier, StoredEvent};
use rusqlite::{Connection, OpenFlags};

pub const BIN: &str = env!("CARGO_BIN_EXE_lienthong");
pub const NETWORK: &str = "builtin:quang-nam-3tier";

pub const PROVINCE: &str = "province:quang-nam";
pub const SO_TU_PHAP: &str = "province:quang-nam/so-tu-phap";
pub const CONG_AN: &str = "province:quang-nam/cong-an-tinh";
pub const DISTRICT: &str = "district:dien-ban";
pub const COMMUNE: &str = "commune:dien-ban/dien-phuong";
pub const SIBLING: &str = "commune:dien-ban/dien-minh";
pub const TAX: &str = "province:quang-nam/cuc-thue";

/// How long a test waits for nodes to converge before it fails.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

pub fn office(id: &str) -> lienthong_shared::OfficeId {
    id.parse().unwrap()
}

/// Local time (Asia/Ho_Chi_Minh) on a day of March 2026, inside the
/// shipped calendar: 2 March 2026 is a Monday.
pub fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// Birth registration: same day, decided at the receiving commune.
pub const BIRTH: &str = "1.001193";
/// Marriage registration: one working day, at the receiving commune.
pub const MARRIAGE: &str = "1.000894";
/// First land-use certificate: 30 working days, commune → district → province.
pub const LAND: &str = "1.004227";
/// Judicial record certificate: Sở Tư pháp with the provincial Police.
pub const JUDICIAL_RECORD: &str = "2.000488";

// ── The binary ─────────────────────────────────────────────────────────────

/// The binary with a clean environment: no data dir, officer or crash point
/// inherited from whoever runs the tests; messages in English (the
/// catalogue's second language), which these tests match against — the
/// Vietnamese default has its own tests (`vietnamese_by_default`).
pub fn lienthong() -> Command {
    let mut command = Command::new(BIN);
    command
        .env(lienthong::i18n::LANG_ENV, "en")
        .env_remove("LIENTHONG_DATA")
        .env_remove("LIENTHONG_OFFICER")
        .env_remove(lienthong::store::CRASH_AT_ENV);
    command
}

pub fn run(args: &[&str]) -> Output {
    lienthong().args(args).output().expect("run lienthong")
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "lienthong {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Receive a dossier at the desk by the CLI (`--json`); returns its code.
pub fn receive(dir: &Path, procedure: &str, at: &str) -> String {
    receive_as(dir, procedure, at, None)
}

/// `receive` as a department served by this node (`--as`).
pub fn receive_as(dir: &Path, procedure: &str, at: &str, office: Option<&str>) -> String {
    let mut args = vec![
        "receive",
        "--data",
        dir.to_str().unwrap(),
        "--officer",
        "Trần Thị Hoa",
        "--procedure",
        procedure,
        "--applicant",
        "Nguyễn Văn An",
        "--phone",
        "0905 123 456",
        "--at",
        at,
        "--json",
    ];
    if let Some(office) = office {
        args.extend(["--as", office]);
    }
    let out = json(&args);
    assert_eq!(out["event"]["action"]["kind"], "received");
    out["code"].as_str().unwrap().to_string()
}

/// Attach `len` bytes of a patterned file (`scan.pdf` under `root`) to the
/// dossier by the CLI; returns the file's content.
pub fn attach_scan(root: &Path, dir: &Path, code: &str, len: u32) -> Vec<u8> {
    let file = root.join("scan.pdf");
    let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    ok(&[
        "attach",
        "--data",
        dir.to_str().unwrap(),
        code,
        "--officer",
        "A",
        "--file",
        file.to_str().unwrap(),
        "--at",
        "2026-03-02 09:30",
    ]);
    content
}

/// Runs a command that must fail with a message on stderr and nothing on
/// stdout; returns the message.
pub fn fails(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success(),
        "lienthong {args:?} should have failed; it printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !stderr.trim().is_empty(),
        "lienthong {args:?} failed without a word"
    );
    assert!(
        out.stdout.is_empty(),
        "lienthong {args:?} failed but printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

pub fn json(args: &[&str]) -> serde_json::Value {
    let out = ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("lienthong {args:?}: {e}: {out}"))
}

/// `lienthong init` a node for `office` in `root/name`.
pub fn init(root: &Path, name: &str, office: &str) -> PathBuf {
    let dir = root.join(name);
    ok(&[
        "init",
        "--data",
        dir.to_str().unwrap(),
        "--office",
        office,
        "--network",
        NETWORK,
    ]);
    dir
}

// ── What a store holds ─────────────────────────────────────────────────────

fn open_read_only(dir: &Path) -> Connection {
    Connection::open_with_flags(
        dir.join("store.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap()
}

/// Every row of every table of a store, opened read-only: two equal
/// fingerprints mean nothing was written in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub last_seq: i64,
    pub tables: BTreeMap<String, Vec<String>>,
}

pub fn fingerprint(dir: &Path) -> Fingerprint {
    let conn = open_read_only(dir);
    let last_seq = conn
        .query_row("SELECT value FROM meta WHERE key = 'last_seq'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut tables = BTreeMap::new();
    for name in names {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows: Vec<String> = statement
            .query_map([], |row| {
                (0..columns)
                    .map(|i| row.get::<_, rusqlite::types::Value>(i))
                    .map(|v| v.map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|values| values.join(" | "))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        tables.insert(name, rows);
    }
    Fingerprint { last_seq, tables }
}

/// Assert two fingerprints are equal, naming the first table that differs.
pub fn assert_unchanged(before: &Fingerprint, after: &Fingerprint, what: &str) {
    for (table, rows) in &before.tables {
        assert_eq!(
            Some(rows),
            after.tables.get(table),
            "{what}: table {table} changed"
        );
    }
    assert_eq!(before, after, "{what}: the store changed");
}

/// One dossier as read back from a store.
#[derive(Debug)]
pub struct StoredDossier {
    pub key: DocKey,
    pub dossier: Dossier,
}

impl StoredDossier {
    pub fn code(&self) -> &str {
        &self.dossier.facts.code
    }

    /// The texts of its notes.
    pub fn notes(&self) -> Vec<&str> {
        self.dossier
            .events
            .iter()
            .filter_map(|e| match e {
                StoredEvent::Valid(event) => match &event.action {
                    Action::Note { text } => Some(text.as_str()),
                    _ => None,
                },
                StoredEvent::Malformed { .. } => None,
            })
            .collect()
    }
}

/// Check what a store must keep whatever killed the processes writing it,
/// and return its dossiers by code:
/// - SQLite's integrity check passes;
/// - every document loads, and every dossier document reads as a dossier
///   with a well-formed event list;
/// - every dossier document has its index row, exactly what the document
///   derives, and every index row its document (no half-written dossier);
/// - dossier codes are unique, and the day counter of each office this
///   node serves is at least the highest sequence it used that day (no code
///   can be issued again).
pub fn check_store(dir: &Path) -> HashMap<String, StoredDossier> {
    let mut node = Node::open(dir).unwrap();
    let served: HashSet<String> = node
        .served_offices()
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    node.store.integrity_check().unwrap();
    let conn = node.store.connection();
    let keys: Vec<(Vec<u8>, String)> = conn
        .prepare("SELECT doc_id, kind FROM documents ORDER BY doc_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let index_rows = conn
        .prepare("SELECT count(*) FROM dossiers")
        .unwrap()
        .query_row([], |r| r.get::<_, i64>(0))
        .unwrap();
    // Any moment will do: the index holds nothing that depends on "now".
    let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut dossiers = HashMap::new();
    for (key, kind) in &keys {
        let key: DocKey = key.as_slice().try_into().expect("16-byte document keys");
        let (loaded_kind, doc) = node
            .store
            .read(|r| r.load_document(&key))
            .unwrap()
            .expect("a listed document loads");
        assert_eq!(loaded_kind.as_str(), kind);
        if loaded_kind != DocKind::Dossier {
            continue;
        }
        let dossier = schema::read(&doc).expect("a stored dossier reads as a dossier");
        assert!(
            dossier
                .events
                .iter()
                .all(|e| matches!(e, StoredEvent::Valid(_))),
            "{}: malformed events",
            dossier.facts.code
        );
        // Its index row is exactly what its document derives.
        let indexed = node
            .store
            .read(|r| r.index_row(&key))
            .unwrap()
            .unwrap_or_else(|| panic!("dossier {} has no index row", dossier.facts.code));
        let state = fold::fold(&dossier, &node.fold_context(now));
        assert_eq!(
            indexed,
            IndexRow::from_fold(key, &dossier.facts, &state),
            "the index row of {} is not what its document derives",
            dossier.facts.code
        );
        let code = dossier.facts.code.clone();
        let previous = dossiers.insert(code.clone(), StoredDossier { key, dossier });
        assert!(previous.is_none(), "dossier code {code} was issued twice");
    }
    let store = &node.store;
    assert_eq!(
        index_rows as usize,
        dossiers.len(),
        "index rows without their document"
    );
    // Counters: the highest sequence per agency code and day.
    let counters: HashMap<(String, String), i64> = store
        .connection()
        .prepare("SELECT agency_code, day, last FROM code_counters")
        .unwrap()
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut highest: HashMap<(String, String), i64> = HashMap::new();
    // Only this node's own offices number dossiers here; copies of other
    // offices' dossiers carry their codes.
    for (code, stored) in &dossiers {
        if !served.contains(stored.dossier.facts.origin.as_str()) {
            continue;
        }
        let code: lienthong_shared::code::DossierCode = code.parse().unwrap();
        let key = (code.agency_code, code.date.format("%Y-%m-%d").to_string());
        let seq = highest.entry(key).or_default();
        *seq = (*seq).max(i64::from(code.sequence));
    }
    for (key, seq) in highest {
        let counter = counters.get(&key).copied().unwrap_or(0);
        assert!(
            counter >= seq,
            "counter {counter} for {key:?} is below the highest code used, {seq}"
        );
    }
    dossiers
}

// ── Nodes through the library ──────────────────────────────────────────────

/// A node of the shipped three-tier network in `root/name`, through the library.
pub fn node(root: &Path, name: &str, office: &str) -> Node {
    Node::init(
        &root.join(name),
        &office.parse().unwrap(),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap()
}

/// A node's copy of a dossier document.
pub fn document(node: &mut Node, key: &DocKey) -> Automerge {
    node.store
        .read(|r| r.load_document(key))
        .unwrap()
        .expect("the node holds the document")
        .1
}

pub fn sorted_heads(node: &mut Node, key: &DocKey) -> Vec<ChangeHash> {
    let mut heads = document(node, key).get_heads();
    heads.sort();
    heads
}

/// The dossier's state as `node` derives it at `now`.
pub fn fold_at(node: &mut Node, key: &DocKey, now: DateTime<Utc>) -> (Dossier, DossierState) {
    let doc = document(node, key);
    let dossier = schema::read(&doc).unwrap();
    let state = fold::fold(&dossier, &node.fold_context(now));
    (dossier, state)
}

/// Merge `changes` (a whole saved document, or changes saved after some
/// heads) into `node`'s copy of `key`, creating it if new, and store it
/// with everything derived from it in one transaction — as a peer's batch
/// would be. Returns the new feed sequence, or `None` if nothing was new.
pub fn absorb(node: &mut Node, key: &DocKey, changes: &[u8], now: DateTime<Utc>) -> Option<i64> {
    let existing = node.store.read(|r| r.load_document(key)).unwrap();
    let (mut doc, before) = match existing {
        Some((_, doc)) => {
            let heads = doc.get_heads();
            (doc, heads)
        }
        None => (Automerge::new(), Vec::new()),
    };
    doc.load_incremental(changes).unwrap();
    let mut after = doc.get_heads();
    after.sort();
    let mut sorted_before = before.clone();
    sorted_before.sort();
    if after == sorted_before {
        // Nothing new, or only changes still waiting for their dependencies.
        return None;
    }
    let dossier = schema::read(&doc).unwrap();
    let (store, ctx, tree) = node.split(now);
    let state = fold::fold(&dossier, &ctx);
    store
        .write(|w| {
            let seq = w.save_document(key, DocKind::Dossier, &doc, &before)?;
            if let Some(seq) = seq {
                officer::index_dossier(w, key, Some(seq), &dossier, &state, tree)?;
            }
            Ok::<_, lienthong::store::StoreError>(seq)
        })
        .unwrap()
}

/// The nodes (by office) a stored dossier goes to, from `doc_scope`.
pub fn scope_rows(node: &Node, key: &DocKey) -> Vec<String> {
    node.store
        .connection()
        .prepare("SELECT node FROM doc_scope WHERE doc_id = ?1 ORDER BY node")
        .unwrap()
        .query_map([&key[..]], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Codes in `a` but not in `b`.
pub fn missing<'a>(a: &'a HashSet<String>, b: &HashMap<String, StoredDossier>) -> Vec<&'a String> {
    a.iter().filter(|code| !b.contains_key(*code)).collect()
}

/// Wait until `node` has refused something from `peer` for a reason
/// containing `why`, counted in the peer's row; returns the reason.
pub async fn refusal(
    net: &lienthong::local_network::LocalNetwork,
    node: &str,
    peer: &lienthong_sync::transport::identity::NodeId,
    why: &str,
) -> String {
    let start = std::time::Instant::now();
    loop {
        let mut n = net.open(&office(node)).unwrap();
        let row = n.store.read(|r| r.peer(peer.as_bytes())).unwrap();
        if let Some(reason) = row.last_refusal.clone().filter(|r| r.contains(why)) {
            assert!(row.refused >= 1, "refusals are counted per peer: {row:?}");
            return reason;
        }
        assert!(
            start.elapsed() < WAIT,
            "{node} did not refuse anything from {peer} for {why:?} within {WAIT:?}: {row:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
