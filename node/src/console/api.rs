//! The JSON API (`/api/v1/`), for the province's integrators: the same
//! service layer as the CLI and the console, bearer-token auth
//! ([`crate::service::api_tokens`]), errors as
//! `{"error": {"code", "message_vi", "message_en"}}` with proper statuses,
//! request bodies bounded ([`MAX_JSON_BYTES`]). Documented in `docs/api.md`.
//!
//! - [`actions`]: the request bodies and their mapping to the service's
//!   `NewDossier` and `Intent`.

pub mod actions;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::{ActionKind, Event, StoredEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dashboard::messages::DashMsg;
use super::dashboard::{Period, PeriodQuery};
use super::error::Bilingual;
use super::{AppState, ConsoleError};
use crate::i18n::{Lang, Locale};
use crate::node::Node;
use crate::report;
use crate::service::api_tokens::{self, ApiClient};
use crate::service::{self, ActionError, Recorded};
use crate::store::dossier_pages::PageQuery;
use crate::store::index::IndexRow;
use actions::{ActionRequest, ReceiveRequest};

/// Largest request body the API reads.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Dossiers per page unless `limit` says fewer; never more than [`MAX_PAGE`].
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 500;

/// Why an API request was not carried out; nothing was written.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: Bilingual,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, msg: DashMsg, args: &[(&str, &str)]) -> Self {
        ApiError {
            status,
            code,
            message: Bilingual::of(msg, args),
        }
    }

    fn bad_request(detail: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            DashMsg::ApiBadRequest,
            &[("detail", detail)],
        )
    }

    fn internal(detail: &str) -> Self {
        tracing::error!(%detail, "API request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            DashMsg::ApiInternal,
            &[("detail", detail)],
        )
    }

    /// A service error, worded with the node's office names in both languages.
    pub fn action(node: &Node, error: &ActionError) -> Self {
        let (status, code) = match error {
            ActionError::UnknownDossier(_) => (StatusCode::NOT_FOUND, "unknown_dossier"),
            ActionError::UnknownAttachment { .. } => (StatusCode::NOT_FOUND, "unknown_attachment"),
            ActionError::NotAllowed(_) => (StatusCode::CONFLICT, "not_allowed"),
            ActionError::KeptChanging => (StatusCode::CONFLICT, "kept_changing"),
            ActionError::AmbiguousDossier { .. } => (StatusCode::CONFLICT, "ambiguous_dossier"),
            ActionError::UnknownProcedure { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_procedure")
            }
            ActionError::Store(_) | ActionError::Schema(_) | ActionError::Automerge(_) => {
                tracing::error!(%error, "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        };
        ApiError {
            status,
            code,
            message: Bilingual::with(node, |l| l.action_error(error)),
        }
    }
}

impl From<ConsoleError> for ApiError {
    fn from(e: ConsoleError) -> Self {
        ApiError {
            status: e.status(),
            code: match e.status() {
                StatusCode::BAD_REQUEST => "bad_request",
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::INTERNAL_SERVER_ERROR => "internal",
                _ => "refused",
            },
            message: e.message(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(&e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message_vi": self.message.vi,
                "message_en": self.message.en,
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        // Refused before the body was read: the connection cannot carry
        // another request, so say it closes (a client would otherwise
        // reuse it and find it gone).
        if matches!(
            self.status,
            StatusCode::UNAUTHORIZED | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"lienthong\""),
            );
        }
        response
    }
}

/// Run `f` with the node on a blocking thread, errors as JSON.
async fn run<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut Node) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    state
        .run(move |node| {
            node.face = crate::node::Face::Api;
            Ok(f(node))
        })
        .await
        .map_err(ApiError::from)?
}

/// The API client a request's bearer token names.
pub struct Client(pub ApiClient);

impl Client {
    /// Refuse unless the token's role may record `kind`.
    fn require(&self, kind: ActionKind, what: &str) -> Result<(), ApiError> {
        if self.0.role.may(kind) {
            return Ok(());
        }
        Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "role",
            message: Bilingual {
                vi: crate::i18n::fill(
                    DashMsg::ApiRole.text(Lang::Vi),
                    &[
                        ("name", &self.0.name),
                        ("role", self.0.role.label_vi()),
                        ("what", what),
                    ],
                ),
                en: crate::i18n::fill(
                    DashMsg::ApiRole.text(Lang::En),
                    &[
                        ("name", &self.0.name),
                        ("role", self.0.role.as_str()),
                        ("what", what),
                    ],
                ),
            },
        })
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "no_token",
                DashMsg::ApiNoToken,
                &[],
            ));
        };
        let found = run(state, move |node| {
            Ok(api_tokens::authenticate(node, &token)?)
        })
        .await?;
        match found {
            Some(client) => Ok(Client(client)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_token",
                DashMsg::ApiBadToken,
                &[],
            )),
        }
    }
}

/// A JSON body of at most [`MAX_JSON_BYTES`], read after the token checked.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, ApiError> {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                DashMsg::ApiTooLarge,
                &[("max", &MAX_JSON_BYTES.to_string())],
            )
        };
        if declared.is_some_and(|n| n > MAX_JSON_BYTES as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|_| too_large())?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::bad_request(&e.to_string()))
    }
}

/// An office by id and by name.
#[derive(Debug, Serialize)]
struct OfficeJson {
    id: String,
    name: String,
}

fn office(l: &Locale<'_>, id: &str) -> OfficeJson {
    OfficeJson {
        id: id.to_string(),
        name: l.office_str(id),
    }
}

fn row_json(l: &Locale<'_>, row: &IndexRow, now: DateTime<Utc>) -> Value {
    json!({
        "code": row.code,
        "id": crate::store::documents::hex(&row.key),
        "procedure": {"code": row.procedure_code, "name": row.procedure_name},
        "applicant": row.applicant,
        "origin": office(l, &row.origin),
        "holder": row.holder.as_deref().map(|h| office(l, h)),
        "transfer_to": row.transfer_to.as_deref().map(|t| office(l, t)),
        "status": row.status,
        "status_vi": l.status_opt(row.status),
        "received_at": row.received_at,
        "due_at": row.due_at,
        "ended_at": row.ended_at,
        "returned_at": row.returned_at,
        "timeliness": row.timeliness,
        "overdue": row.is_overdue(now),
        "conflicts": row.conflicts,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    holder: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/v1/dossiers?status=&holder=&after=&limit=`: dossiers in code
/// order, a page at a time; `next` is the `after` of the following page.
pub async fn list(
    State(state): State<AppState>,
    _client: Client,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            Some(service::parse_status(s).map_err(|e| ApiError::bad_request(&e.to_string()))?)
        }
    };
    let holder = match query.holder.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(h) => Some(
            h.parse::<OfficeId>()
                .map_err(|e| ApiError::bad_request(&e.to_string()))?
                .to_string(),
        ),
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let page = PageQuery {
        status,
        holder,
        after: query.after.filter(|a| !a.is_empty()),
        limit: limit + 1,
    };
    let body = run(&state, move |node| {
        let mut rows = node.store.read(|r| r.dossier_page(&page))?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let l = node.locale(Lang::Vi);
        let next = more.then(|| rows.last().map(|r| r.code.clone())).flatten();
        Ok(json!({
            "dossiers": rows.iter().map(|r| row_json(&l, r, now)).collect::<Vec<_>>(),
            "next": next,
        }))
    })
    .await?;
    Ok(axum::Json(body).into_response())
}

/// `GET /api/v1/dossiers/{code}`: facts, state, timeline (office ids and
/// names, lines in both languages) and what this node may do now.
pub async fn one(
    State(state): State<AppState>,
    _client: Client,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let body = run(&state, move |node| {
        let view = service::view(node, &code, now).map_err(|e| ApiError::action(node, &e))?;
        let authors = service::authors::event_authors(node, &view.row.key)?;
        let (vi, en) = (node.locale(Lang::Vi), node.locale(Lang::En));
        let timeline: Vec<Value> = view
            .dossier
            .events
            .iter()
            .zip(&view.state.applied)
            .enumerate()
            .map(|(i, (stored, applied))| {
                let mut line = match stored {
                    StoredEvent::Valid(event) => event_json(&vi, &en, event, *applied),
                    StoredEvent::Malformed { index, problem } => {
                        json!({"malformed": {"index": index, "problem": problem}, "applied": false})
                    }
                };
                line["written_by"] = written_by_json(&vi, authors.get(i));
                line
            })
            .collect();
        let allowed: Vec<Value> = view
            .allowed
            .iter()
            .map(|(office_id, kinds)| {
                json!({
                    "office": office(&vi, office_id.as_str()),
                    "actions": kinds.iter().filter_map(|k| actions::api_name(*k)).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(json!({
            "dossier": row_json(&vi, &view.row, now),
            "facts": view.dossier.facts,
            "state": view.state,
            "timeline": timeline,
            "allowed": allowed,
        }))
    })
    .await?;
    Ok(axum::Json(body).into_response())
}

fn event_json(vi: &Locale<'_>, en: &Locale<'_>, event: &Event, applied: bool) -> Value {
    json!({
        "id": event.id,
        "at": event.at,
        "at_local": vi.datetime(event.at),
        "office": office(vi, event.office.as_str()),
        "officer": event.officer,
        "action": event.action,
        "text_vi": vi.action(&event.action),
        "text_en": en.action(&event.action),
        "applied": applied,
    })
}

/// The verified author node of an event (issue 8), as `lienthong show
/// --json` gives it (`author`: `signed`, `unsigned` or `invalid`; `node`,
/// `office`), with the office's name.
fn written_by_json(vi: &Locale<'_>, author: Option<&service::authors::EventAuthor>) -> Value {
    let Some(author) = author else {
        return json!({"author": "unsigned"});
    };
    let mut value = serde_json::to_value(author).unwrap_or_else(|_| json!({"author": "invalid"}));
    if let service::authors::EventAuthor::Signed {
        office: Some(office),
        ..
    } = author
    {
        value["office_name"] = Value::String(vi.office(office));
    }
    value
}

/// `GET /api/v1/report?from=&to=`: the consolidated report, as `lienthong
/// report --json` gives it.
pub async fn report(
    State(state): State<AppState>,
    _client: Client,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let period = Period::parse(&query)?;
    let now = state.now();
    let body = run(&state, move |node| {
        let options = period.options(node.calendar.timezone(), now);
        let tree = &node.network.offices;
        Ok(node
            .store
            .read(|r| report::build(r, tree, &options, false))?)
    })
    .await?;
    Ok(axum::Json(body).into_response())
}

fn recorded_json(node: &Node, recorded: &Recorded) -> Value {
    let (vi, en) = (node.locale(Lang::Vi), node.locale(Lang::En));
    let events: Vec<Value> = std::iter::once(&recorded.event)
        .chain(&recorded.follow_up)
        .map(|e| event_json(&vi, &en, e, true))
        .collect();
    json!({
        "code": recorded.code,
        "id": crate::store::documents::hex(&recorded.key),
        "events": events,
        "status": recorded.state.status,
        "holder": recorded.state.holder.as_ref().map(|h| office(&vi, h.as_str())),
        "due_at": recorded.state.due_at,
        "feed_seq": recorded.seq,
    })
}

/// `POST /api/v1/dossiers`: receive a dossier (Form 01) as the token's name.
pub async fn receive(
    State(state): State<AppState>,
    client: Client,
    Body(request): Body<ReceiveRequest>,
) -> Result<Response, ApiError> {
    client.require(ActionKind::Received, "receive")?;
    let (new, at_office) = request.into_new().map_err(|e| ApiError::bad_request(&e))?;
    let now = state.now();
    let body = run(&state, move |node| {
        let office = at_office.unwrap_or_else(|| node.office().clone());
        let recorded = service::receive(node, &office, &client.0.name, now, &new)
            .map_err(|e| ApiError::action(node, &e))?;
        Ok(recorded_json(node, &recorded))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `POST /api/v1/dossiers/{code}/actions`: one action, through the same
/// `service::act` as the CLI's commands; a refusal is 409 and writes nothing.
pub async fn action(
    State(state): State<AppState>,
    client: Client,
    Path(code): Path<String>,
    Body(request): Body<ActionRequest>,
) -> Result<Response, ApiError> {
    let as_office = request.as_office;
    let intent = request
        .action
        .into_intent()
        .map_err(|e| ApiError::bad_request(&e))?;
    let kind = intent.kind();
    client.require(kind, kind.command())?;
    let now = state.now();
    let body = run(&state, move |node| {
        let recorded = service::act(
            node,
            &code,
            as_office.as_ref(),
            &client.0.name,
            now,
            &intent,
        )
        .map_err(|e| ApiError::action(node, &e))?;
        Ok(recorded_json(node, &recorded))
    })
    .await?;
    Ok(axum::Json(body).into_response())
}

/// Any other `/api/v1/…` address.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        DashMsg::ApiNotFound,
        &[],
    )
}
