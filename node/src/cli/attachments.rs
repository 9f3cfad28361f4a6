//! `attach` and `get-attachment`: scanned components and signed results.

use std::path::PathBuf;

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
    /// Where to write it (must not exist).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
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
                .map(|a| format!("{} {}", &a.hash[..12], a.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let hash =
        parse_hash(&attachment.hash).context("the attachment reference has a malformed hash")?;
    if args.out.exists() {
        bail!(
            "{} already exists; choose another --out",
            args.out.display()
        );
    }
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
    let tmp = args.out.with_extension("part");
    let written = {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?,
        );
        let written = node.store.read(|r| r.copy_blob(&hash, &mut file));
        let written = match written {
            Ok(n) => n,
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        };
        use std::io::Write;
        file.flush()?;
        written
    };
    std::fs::rename(&tmp, &args.out)?;
    println!(
        "wrote {} ({written} bytes, sha256 verified) to {}",
        attachment.name,
        args.out.display()
    );
    Ok(())
}
