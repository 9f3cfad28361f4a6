//! The province under load's parts (issue 11): a generated network with
//! enough communes, the province's store of real dossiers built once into a
//! cache directory (the two kinds of process that sync them:
//! `province_sides.rs`).
//!
//! Cache layout (`--cache DIR`):
//! ```text
//! DIR/manifest.json          what was built (checked before reuse)
//! DIR/network.toml           the generated network
//! DIR/peers.json             every peer: node id, office, identity directory
//! DIR/ids/<k>                peer identities
//! DIR/province/              the province's data directory (N dossiers)
//! DIR/compare/               a province holding N/10 (same identity)
//! DIR/peers/<k>.db           the peers' stores (in sync after the first run)
//! ```

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use automerge::Automerge;
use chrono::{DateTime, TimeZone, Utc};
use lienthong::config::DataDir;
use lienthong::node::{InitSources, Node};
use lienthong::officer;
use lienthong::store::documents::{DocKey, DocKind};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::catalogue::resolve_route;
use lienthong_shared::code::DossierCode;
use lienthong_shared::dossier::fold::{self, DossierState};
use lienthong_shared::dossier::schema::{
    self, Applicant, Dossier, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{Action, AppraisalOutcome, Channel, Event, EventId};
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use serde::{Deserialize, Serialize};

pub(crate) const PROVINCE: &str = "province:quang-nam";
/// A first land-use certificate: received at a commune, decided by a
/// provincial department the province's node serves; so each dossier goes
/// to its commune, the commune's district and the province.
const PROCEDURE: &str = "1.004227";
/// Bumped whenever what the cache holds changes meaning: an older cache is rebuilt.
const CACHE_VERSION: u32 = 1;
/// Spreads the peers' dossiers over them (a fixed seed: the same stores every build).
pub(crate) const SEED: u64 = 20261207;
/// "Now" for the fold of the generated dossiers and for the report.
pub(crate) fn now() -> DateTime<Utc> {
    local(4, 24, 9)
}

fn local(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, month, day, hour, 0, 0)
        .single()
        .expect("a plain local hour")
        .with_timezone(&Utc)
}

/// Wall-clock milliseconds, comparable between this machine's processes.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ── The network ─────────────────────────────────────────────────────────────

/// Office of peer `k` (`k < peers`), ten communes to a district.
pub(crate) fn peer_office(k: usize) -> String {
    format!("commune:h{:02}/x{:02}", k / 10, k % 10)
}

/// The two communes a new node is measured for: ~1% and ~0.1% of the dossiers.
pub(crate) const NEW_COMMUNES: [&str; 2] =
    ["commune:moi/mot-phan-tram", "commune:moi/mot-phan-nghin"];

/// The builtin Quảng Nam network's province and its departments, then
/// `ceil(peers / 10)` districts of ten communes and one district with the
/// two new communes.
fn network_text(peers: usize) -> Result<String> {
    let header = builtin::QUANG_NAM_3TIER
        .split("# ── Thị xã Điện Bàn")
        .next()
        .context("the builtin network's layout changed: no Điện Bàn section")?;
    let mut text = String::from(header);
    let office = |text: &mut String,
                  id: &str,
                  level: &str,
                  parent: &str,
                  name: &str,
                  code: &str| {
        text.push_str(&format!(
            "[[office]]\nid = \"{id}\"\nlevel = \"{level}\"\nparent = \"{parent}\"\nname = \"{name}\"\nagency_code = \"{code}\"\n\n"
        ));
    };
    for d in 0..peers.div_ceil(10) {
        let district = format!("district:h{d:02}");
        office(
            &mut text,
            &district,
            "district",
            PROVINCE,
            &format!("Ủy ban nhân dân huyện {d}"),
            &format!("000.00.{:02}.H49", 40 + d),
        );
        for c in 0..10.min(peers - d * 10) {
            office(
                &mut text,
                &peer_office(d * 10 + c),
                "commune",
                &district,
                &format!("Ủy ban nhân dân xã {d}-{c}"),
                &format!("000.{:02}.{:02}.H49", c + 1, 40 + d),
            );
        }
    }
    office(
        &mut text,
        "district:moi",
        "district",
        PROVINCE,
        "Ủy ban nhân dân huyện Mới",
        "000.00.39.H49",
    );
    for (c, id) in NEW_COMMUNES.iter().enumerate() {
        office(
            &mut text,
            id,
            "commune",
            "district:moi",
            &format!("Ủy ban nhân dân xã Mới {c}"),
            &format!("000.{:02}.39.H49", c + 1),
        );
    }
    Ok(text)
}

// ── The dossiers ────────────────────────────────────────────────────────────

/// Which store is built: its size and how often the two new communes
/// receive a dossier (every `a_every`th and every `b_every`th, offset 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shape {
    pub(crate) n: usize,
    pub(crate) a_every: usize,
    pub(crate) b_every: usize,
    pub(crate) peers: usize,
}

impl Shape {
    /// The province: 1% and 0.1% for the new communes, the rest spread over the peers.
    pub(crate) fn province(n: usize, peers: usize) -> Shape {
        Shape {
            n,
            a_every: 100,
            b_every: 1000,
            peers,
        }
    }

    /// A province a tenth the size whose new communes have the same number
    /// of dossiers as the big one's.
    pub(crate) fn compare(self) -> Shape {
        Shape {
            n: self.n / 10,
            a_every: self.a_every / 10,
            b_every: self.b_every / 10,
            peers: self.peers,
        }
    }

    fn origin(&self, i: usize) -> String {
        if i.is_multiple_of(self.a_every) {
            NEW_COMMUNES[0].into()
        } else if i % self.b_every == 1 {
            NEW_COMMUNES[1].into()
        } else {
            peer_office((splitmix(i as u64 ^ SEED) % self.peers as u64) as usize)
        }
    }

    /// Dossiers of new commune `c` (0: ~1%, 1: ~0.1%).
    pub(crate) fn new_commune_dossiers(&self, c: usize) -> usize {
        match c {
            0 => self.n.div_ceil(self.a_every),
            _ => (self.n + self.b_every - 2) / self.b_every,
        }
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

struct Generated {
    key: DocKey,
    doc: Automerge,
    snapshot: Vec<u8>,
    dossier: Dossier,
    state: DossierState,
}

/// Dossier `i`: a land-use certificate received in March 2026 at its
/// commune and taken as far as `i % 10` says, from received to returned
/// (as the store bench's province).
fn generate(node: &Node, shape: &Shape, i: usize) -> Result<Generated> {
    let origin: OfficeId = shape.origin(i).parse()?;
    let procedure = node
        .catalogue
        .get(PROCEDURE)
        .context("procedure 1.004227 missing from the catalogue")?;
    let route = resolve_route(&node.network.offices, procedure, &origin)?;
    let office = node
        .network
        .offices
        .get(&origin)
        .context("origin not in the network")?;
    let day = 2 + (i % 20) as u32;
    let received = local(3, day, 7) + chrono::Duration::minutes((i / 20 % 400) as i64);
    let code = DossierCode::new(
        &office.agency_code,
        node.calendar.local_date(received),
        (i / 20 % 9999 + 1) as u32,
    )?;
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
    key[8..].copy_from_slice(b"province");
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
            catalogue_version: node.catalogue.version.clone(),
            processing_days: Some(30),
            same_day_cutoff: None,
            fee_vnd: procedure.fee_vnd,
        },
        applicant: Applicant {
            name: format!("Nguyễn Văn {i}"),
            id_number: format!("049{i:09}"),
            address: format!("Thôn {}, {}", i % 12 + 1, office.name),
            phone: format!("0905{:06}", i % 1_000_000),
            ..Applicant::default()
        },
        route: route.iter().map(RouteStep::from).collect(),
        documents: procedure
            .components
            .iter()
            .map(|c| schema::Component {
                name: c.name.clone(),
                copies: u64::from(c.copies),
                attachments: Vec::new(),
            })
            .collect(),
    };
    let mut k = 0;
    let mut event = |office: &OfficeId, action: Action| {
        k += 1;
        Event {
            id: EventId(format!("{i:x}-{k}")),
            at: received + chrono::Duration::hours(2 * k),
            office: office.clone(),
            officer: "Cán bộ".into(),
            action,
        }
    };
    let mut events = vec![event(&origin, Action::Received)];
    let processor = fold::deciding_office(&facts.route)
        .cloned()
        .unwrap_or_else(|| origin.clone());
    let stage = i % 10;
    if stage >= 1 {
        events.push(event(
            &origin,
            Action::Forwarded {
                to: processor.clone(),
                task: "Xử lý hồ sơ".into(),
                days: 8,
            },
        ));
    }
    if stage >= 3 {
        events.push(event(&processor, Action::Accepted));
        events.push(event(
            &processor,
            Action::Appraised {
                outcome: AppraisalOutcome::Ok,
                note: "Hồ sơ hợp lệ".into(),
            },
        ));
    }
    if stage >= 5 {
        events.push(event(
            &processor,
            Action::Approved {
                note: String::new(),
            },
        ));
        events.push(event(
            &processor,
            Action::ResultIssued {
                result: format!("Giấy chứng nhận số CS{i:07}"),
                attachment: None,
                return_office: origin.clone(),
            },
        ));
    }
    if stage >= 7 {
        events.push(event(
            &origin,
            Action::Returned {
                channel: Channel::Direct,
            },
        ));
    }
    let mut doc = Automerge::new().with_actor(node.actor());
    let mut tx = doc.transaction();
    schema::create(&mut tx, &facts, &events[0])?;
    tx.commit();
    for e in &events[1..] {
        let mut tx = doc.transaction();
        schema::append_event(&mut tx, e)?;
        tx.commit();
    }
    let dossier = schema::read(&doc)?;
    let state = fold::fold(&dossier, &node.fold_context(now()));
    if !state.conflicts.is_empty() {
        bail!("generated dossier {i} has conflicts: {:?}", state.conflicts);
    }
    let snapshot = lienthong::store::snapshot::encode(&doc);
    Ok(Generated {
        key,
        doc,
        snapshot,
        dossier,
        state,
    })
}

/// A province data directory holding `shape.n` dossiers: one generating
/// thread per core, one writer, 1,000 dossiers a transaction, each stored
/// and indexed as a sync batch stores it (`save_document_with` +
/// `index_dossier`: index, search and scope rows).
fn build_province(dir: &Path, network: &str, identity: NodeIdentity, shape: Shape) -> Result<()> {
    const BATCH: usize = 1000;
    let office: OfficeId = PROVINCE.parse()?;
    drop(Node::init_with_identity(
        dir,
        &office,
        InitSources {
            network: (network, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
        identity,
    )?);
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let (sender, receiver) = mpsc::sync_channel::<Result<Vec<Generated>>>(workers * 2);
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        for w in 0..workers {
            let sender = sender.clone();
            scope.spawn(move || {
                let node = match Node::open(dir) {
                    Ok(node) => node,
                    Err(e) => return drop(sender.send(Err(e.into()))),
                };
                for batch in (w..shape.n.div_ceil(BATCH)).step_by(workers) {
                    let generated = (batch * BATCH..((batch + 1) * BATCH).min(shape.n))
                        .map(|i| generate(&node, &shape, i))
                        .collect();
                    if sender.send(generated).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let mut node = Node::open(dir)?;
        let Node { store, network, .. } = &mut node;
        let mut stored = 0usize;
        for batch in receiver {
            let batch = batch?;
            store.write(|w| -> Result<(), lienthong::store::StoreError> {
                for g in &batch {
                    let seq = w.save_document_with(
                        &g.key,
                        DocKind::Dossier,
                        &g.doc,
                        &[],
                        Some(&g.snapshot),
                    )?;
                    officer::index_dossier(w, &g.key, seq, &g.dossier, &g.state, &network.offices)?;
                }
                Ok(())
            })?;
            stored += batch.len();
            if stored % 50_000 < BATCH {
                eprintln!(
                    "  {stored} of {} dossiers stored ({:.0} s)",
                    shape.n,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        store
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    })
}

// ── The cache ───────────────────────────────────────────────────────────────

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PeerEntry {
    pub(crate) id: String,
    pub(crate) office: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    version: u32,
    seed: u64,
    pub(crate) shape: Shape,
    /// Seconds the build of each store took.
    pub(crate) build_seconds: f64,
    pub(crate) compare_build_seconds: f64,
    /// The peers' stores hold their scope (set after the first sync).
    pub(crate) peers_synced: bool,
}

pub(crate) struct Cache {
    pub(crate) dir: PathBuf,
    pub(crate) manifest: Manifest,
}

impl Cache {
    pub(crate) fn province(&self) -> PathBuf {
        self.dir.join("province")
    }
    pub(crate) fn compare(&self) -> PathBuf {
        self.dir.join("compare")
    }
    pub(crate) fn peer_stores(&self) -> PathBuf {
        self.dir.join("peers")
    }
    pub(crate) fn save(&self) -> Result<()> {
        std::fs::write(
            self.dir.join("manifest.json"),
            serde_json::to_string_pretty(&self.manifest)?,
        )?;
        Ok(())
    }
}

/// Dossiers in a province data directory's index.
pub(crate) fn indexed(dir: &Path) -> Result<u64> {
    let conn = rusqlite::Connection::open(DataDir::new(dir).store_file())?;
    let n: i64 = conn.query_row("SELECT count(*) FROM dossiers", [], |r| r.get(0))?;
    Ok(n as u64)
}

/// Dossiers in `office`'s scope at the province in `dir`.
pub(crate) fn scope_size(dir: &Path, office: &str) -> Result<u64> {
    let conn = rusqlite::Connection::open(DataDir::new(dir).store_file())?;
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM doc_scope WHERE node = ?1",
        [office],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// The cache for `shape`: reused when its manifest matches and its stores
/// hold what it says, built (from scratch) otherwise.
pub(crate) fn open_or_build(dir: &Path, shape: Shape) -> Result<Cache> {
    if let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) {
        let manifest: Manifest = serde_json::from_str(&text).context("manifest.json")?;
        let cache = Cache {
            dir: dir.to_path_buf(),
            manifest,
        };
        if cache.manifest.version == CACHE_VERSION
            && cache.manifest.seed == SEED
            && cache.manifest.shape == shape
            && indexed(&cache.province()).ok() == Some(shape.n as u64)
            && indexed(&cache.compare()).ok() == Some(shape.compare().n as u64)
        {
            eprintln!(
                "reusing the cache in {} ({} dossiers)",
                dir.display(),
                shape.n
            );
            return Ok(cache);
        }
        eprintln!(
            "the cache in {} is not what is asked for: rebuilding it",
            dir.display()
        );
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("ids"))?;
    std::fs::create_dir_all(dir.join("peers"))?;
    let network = network_text(shape.peers)?;
    std::fs::write(dir.join("network.toml"), &network)?;
    let province = NodeIdentity::generate(PROVINCE)?;
    province.save(&dir.join("ids").join("province"))?;
    let mut peers = Vec::new();
    let offices = (0..shape.peers)
        .map(peer_office)
        .chain(NEW_COMMUNES.iter().map(|s| s.to_string()));
    for (k, office) in offices.enumerate() {
        let identity = NodeIdentity::generate(&office)?;
        identity.save(&dir.join("ids").join(k.to_string()))?;
        peers.push(PeerEntry {
            id: identity.node_id().to_string(),
            office,
        });
    }
    std::fs::write(
        dir.join("peers.json"),
        serde_json::to_string_pretty(&peers)?,
    )?;
    eprintln!("building the province: {} dossiers…", shape.n);
    let started = Instant::now();
    build_province(
        &dir.join("province"),
        &network,
        NodeIdentity::load(&dir.join("ids").join("province"))?,
        shape,
    )?;
    let build_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "building the comparison province: {} dossiers…",
        shape.compare().n
    );
    let started = Instant::now();
    build_province(
        &dir.join("compare"),
        &network,
        NodeIdentity::load(&dir.join("ids").join("province"))?,
        shape.compare(),
    )?;
    let cache = Cache {
        dir: dir.to_path_buf(),
        manifest: Manifest {
            version: CACHE_VERSION,
            seed: SEED,
            shape,
            build_seconds,
            compare_build_seconds: started.elapsed().as_secs_f64(),
            peers_synced: false,
        },
    };
    cache.save()?;
    Ok(cache)
}

pub(crate) fn read_peers(cache: &Path) -> Result<Vec<PeerEntry>> {
    let text = std::fs::read_to_string(cache.join("peers.json")).context("peers.json")?;
    Ok(serde_json::from_str(&text)?)
}

pub(crate) fn province_id(cache: &Path) -> Result<NodeId> {
    Ok(NodeIdentity::load(&cache.join("ids").join("province"))?.node_id())
}
