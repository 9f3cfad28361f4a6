//! `attach` and `get-attachment`: scanned components and signed results.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use lienthong_shared::dossier::attachment::parse_hash;

use super::args::OfficerArgs;
use super::render;
use crate::node::Node;
use crate::officer::{self, NewAttachment};

#[derive(Debug, Args)]
pub struct AttachArgs {
    #[command(flatten)]
    pub common: OfficerArgs,
    /// The file (a scan, a signed result…); streamed, any size.
    #[arg(long, value_name = "PATH")]
    pub file: PathBuf,
    /// The dossier component it belongs to.
    #[arg(long, default_value = "Tài liệu đính kèm")]
    pub component: String,
    /// Name shown for it (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Media type (default: from the extension).
    #[arg(long)]
    pub media_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetAttachmentArgs {
    #[command(flatten)]
    pub data: super::args::DataArgs,
    /// The dossier: code, id or unique id prefix.
    #[arg(value_name = "DOSSIER")]
    pub dossier: String,
    /// The attachment's hash (or a unique prefix); default: the only attachment.
    #[arg(long)]
    pub hash: Option<String>,
    /// Where to write it. Must not exist, unless `--force`.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace `--out` if it exists (atomically: the old file stays whole
    /// until the new one is complete and verified).
    #[arg(long)]
    pub force: bool,
}

/// The first characters of a hash as a peer wrote it, for messages: never
/// sliced by bytes (a peer's text may be short, or not ASCII).
pub fn short_hash(hash: &str) -> String {
    hash.chars().take(12).collect()
}

pub fn attach(args: &AttachArgs) -> Result<()> {
    let mut node = Node::open(&args.common.data.data)?;
    let at = args.common.who.time(node.calendar.timezone())?;
    let (recorded, attachment) = officer::attach(
        &mut node,
        &args.common.dossier,
        args.common.who.acting_as.as_ref(),
        &args.common.who.officer,
        at,
        &NewAttachment {
            file: args.file.clone(),
            component: args.component.clone(),
            name: args.name.clone(),
            media_type: args.media_type.clone(),
        },
    )?;
    if args.common.who.json {
        return render::print_json(&attachment);
    }
    println!(
        "{}: attached {} ({} bytes, {}) to \"{}\"",
        recorded.code, attachment.name, attachment.size, attachment.media_type, args.component
    );
    println!("  sha256 {}", attachment.hash);
    Ok(())
}

pub fn get(args: &GetAttachmentArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let row = officer::resolve(&mut node, &args.dossier)?;
    let (_, dossier) = officer::load(&mut node, &row.key)?;
    let all = officer::attachments_of(&dossier);
    let matching: Vec<_> = match &args.hash {
        Some(prefix) => all
            .iter()
            .filter(|a| a.hash.starts_with(&prefix.to_ascii_lowercase()))
            .collect(),
        None => all.iter().collect(),
    };
    let attachment = match matching.as_slice() {
        [one] => *one,
        [] if all.is_empty() => bail!("{} has no attachments", row.code),
        [] => bail!(
            "no attachment of {} matches {}",
            row.code,
            args.hash.as_deref().unwrap_or("")
        ),
        many => bail!(
            "{} has several attachments; choose one with --hash: {}",
            row.code,
            many.iter()
                .map(|a| format!("{} {}", short_hash(&a.hash), a.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let hash = parse_hash(&attachment.hash).with_context(|| {
        format!(
            "the reference to {} has a malformed hash ({:?}: not 64 hex digits); the dossier came that way from a peer",
            attachment.name,
            short_hash(&attachment.hash)
        )
    })?;
    let blob = node.store.read(|r| r.blob(&hash))?;
    match blob {
        Some(b) if b.complete => {}
        Some(b) => bail!(
            "{} is still arriving on this node: {} of {} bytes so far (lienthong status shows transfers)",
            attachment.name,
            b.stored_bytes,
            b.size
        ),
        None => bail!(
            "{} has not reached this node yet ({} bytes); it will come with the next sync with a node that holds it",
            attachment.name,
            attachment.size
        ),
    }
    let written = write_out(&args.out, args.force, |file| {
        Ok(node.store.read(|r| r.copy_blob(&hash, file))?)
    })?;
    println!(
        "wrote {} ({written} bytes, sha256 verified) to {}",
        attachment.name,
        args.out.display()
    );
    Ok(())
}

/// Create `path` (never overwriting: `create_new`), or with `force` a new
/// file in the same directory renamed over it once complete; `fill` writes
/// the content. Whatever fails, an existing file is left as it was and a
/// half-written one is removed.
fn write_out(
    path: &Path,
    force: bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<u64>,
) -> Result<u64> {
    if !force {
        let file = create_new(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
                "{} already exists; choose another --out, or add --force to replace it",
                path.display()
            ),
            _ => anyhow::anyhow!("cannot create {}: {e}", path.display()),
        })?;
        return fill_and_sync(file, path, fill);
    }
    if path.is_dir() {
        bail!("{} is a directory; --out names a file", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} does not name a file", path.display()))?
        .to_string_lossy()
        .into_owned();
    // A fresh name each attempt, created with `create_new`: never an
    // existing file, so nothing is truncated by mistake.
    let (tmp, file) = (0..100)
        .find_map(|_| {
            let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
            match create_new(&tmp) {
                Ok(file) => Some(Ok((tmp, file))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                Err(e) => Some(Err(anyhow::anyhow!(
                    "cannot create a temporary file in {}: {e}",
                    dir.display()
                ))),
            }
        })
        .unwrap_or_else(|| bail!("no free temporary name in {}", dir.display()))?;
    let written = fill_and_sync(file, &tmp, fill)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        bail!("cannot replace {}: {e}", path.display());
    }
    if let Ok(dir) = File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(written)
}

fn create_new(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Fill a file this command created, flush and fsync it; remove it on failure.
fn fill_and_sync(
    file: File,
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<u64>,
) -> Result<u64> {
    let mut writer = BufWriter::new(file);
    let result = fill(&mut writer).and_then(|written| {
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(written)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
