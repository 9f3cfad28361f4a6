//! The world every attack starts from: a district and one of its communes,
//! set up with the CLI (`lienthong init`, `lienthong peer add`) and synced
//! once honestly by real daemons, so the district holds a dossier from the
//! commune with a 1 MiB attachment — something for an attacker to lie
//! about. That honest sync runs once per test binary into a template;
//! each test gets its own copy of both data directories.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use automerge::sync::{Message, MessageFlags, MessageVersion};
use automerge::{Automerge, ChangeHash};
use lienthong::config::{DataDir, PeerRole};
use lienthong::local_network::config_of;
use lienthong::node::Node;
use lienthong::officer::{self, NewAttachment};
use lienthong::store::documents::DocKey;
use lienthong_shared::dossier::AttachmentRef;
use lienthong_shared::dossier::schema;
use lienthong_sync::transport::identity::{NodeId, NodeIdentity};
use rand::{RngCore, SeedableRng};
use rusqlite::{Connection, OpenFlags};

use super::victim::Victim;
use crate::chaos::desk::{Ledger, new_dossier};
use crate::chaos::process::{NodeProcess, cli};
use crate::chaos::{DIEN_BAN, DIEN_PHUONG, LAND, office, story, wait_for};

/// The victim's office.
pub const DISTRICT: &str = DIEN_BAN;
/// The office whose key the attacker holds.
pub const COMMUNE: &str = DIEN_PHUONG;
/// The seeded attachment: 16 chunks of 64 KiB.
pub const ATTACHMENT_SIZE: usize = 1 << 20;

const WAIT: Duration = Duration::from_secs(60);

/// What the honest sync left behind.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The dossier the commune sent (a document both nodes hold).
    pub dossier: DocKey,
    /// Its changes (as both nodes hold them).
    pub changes: Vec<ChangeHash>,
    /// The attachment's content hash.
    pub blob: [u8; 32],
    pub blob_chunks: u32,
    /// The commune's feed head: the district's checkpoint of it.
    pub commune_feed: u64,
}

struct Template {
    root: PathBuf,
    seed: Seed,
}

/// One test's copy of the world.
pub struct World {
    _root: tempfile::TempDir,
    pub district: PathBuf,
    pub commune: PathBuf,
    pub seed: Seed,
    /// The commune's identity: the key the attacker holds.
    pub commune_identity: NodeIdentity,
    pub district_id: NodeId,
    honest_receipts: u32,
}

impl World {
    /// A fresh copy of the template, in its own temporary directory.
    pub fn fresh() -> World {
        let template = template();
        let root = tempfile::tempdir().expect("a temporary directory");
        let district = root.path().join("district");
        let commune = root.path().join("commune");
        copy_dir(&template.root.join("district"), &district);
        copy_dir(&template.root.join("commune"), &commune);
        let commune_identity = NodeIdentity::load(&DataDir::new(&commune).identity_dir())
            .expect("the commune's identity");
        let district_id = NodeIdentity::load(&DataDir::new(&district).identity_dir())
            .expect("the district's identity")
            .node_id();
        World {
            _root: root,
            district,
            commune,
            seed: template.seed.clone(),
            commune_identity,
            district_id,
            honest_receipts: 0,
        }
    }

    pub fn log(&self) -> PathBuf {
        self._root.path().join("district.log")
    }

    /// A scratch copy of the commune's data directory, for building
    /// documents the attacker sends (never run as a daemon).
    pub fn scratch_commune(&self, name: &str) -> PathBuf {
        let dir = self._root.path().join(name);
        copy_dir(&self.commune, &dir);
        dir
    }

    /// The honest commune receives a dossier, forwards it to the district
    /// and syncs with `victim`: Ok once the district stores it.
    pub async fn honest_sync(&mut self, victim: &Victim) -> Result<(), String> {
        self.honest_receipts += 1;
        let before = victim.dossiers_from(COMMUNE);
        let commune = office(COMMUNE);
        let mut ledger = Ledger::default();
        let at = story(4, 9, self.honest_receipts);
        let code = ledger
            .receive(
                &self.commune,
                &commune,
                at,
                &new_dossier(LAND, "Người nộp trung thực"),
            )
            .code;
        ledger.forward(&self.commune, &code, story(4, 10, self.honest_receipts));
        set_parent_address(&self.commune, &victim.process.addr.to_string());
        let log = self._root.path().join("commune.log");
        let mut daemon =
            NodeProcess::spawn(&self.commune, "127.0.0.1:0".parse().expect("addr"), &log).await;
        let result = wait_for(
            "the honest commune's dossier at the district",
            Duration::from_secs(30),
            Duration::from_millis(50),
            || {
                let now = victim.dossiers_from(COMMUNE);
                if now > before {
                    Ok(())
                } else {
                    Err(format!("{now} dossiers from the commune, {before} before"))
                }
            },
        )
        .await;
        daemon.terminate();
        result.map_err(|e| format!("{e}\ncommune log:\n{}", daemon.log()))
    }

    /// `count` new dossiers received at the commune and forwarded to the
    /// district — valid and in the district's scope — built in a scratch
    /// copy of the commune (the real one never stores them): their ids and
    /// whole documents.
    pub fn valid_dossiers(&self, scratch: &str, count: u32) -> Vec<(DocKey, Automerge)> {
        let dir = self.scratch_commune(scratch);
        let commune = office(COMMUNE);
        let mut ledger = Ledger::default();
        let mut out = Vec::new();
        for i in 0..count {
            let recorded = ledger.receive(
                &dir,
                &commune,
                story(5, 8 + i / 60, i % 60),
                &new_dossier(LAND, &format!("Người nộp {i}")),
            );
            ledger.forward(&dir, &recorded.code, story(5, 16, 0));
            out.push((recorded.key, load(&dir, &recorded.key)));
        }
        out
    }

    /// A valid dossier in the district's scope whose attachment reference
    /// claims `size` bytes (its hashes are those of an empty file).
    pub fn dossier_with_attachment_size(&self, size: u64) -> (DocKey, Automerge) {
        let dir = self.scratch_commune("forger");
        let (key, mut doc) = self
            .valid_dossiers("forger-base", 1)
            .pop()
            .expect("one dossier");
        let node = Node::open(&dir).expect("open the scratch commune");
        doc.set_actor(node.actor());
        let empty = lienthong_shared::dossier::attachment::sha256(&[]);
        let reference = AttachmentRef {
            hash: lienthong_shared::dossier::attachment::hex(&empty),
            size,
            media_type: "application/pdf".into(),
            name: "to-khai.pdf".into(),
            chunks_root: lienthong_shared::dossier::attachment::hex(
                &lienthong_shared::dossier::attachment::chunk_root(&[empty]),
            ),
        };
        let mut tx = doc.transaction();
        schema::add_attachment(&mut tx, "Đơn đăng ký", &reference).expect("add the reference");
        tx.commit();
        (key, doc)
    }
}

impl World {
    /// The attestations the commune's key makes for every change of `doc`
    /// (issue 8): what the compromised commune sends before its offer, so
    /// that the check a test aims at — not the missing signature — is what
    /// refuses it.
    pub fn commune_attest(&self, key: &DocKey, doc: &Automerge) -> lienthong_sync::protocol::Frame {
        let signer = lienthong_sync::protocol::attest::Signer::new(
            self.commune_identity
                .attestation_key_pair()
                .expect("the commune's key pair"),
        );
        let id = lienthong_sync::DocumentId(*key);
        lienthong_sync::protocol::Frame::Attest {
            doc: id,
            attestations: doc
                .get_changes_meta(&[])
                .iter()
                .map(|m| signer.sign(&id, &m.hash.0))
                .collect(),
        }
    }
}

/// The message an honest node opens an exchange with when the peer has
/// none of the document: the whole document, uncompressed.
pub fn whole_document_message(doc: &Automerge) -> Vec<u8> {
    let mut heads = doc.get_heads();
    heads.sort();
    let mut flags = MessageFlags::new();
    flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
    flags.set(MessageFlags::READ_ONLY);
    Message {
        heads,
        need: Vec::new(),
        have: Vec::new(),
        changes: doc.save_nocompress().into(),
        flags: Some(flags),
        version: MessageVersion::V2,
    }
    .encode()
}

fn load(dir: &Path, key: &DocKey) -> Automerge {
    let mut node = Node::open(dir).expect("open the scratch commune");
    node.store
        .read(|r| r.load_document(key))
        .expect("read the dossier")
        .expect("the dossier is stored")
        .1
}

fn set_parent_address(dir: &Path, address: &str) {
    let mut config = config_of(dir).expect("the commune's node.toml");
    for peer in &mut config.peers {
        if peer.role == PeerRole::Parent {
            peer.address = Some(address.to_string());
        }
    }
    config
        .save(&dir.join("node.toml"))
        .expect("write node.toml");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    let mode = std::fs::metadata(from).expect("a directory").permissions();
    std::fs::set_permissions(to, mode).expect("set its mode");
    for entry in std::fs::read_dir(from).expect("list a directory").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            // std::fs::copy keeps the mode (node.key stays 0600).
            std::fs::copy(&path, &target).expect("copy a file");
        }
    }
}

fn run_cli(args: &[&str]) -> String {
    let output = cli(args);
    assert!(
        output.status.success(),
        "lienthong {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        // Its own thread and runtime: the caller may be inside another
        // test's runtime.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(build_template())
        })
        .join()
        .expect("building the hostile-peer world")
    })
}

/// Where templates live: one per test process, named by its pid; those of
/// processes that are gone are removed first.
fn template_root() -> PathBuf {
    let base = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("lienthong-hostile-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let root = base.join(format!("lienthong-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create the template directory");
    root
}

async fn build_template() -> Template {
    let root = template_root();
    let (district, commune) = (root.join("district"), root.join("commune"));
    let (d, c) = (district.to_string_lossy(), commune.to_string_lossy());
    for (dir, office) in [(&d, DISTRICT), (&c, COMMUNE)] {
        run_cli(&[
            "init",
            "--data",
            dir,
            "--office",
            office,
            "--network",
            "builtin:quang-nam-3tier",
            "--listen",
            "127.0.0.1:0",
        ]);
    }
    let district_id = run_cli(&["id", "--data", &d]).trim().to_string();
    let commune_id = run_cli(&["id", "--data", &c]).trim().to_string();
    run_cli(&[
        "peer",
        "add",
        "--data",
        &d,
        "--role",
        "child",
        "--office",
        COMMUNE,
        "--node-id",
        &commune_id,
    ]);
    run_cli(&[
        "peer",
        "add",
        "--data",
        &c,
        "--role",
        "parent",
        "--office",
        DISTRICT,
        "--node-id",
        &district_id,
        "--address",
        "127.0.0.1:9",
    ]);

    // A dossier with a scanned form, forwarded to the district.
    let mut ledger = Ledger::default();
    let commune_office = office(COMMUNE);
    let recorded = ledger.receive(
        &commune,
        &commune_office,
        story(3, 9, 0),
        &new_dossier(LAND, "Phạm Thị Lan"),
    );
    let mut scan = vec![0u8; ATTACHMENT_SIZE];
    rand_chacha::ChaCha8Rng::seed_from_u64(7).fill_bytes(&mut scan);
    let scan_path = root.join("don-dang-ky.pdf");
    std::fs::write(&scan_path, &scan).expect("write the scan");
    let (_, attachment) = {
        let mut node = Node::open(&commune).expect("open the commune");
        officer::attach(
            &mut node,
            &recorded.code,
            None,
            "Trần Thị Hoa",
            story(3, 9, 5),
            &NewAttachment {
                file: scan_path,
                component: "Đơn đăng ký".into(),
                name: None,
                media_type: None,
            },
        )
        .expect("attach the scan")
    };
    ledger.forward(&commune, &recorded.code, story(3, 10, 0));

    // The honest sync: real daemons until the district holds the dossier
    // and the verified attachment.
    let log = root.join("template.log");
    let mut district_daemon =
        NodeProcess::spawn(&district, "127.0.0.1:0".parse().expect("addr"), &log).await;
    set_parent_address(&commune, &district_daemon.addr.to_string());
    let mut commune_daemon =
        NodeProcess::spawn(&commune, "127.0.0.1:0".parse().expect("addr"), &log).await;
    let blob = lienthong_shared::dossier::attachment::parse_hash(&attachment.hash)
        .expect("a content hash");
    wait_for(
        "the seeded dossier and its attachment at the district",
        WAIT,
        Duration::from_millis(50),
        || {
            let conn = Connection::open_with_flags(
                district.join("store.db"),
                OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .map_err(|e| e.to_string())?;
            let complete: i64 = conn
                .query_row(
                    "SELECT coalesce(max(complete), 0) FROM blobs WHERE hash = ?1",
                    [&blob[..]],
                    |r| r.get(0),
                )
                .map_err(|e| e.to_string())?;
            (complete == 1)
                .then_some(())
                .ok_or_else(|| "attachment not complete yet".to_string())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", district_daemon.log()));
    commune_daemon.terminate();
    district_daemon.terminate();

    let mut node = Node::open(&commune).expect("open the commune");
    let document = node
        .store
        .read(|r| r.load_document(&recorded.key))
        .expect("read the dossier")
        .expect("the dossier")
        .1;
    let commune_feed = node.store.read(|r| r.last_seq()).expect("the feed head");
    let changes = document.get_changes(&[]).iter().map(|c| c.hash()).collect();
    Template {
        root,
        seed: Seed {
            dossier: recorded.key,
            changes,
            blob,
            blob_chunks: lienthong_shared::dossier::attachment::chunk_count(ATTACHMENT_SIZE as u64),
            commune_feed: commune_feed as u64,
        },
    }
}
