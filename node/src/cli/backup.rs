//! `lienthong backup` and `lienthong restore`.
//!
//! A backup is a directory (0700):
//!
//! ```text
//! OUT/backup.json     what is in it: office, node id, time, schema, every file's size and SHA-256
//! OUT/store.db        the store as of one commit (VACUUM INTO), 0600
//! OUT/node.toml       the node configuration (network and catalogue renamed to the files below)
//! OUT/network.toml    office tree, calendar, rule sets
//! OUT/catalogue.toml  procedure catalogue
//! OUT/calendar/       the operator's holiday calendar, if the node has one
//! OUT/identity/       SECRET: the node's private key (0600) and certificate
//! ```
//!
//! Restoring checks every file against `backup.json` before writing
//! anything, refuses a directory that already holds something, and fences
//! the node's dossier codes until it has caught up with its parent
//! (`store/codes.rs`, `docs/operations.md`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{DataDir, NodeConfig};
use crate::node::Node;
use crate::store::Store;
use crate::store::codes::CodeFence;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The node's data directory (the daemon may keep running).
    #[arg(long, value_name = "DIR", env = "LIENTHONG_DATA")]
    pub data: PathBuf,
    /// The backup directory to create (must not exist). It holds the node's
    /// private key: keep it as you would the node itself.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup directory made by `lienthong backup`.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The data directory to create (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

/// `OUT/backup.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub office: String,
    pub node_id: String,
    pub created_at: DateTime<Utc>,
    pub schema_version: i64,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the backup directory, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// The node's private key: copy with care.
    #[serde(default)]
    pub secret: bool,
}

const FORMAT: u32 = 1;
const MANIFEST: &str = "backup.json";
const NETWORK: &str = "network.toml";
const CATALOGUE: &str = "catalogue.toml";

pub fn backup(args: &BackupArgs) -> Result<()> {
    let manifest = make_backup(&args.data, &args.out, Utc::now())?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "backed up {} ({}) to {}: {} files, {bytes} bytes",
        manifest.office,
        manifest.node_id,
        args.out.display(),
        manifest.files.len()
    );
    println!(
        "SECRET: {} holds the node's private key (identity/node.key). Keep the backup where only the node's operators can read it.",
        args.out.display()
    );
    Ok(())
}

pub fn restore(args: &RestoreArgs) -> Result<()> {
    let manifest = restore_backup(&args.from, &args.data, Utc::now())?;
    println!(
        "restored {} ({}) as of {} into {}",
        manifest.office,
        manifest.node_id,
        manifest.created_at.to_rfc3339(),
        args.data.display()
    );
    println!(
        "Start the node (`lienthong run --data {}`): it catches up from its parent. Until it is in sync, dossier codes for today and earlier come from the recovery range (…-9001 upward), so none repeats a code issued after the backup.",
        args.data.display()
    );
    Ok(())
}

/// Write a backup of the node in `data` into the new directory `out`.
pub fn make_backup(data: &Path, out: &Path, now: DateTime<Utc>) -> Result<Manifest> {
    let dir = DataDir::new(data);
    if !dir.config_file().exists() {
        bail!(
            "{} is not a Liên Thông data directory (no node.toml); pass the --data of the node to back up",
            data.display()
        );
    }
    if out.exists() {
        bail!(
            "{} already exists; give --out a new path (a backup never overwrites anything)",
            out.display()
        );
    }
    let mut config = NodeConfig::load(&dir.config_file())?;
    let node_id = lienthong_sync::transport::identity::NodeIdentity::load(&dir.identity_dir())?
        .node_id()
        .to_string();
    private_dir(out)?;
    let result = (|| -> Result<Manifest> {
        let store = Store::open(&dir.store_file())?;
        let schema_version = store.schema_version()?;
        store
            .backup_into(&out.join("store.db"))
            .context("copying the store")?;
        drop(store);
        copy_file(&dir.resolve(&config.network), &out.join(NETWORK), 0o600)?;
        copy_file(&dir.resolve(&config.catalogue), &out.join(CATALOGUE), 0o600)?;
        let calendar = data.join("calendar");
        if calendar.is_dir() {
            copy_dir(&calendar, &out.join("calendar"))?;
        }
        copy_dir(&dir.identity_dir(), &out.join("identity"))?;
        config.network = PathBuf::from(NETWORK);
        config.catalogue = PathBuf::from(CATALOGUE);
        config.save(&out.join("node.toml"))?;
        let manifest = Manifest {
            format: FORMAT,
            office: config.office.to_string(),
            node_id: node_id.clone(),
            created_at: now,
            schema_version,
            files: list_files(out)?,
        };
        let text = serde_json::to_string_pretty(&manifest)?;
        write_private(&out.join(MANIFEST), text.as_bytes())?;
        Ok(manifest)
    })();
    if result.is_err() {
        // Leave no half backup that looks whole.
        let _ = std::fs::remove_dir_all(out);
    }
    result
}

/// Restore the backup in `from` into the new data directory `data`, and
/// fence its dossier codes through the local day of `now`.
pub fn restore_backup(from: &Path, data: &Path, now: DateTime<Utc>) -> Result<Manifest> {
    let manifest = read_manifest(from)?;
    verify(from, &manifest)?;
    if data.exists()
        && std::fs::read_dir(data)
            .with_context(|| format!("cannot read {}", data.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} already exists and is not empty; restore into a new directory (nothing was changed there)",
            data.display()
        );
    }
    private_dir(data)?;
    let result = (|| -> Result<()> {
        for file in &manifest.files {
            let target = data.join(&file.path);
            if let Some(parent) = target.parent() {
                private_dir(parent)?;
            }
            let mode = if file.path.ends_with(".crt") {
                0o644
            } else {
                0o600
            };
            copy_file(&from.join(&file.path), &target, mode)?;
        }
        let mut node = Node::open(data).context("opening the restored node")?;
        node.store.integrity_check()?;
        let through = node.calendar.local_date(now);
        let reason = format!(
            "restored from a backup of {}",
            manifest.created_at.to_rfc3339()
        );
        node.store
            .write(|w| w.set_code_fence(&CodeFence { through, reason }))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(data);
        return Err(e.context(format!(
            "restoring {} failed; {} was removed again",
            from.display(),
            data.display()
        )));
    }
    Ok(manifest)
}

fn read_manifest(from: &Path) -> Result<Manifest> {
    let path = from.join(MANIFEST);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a Liên Thông backup (cannot read {MANIFEST}); pass the directory `lienthong backup --out` made",
            from.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is corrupt; the backup cannot be trusted, use another one",
            path.display()
        )
    })?;
    if manifest.format != FORMAT {
        bail!(
            "{} is backup format {}; this build reads format {FORMAT}: restore with the version that made it",
            from.display(),
            manifest.format
        );
    }
    Ok(manifest)
}

/// Every listed file present with its size and hash, nothing outside the
/// backup named, and the parts a node needs all there.
fn verify(from: &Path, manifest: &Manifest) -> Result<()> {
    for required in [
        "store.db",
        "node.toml",
        NETWORK,
        CATALOGUE,
        "identity/node.key",
    ] {
        if !manifest.files.iter().any(|f| f.path == required) {
            bail!(
                "the backup in {} lacks {required}; it is incomplete, use another one",
                from.display()
            );
        }
    }
    for file in &manifest.files {
        let unsafe_path = Path::new(&file.path)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)));
        if unsafe_path {
            bail!(
                "the backup names `{}`, a path outside itself; it is corrupt or forged, use another one",
                file.path
            );
        }
        let path = from.join(&file.path);
        let (bytes, sha256) = hash_file(&path).with_context(|| {
            format!(
                "the backup in {} is missing {}; use another one",
                from.display(),
                file.path
            )
        })?;
        if bytes != file.bytes || sha256 != file.sha256 {
            bail!(
                "{} does not match the backup's manifest ({bytes} bytes, sha256 {sha256}; expected {} bytes, {}): the backup is corrupt, use another one",
                path.display(),
                file.bytes,
                file.sha256
            );
        }
    }
    Ok(())
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((bytes, HEXLOWER.encode(&hasher.finalize())))
}

fn list_files(root: &Path) -> Result<Vec<ManifestFile>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<ManifestFile>) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
                continue;
            }
            let relative = path
                .strip_prefix(root)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if relative == MANIFEST {
                continue;
            }
            let (bytes, sha256) = hash_file(&path)?;
            out.push(ManifestFile {
                secret: relative.starts_with("identity/") && relative.ends_with(".key"),
                path: relative,
                bytes,
                sha256,
            });
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, root, &mut files)?;
    Ok(files)
}

fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, 0o600)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn copy_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_file(to, &bytes, mode)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    private_dir(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = entry.file_name();
            let mode = if Path::new(&name).extension().is_some_and(|e| e == "crt") {
                0o644
            } else {
                0o600
            };
            copy_file(&entry.path(), &to.join(&name), mode)?;
        }
    }
    Ok(())
}
