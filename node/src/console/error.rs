//! Why a request was not carried out, as a page an officer can act on:
//! what is wrong and what to do, Vietnamese first with English beside it,
//! and always "nothing was changed" — a refused request writes nothing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::messages::ConsoleMsg;
use super::page;
use crate::i18n::{Lang, Locale, Message, fill};
use crate::node::Node;
use crate::service::ActionError;
use crate::service::accounts::Role;

/// A message in both languages, already worded.
#[derive(Debug, Clone)]
pub struct Bilingual {
    pub vi: String,
    pub en: String,
}

impl Bilingual {
    pub fn of(msg: impl Message, args: &[(&str, &str)]) -> Self {
        Bilingual {
            vi: fill(msg.text(Lang::Vi), args),
            en: fill(msg.text(Lang::En), args),
        }
    }

    /// Word something with the node's locale in each language.
    pub fn with(node: &Node, say: impl Fn(&Locale<'_>) -> String) -> Self {
        Bilingual {
            vi: say(&node.locale(Lang::Vi)),
            en: say(&node.locale(Lang::En)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session: go and sign in, then come back to `next`.
    #[error("not signed in")]
    SignIn { next: String },
    /// A form without the session's anti-forgery token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// The officer's role may not do this.
    #[error("role {role:?} may not {what}")]
    Role { role: Role, what: String },
    /// The rules or the service refused; worded with the node's names.
    #[error("{}", .message.en)]
    Refused {
        status: StatusCode,
        message: Bilingual,
    },
    #[error("bad form: {0}")]
    BadForm(String),
    #[error("not found")]
    NotFound,
    #[error("internal: {0}")]
    Internal(String),
}

impl ConsoleError {
    /// A service error, worded with the node's office names.
    pub fn action(node: &Node, error: &ActionError) -> Self {
        let status = match error {
            ActionError::UnknownDossier(_) | ActionError::UnknownAttachment { .. } => {
                StatusCode::NOT_FOUND
            }
            ActionError::NotAllowed(_) | ActionError::KeptChanging => StatusCode::CONFLICT,
            ActionError::Store(_) | ActionError::Schema(_) | ActionError::Automerge(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ConsoleError::Refused {
            status,
            message: Bilingual::with(node, |l| l.action_error(error)),
        }
    }

    /// A refusal worded from a console message.
    pub fn refused(status: StatusCode, msg: impl Message, args: &[(&str, &str)]) -> Self {
        ConsoleError::Refused {
            status,
            message: Bilingual::of(msg, args),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Csrf | ConsoleError::Role { .. } => StatusCode::FORBIDDEN,
            ConsoleError::Refused { status, .. } => *status,
            ConsoleError::BadForm(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What to tell the officer, in both languages.
    pub fn message(&self) -> Bilingual {
        match self {
            ConsoleError::SignIn { .. } => Bilingual::of(ConsoleMsg::ErrorSessionEnded, &[]),
            ConsoleError::Csrf => Bilingual::of(ConsoleMsg::ErrorCsrf, &[]),
            ConsoleError::Role { role, what } => Bilingual {
                vi: fill(
                    ConsoleMsg::ErrorRole.text(Lang::Vi),
                    &[("role", role.label_vi()), ("what", what)],
                ),
                en: fill(
                    ConsoleMsg::ErrorRole.text(Lang::En),
                    &[("role", role.as_str()), ("what", what)],
                ),
            },
            ConsoleError::Refused { message, .. } => message.clone(),
            ConsoleError::BadForm(detail) => {
                Bilingual::of(ConsoleMsg::ErrorBadForm, &[("detail", detail)])
            }
            ConsoleError::NotFound => Bilingual::of(ConsoleMsg::ErrorNotFound, &[]),
            ConsoleError::Internal(detail) => {
                Bilingual::of(ConsoleMsg::ErrorInternal, &[("detail", detail)])
            }
        }
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::SignIn { next } = &self {
            let query = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
            let target = format!("/sign-in?{query}");
            return Redirect::to(&target).into_response();
        }
        if let ConsoleError::Internal(detail) = &self {
            tracing::error!(%detail, "console request failed");
        }
        // A refusal may come before the request's body was read (an upload
        // without its token, say): close the connection rather than leave
        // unread bytes in front of the client's next request.
        (
            self.status(),
            [(axum::http::header::CONNECTION, "close")],
            page::error_page(&self.message()),
        )
            .into_response()
    }
}
