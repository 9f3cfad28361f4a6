//! Attaching a file to a dossier: the blob, its reference and a note, in
//! one transaction.

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold;
use lienthong_shared::dossier::schema;
use lienthong_shared::dossier::{Action, Event};

use super::record::save_dossier;
use super::{
    ActionError, Recorded, Result, check_officer, check_served, key_hex, new_event_id, resolve,
};
use crate::node::Node;

/// Media type from a file name's extension (what scanners produce).
pub fn guess_media_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("tif" | "tiff") => "image/tiff",
        Some("xml") => "application/xml",
        Some("txt") => "text/plain",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// Refuse an attachment larger than peers accept.
fn check_attachment_size(size: u64, limits: &crate::config::Limits) -> Result<()> {
    if size > limits.max_attachment_bytes {
        return Err(ActionError::Invalid(format!(
            "the file is {size} bytes, over the {} bytes peers accept for one attachment ([limits] max_attachment_bytes in node.toml); scan it at a lower resolution or split it; nothing was attached",
            limits.max_attachment_bytes
        )));
    }
    Ok(())
}

/// What to attach.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file: std::path::PathBuf,
    /// The dossier component it belongs to (created if new).
    pub component: String,
    pub name: Option<String>,
    pub media_type: Option<String>,
}

/// Attach a file to a dossier: the blob (streamed in 64 KiB chunks, never
/// whole in memory), its reference in the dossier's components and a note
/// in the timeline — one transaction.
pub fn attach(
    node: &mut Node,
    query: &str,
    office: Option<&OfficeId>,
    officer: &str,
    at: DateTime<Utc>,
    new: &NewAttachment,
) -> Result<(Recorded, lienthong_shared::dossier::AttachmentRef)> {
    check_officer(officer)?;
    node.calendar.is_working_day(node.calendar.local_date(at))?;
    let row = resolve(node, query)?;
    let key = row.key;
    let span = tracing::info_span!("dossier", code = %row.code);
    let _entered = span.enter();
    let office = match office {
        Some(office) => office.clone(),
        None => row
            .holder
            .as_deref()
            .and_then(|h| h.parse::<OfficeId>().ok())
            .filter(|h| node.serves(h))
            .unwrap_or_else(|| node.office().clone()),
    };
    check_served(node, &office)?;
    let file = std::fs::File::open(&new.file)
        .map_err(|e| ActionError::Invalid(format!("cannot read {}: {e}", new.file.display())))?;
    // Peers refuse a dossier whose attachments pass these limits: an
    // attachment they would refuse is refused here, before it is stored.
    let limits = node.config.limits;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    check_attachment_size(size, &limits)?;
    let name = new.name.clone().unwrap_or_else(|| {
        new.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into())
    });
    let media_type = new
        .media_type
        .clone()
        .unwrap_or_else(|| guess_media_type(&new.file).to_string());
    let actor = node.actor();
    let face = node.face.as_str();
    let (store, ctx, tree) = node.split(at);
    store.write(|w| {
        let hashed = w.put_blob(std::io::BufReader::new(file), &media_type)?;
        let attachment = lienthong_shared::dossier::AttachmentRef {
            hash: lienthong_shared::dossier::attachment::hex(&hashed.content),
            size: hashed.size,
            media_type: media_type.clone(),
            name: name.clone(),
            chunks_root: lienthong_shared::dossier::attachment::hex(&hashed.root),
        };
        check_attachment_size(hashed.size, &limits)?;
        let Some((_, mut doc)) = w.reader().load_document(&key)? else {
            return Err(ActionError::UnknownDossier(key_hex(&key)));
        };
        let before: u64 = super::attachments_of(&schema::read(&doc)?)
            .iter()
            .filter(|a| a.hash != attachment.hash)
            .map(|a| a.size)
            .sum();
        if before.saturating_add(hashed.size) > limits.max_dossier_attachment_bytes {
            return Err(ActionError::Invalid(format!(
                "the dossier's attachments would total {} bytes, over the {} bytes peers accept for one dossier ([limits] max_dossier_attachment_bytes in node.toml); nothing was attached",
                before.saturating_add(hashed.size),
                limits.max_dossier_attachment_bytes
            )));
        }
        doc.set_actor(actor.clone());
        let heads = doc.get_heads();
        let event = Event {
            id: new_event_id(),
            at,
            office: office.clone(),
            officer: officer.to_string(),
            action: Action::Note {
                text: format!(
                    "Đính kèm {name} ({} bytes) vào thành phần \"{}\"",
                    hashed.size, new.component
                ),
            },
        };
        let mut tx = doc.transaction();
        schema::add_attachment(&mut tx, &new.component, &attachment)?;
        schema::append_event(&mut tx, &event)?;
        crate::store::documents::commit_now(tx);
        let dossier = schema::read(&doc)?;
        let state = fold::fold(&dossier, &ctx);
        let seq = save_dossier(w, &key, &doc, &heads, &dossier, &state, tree)?;
        w.count_operation("attachment", office.as_str(), face)?;
        tracing::info!(
            size = hashed.size,
            %media_type,
            component = %new.component,
            officer,
            seq,
            "attachment added"
        );
        Ok((
            Recorded {
                key,
                code: dossier.facts.code.clone(),
                event,
                follow_up: Vec::new(),
                state,
                seq,
            },
            attachment,
        ))
    })
}
