//! A dossier's attachments on its page: each with where its bytes are
//! (here, arriving with the progress the store's chunk bookkeeping shows,
//! or not here yet); upload (`POST /dossiers/{code}/attachments?csrf=…`,
//! multipart, streamed to a temporary file in the data directory and never
//! held in memory, refused past `limits.max_attachment_bytes`); download
//! (`GET /dossiers/{code}/attachments/{hash}`, checked against its hash
//! before the first byte is sent, as `lienthong get-attachment` does).

use std::io::{Seek, SeekFrom};

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use lienthong_shared::dossier::ActionKind;
use lienthong_shared::dossier::attachment::parse_hash;
use maud::{Markup, html};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::messages::DossierMsg;
use super::path_of;
use crate::console::auth::Officer;
use crate::console::page::Ui;
use crate::console::{AppState, ConsoleError};
use crate::node::Node;
use crate::service::{self, DossierView, NewAttachment};
use crate::store::StoreError;

/// Where an attachment's bytes are, on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Here,
    Arriving { got: u64, size: u64 },
    Missing,
}

/// The presence of each attachment of the dossier, in [`service::attachments_of`]'s order.
pub fn presence(node: &mut Node, view: &DossierView) -> Result<Vec<Presence>, ConsoleError> {
    let refs = service::attachments_of(&view.dossier);
    node.store
        .read(|r| -> Result<_, StoreError> {
            refs.iter()
                .map(|a| {
                    let Some(hash) = parse_hash(&a.hash) else {
                        return Ok(Presence::Missing);
                    };
                    Ok(match r.blob(&hash)? {
                        Some(b) if b.complete => Presence::Here,
                        Some(b) => Presence::Arriving {
                            got: b.stored_bytes,
                            size: b.size,
                        },
                        None => Presence::Missing,
                    })
                })
                .collect()
        })
        .map_err(ConsoleError::from)
}

/// `1,2 MiB` and the like, for sizes.
pub fn human_bytes(bytes: u64) -> String {
    crate::service::status::human_bytes(bytes)
}

pub fn section(
    ui: &Ui<'_>,
    node: &Node,
    officer: &Officer,
    view: &DossierView,
    presence: &[Presence],
) -> Markup {
    let refs = service::attachments_of(&view.dossier);
    let base = path_of(&view.row.code);
    let limit = human_bytes(node.config.limits.max_attachment_bytes);
    html! {
        section.attachments {
            h2 { (ui.t(DossierMsg::Attachments)) }
            @if refs.is_empty() {
                p { (ui.t(DossierMsg::NoAttachments)) }
            } @else {
                table {
                    tbody {
                        @for (a, p) in refs.iter().zip(presence) {
                            tr {
                                td { (a.name) }
                                td { (human_bytes(a.size)) }
                                td { (a.media_type) }
                                td.presence {
                                    @match p {
                                        Presence::Here => {
                                            (ui.t(DossierMsg::AttHere)) " "
                                            a href={ (base) "/attachments/" (a.hash) } { (ui.s(DossierMsg::AttDownload)) }
                                        }
                                        Presence::Arriving { got, size } => {
                                            @let percent = if *size == 0 { 100 } else { got.saturating_mul(100) / size };
                                            progress max=(size) value=(got) {}
                                            " " (ui.f(DossierMsg::AttArriving, &[("got", &human_bytes(*got)), ("size", &human_bytes(*size)), ("percent", &percent.to_string())]))
                                        }
                                        Presence::Missing => { (ui.t(DossierMsg::AttMissing)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if officer.role().may(ActionKind::Note) {
                details.action {
                    summary { (ui.t(DossierMsg::AttUpload)) }
                    form method="post" enctype="multipart/form-data" action={ (base) "/attachments?csrf=" (officer.csrf()) } {
                        label {
                            (ui.t(DossierMsg::AttComponent)) " "
                            input name="component" list="components" required;
                            datalist id="components" {
                                @for c in &view.dossier.facts.documents { option value=(c.name) {} }
                            }
                        }
                        label { (ui.t(DossierMsg::AttFile)) " " input type="file" name="file" required; }
                        p.hint { (ui.f(DossierMsg::AttLimit, &[("size", &limit)])) }
                        button type="submit" { (ui.s(DossierMsg::AttUpload)) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfQuery {
    #[serde(default)]
    csrf: String,
}

/// The longest text field of the upload form (the component's name).
const MAX_TEXT_FIELD: usize = 1024;

fn upload_failed(detail: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::refused(
        StatusCode::BAD_REQUEST,
        DossierMsg::AttUploadFailed,
        &[("detail", &detail.to_string())],
    )
}

/// `POST /dossiers/{code}/attachments?csrf=…`: the token first (before a
/// byte of the body is read), the role, then the file streamed to a
/// temporary file and attached by the service in one transaction.
pub async fn upload(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(csrf): Query<CsrfQuery>,
    officer: Officer,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ConsoleError> {
    if !crate::service::sessions::csrf_matches(officer.csrf(), &csrf.csrf) {
        return Err(ConsoleError::Csrf);
    }
    let mut multipart = multipart.map_err(upload_failed)?;
    officer.require(ActionKind::Note, "đính kèm tệp / attach a file")?;
    let (dir, limit) = state
        .run(|node| {
            Ok((
                node.dir.root().to_path_buf(),
                node.config.limits.max_attachment_bytes,
            ))
        })
        .await?;
    let mut component = String::new();
    let mut file: Option<(tempfile::NamedTempFile, String, Option<String>, u64)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(upload_failed)? {
        match field.name() {
            Some("component") => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(upload_failed)? {
                    if text.len() + chunk.len() > MAX_TEXT_FIELD {
                        return Err(upload_failed("component name too long"));
                    }
                    text.extend_from_slice(&chunk);
                }
                component = String::from_utf8_lossy(&text).trim().to_string();
            }
            Some("file") if file.is_none() => {
                let name = field
                    .file_name()
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim().to_string())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "attachment".into());
                let media_type = field
                    .content_type()
                    .map(str::to_string)
                    .filter(|t| t != "application/octet-stream");
                let tmp = tempfile::Builder::new()
                    .prefix(".upload-")
                    .tempfile_in(&dir)
                    .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?;
                let mut out = tokio::fs::File::from_std(
                    tmp.reopen()
                        .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?,
                );
                let mut written = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(upload_failed)? {
                    written += chunk.len() as u64;
                    if written > limit {
                        return Err(ConsoleError::refused(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            DossierMsg::AttTooLarge,
                            &[("limit", &human_bytes(limit))],
                        ));
                    }
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?;
                }
                out.flush()
                    .await
                    .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?;
                file = Some((tmp, name, media_type, written));
            }
            // Anything else is drained unread, a chunk at a time.
            _ => while field.chunk().await.map_err(upload_failed)?.is_some() {},
        }
    }
    let Some((tmp, name, media_type, size)) = file.filter(|f| f.3 > 0) else {
        return Err(ConsoleError::refused(
            StatusCode::BAD_REQUEST,
            DossierMsg::AttNoFile,
            &[],
        ));
    };
    if component.is_empty() {
        return Err(ConsoleError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            DossierMsg::Missing,
            &[(
                "field",
                &format!(
                    "{} / {}",
                    DossierMsg::AttComponent.text(crate::i18n::Lang::Vi),
                    DossierMsg::AttComponent.text(crate::i18n::Lang::En)
                ),
            )],
        ));
    }
    let now = state.now();
    let officer_name = officer.officer_name().to_string();
    let target = state
        .run(move |node| {
            let media_type = media_type.or_else(|| {
                Some(service::guess_media_type(std::path::Path::new(&name)).to_string())
            });
            let new = NewAttachment {
                file: tmp.path().to_path_buf(),
                component,
                name: Some(name.clone()),
                media_type,
            };
            let (recorded, _) = service::attach(node, &code, None, &officer_name, now, &new)
                .map_err(|e| ConsoleError::action(node, &e))?;
            drop(tmp);
            tracing::info!(code = %recorded.code, %name, size, "attached from the console");
            Ok(format!(
                "{}?{}",
                path_of(&recorded.code),
                serde_urlencoded::to_string([("uploaded", name.as_str())]).unwrap_or_default()
            ))
        })
        .await?;
    Ok(Redirect::to(&target).into_response())
}

/// `GET /dossiers/{code}/attachments/{hash}`: the file, once its bytes are
/// all here and match the hash (checked into a temporary file first, so a
/// corrupt copy is an error page, never a truncated download).
pub async fn download(
    State(state): State<AppState>,
    Path((code, hash)): Path<(String, String)>,
    _officer: Officer,
) -> Result<Response, ConsoleError> {
    let (file, name, media_type, size) = state
        .run(move |node| {
            let row = service::resolve(node, &code).map_err(|e| ConsoleError::action(node, &e))?;
            let (_, dossier) =
                service::load(node, &row.key).map_err(|e| ConsoleError::action(node, &e))?;
            let attachment = service::attachments_of(&dossier)
                .into_iter()
                .find(|a| a.hash.eq_ignore_ascii_case(&hash))
                .ok_or(ConsoleError::NotFound)?;
            let key = parse_hash(&attachment.hash).ok_or(ConsoleError::NotFound)?;
            let (got, size) = match node.store.read(|r| r.blob(&key))? {
                Some(b) if b.complete => (b.size, b.size),
                Some(b) => (b.stored_bytes, b.size),
                None => (0, attachment.size),
            };
            if got != size || size == 0 && attachment.size > 0 {
                return Err(ConsoleError::refused(
                    StatusCode::CONFLICT,
                    DossierMsg::AttNotHere,
                    &[
                        ("name", &attachment.name),
                        ("got", &human_bytes(got)),
                        ("size", &human_bytes(attachment.size)),
                    ],
                ));
            }
            let mut tmp = tempfile::tempfile_in(node.dir.root())
                .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?;
            let written = {
                let mut out = std::io::BufWriter::new(&mut tmp);
                let written = node.store.read(|r| r.copy_blob(&key, &mut out))?;
                std::io::Write::flush(&mut out)
                    .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?;
                written
            };
            tmp.seek(SeekFrom::Start(0))
                .map_err(|e| ConsoleError::Internal(format!("temporary file: {e}")))?;
            Ok((
                tokio::fs::File::from_std(tmp),
                attachment.name,
                attachment.media_type,
                written,
            ))
        })
        .await?;
    let body = file_body(file);
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        name.replace(
            |c: char| !c.is_ascii_graphic() || c == '"' || c == '\\',
            "_"
        ),
        super::url_segment(&name)
    );
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// A file's content as a response body, read 64 KiB at a time.
fn file_body(file: tokio::fs::File) -> Body {
    use tokio::io::AsyncReadExt;
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Body::from_stream(stream)
}
