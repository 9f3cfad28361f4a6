//! Signing in and out, and who is asking: the [`Officer`] extractor finds
//! the session named by the cookie; [`Posted`] also checks the form's
//! anti-forgery token before anything is read from it. Roles are checked
//! by [`Officer::require`] before the service is called; whether the rules
//! allow the action on the dossier now is the service's question.

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::messages::ConsoleMsg;
use super::page::{self, Ui, cookie, lang_of, local_path};
use super::{AppState, ConsoleError, MAX_FORM_BYTES};
use crate::i18n::Lang;
use crate::service::accounts::{Account, AccountError, Role};
use crate::service::sessions::{self, SignedIn, csrf_matches};

/// The session cookie.
pub const SESSION_COOKIE: &str = "lt_session";

/// The officer signed in for this request, and their language.
#[derive(Debug, Clone)]
pub struct Officer {
    session: SignedIn,
    token: String,
    pub lang: Lang,
}

impl Officer {
    pub fn account(&self) -> &Account {
        &self.session.account
    }

    /// The name recorded on the events this officer makes.
    pub fn officer_name(&self) -> &str {
        &self.session.account.display_name
    }

    pub fn role(&self) -> Role {
        self.session.account.role
    }

    /// The token this session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }

    pub fn role_label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Vi => self.role().label_vi(),
            Lang::En => self.role().as_str(),
        }
    }

    /// May this officer receive dossiers at the desk?
    pub fn may_receive(&self) -> bool {
        self.role()
            .may(lienthong_shared::dossier::ActionKind::Received)
    }

    /// Refuse unless the role may record `kind` (`what` words the attempt).
    pub fn require(
        &self,
        kind: lienthong_shared::dossier::ActionKind,
        what: &str,
    ) -> Result<(), ConsoleError> {
        if self.role().may(kind) {
            Ok(())
        } else {
            Err(ConsoleError::Role {
                role: self.role(),
                what: what.to_string(),
            })
        }
    }

    /// Refuse unless the officer administers this node.
    pub fn require_admin(&self, what: &str) -> Result<(), ConsoleError> {
        if self.role().manages_accounts() {
            Ok(())
        } else {
            Err(ConsoleError::Role {
                role: self.role(),
                what: what.to_string(),
            })
        }
    }
}

impl FromRequestParts<AppState> for Officer {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/desk".to_string(), |p| p.to_string());
        let lang = lang_of(&parts.headers);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
            return Err(ConsoleError::SignIn { next });
        };
        let now = state.now();
        let lookup = token.clone();
        let found = state
            .run(move |node| Ok(sessions::find(node, &lookup, now)?))
            .await?;
        match found {
            Some(session) => Ok(Officer {
                session,
                token,
                lang,
            }),
            None => Err(ConsoleError::SignIn { next }),
        }
    }
}

/// A posted form from a signed-in officer whose `csrf` field matches the
/// session's. The form is read (at most [`MAX_FORM_BYTES`]) only after the
/// session is found, and deserialised only after the token matches.
pub struct Posted<T> {
    pub officer: Officer,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let officer = Officer::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|e| ConsoleError::BadForm(e.to_string()))?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ConsoleError::BadForm(e.to_string()))?;
        let given = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        if !csrf_matches(officer.csrf(), given) {
            return Err(ConsoleError::Csrf);
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ConsoleError::BadForm(e.to_string()))?;
        Ok(Posted { officer, form })
    }
}

#[derive(Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: Option<String>,
}

fn next_or_desk(next: Option<String>) -> String {
    next.filter(|n| local_path(n))
        .unwrap_or_else(|| "/desk".into())
}

/// `GET /sign-in`.
pub async fn sign_in_page(
    State(state): State<AppState>,
    Query(next): Query<Next>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let lang = lang_of(&headers);
    let next = next_or_desk(next.next);
    let page = state
        .run(move |node| {
            let none = node.store.read(|r| r.accounts())?.is_empty();
            let ui = Ui::new(node, lang);
            Ok(sign_in_form(&ui, node, &next, None, none))
        })
        .await?;
    Ok(page::ok(page))
}

fn sign_in_form(
    ui: &Ui<'_>,
    node: &crate::node::Node,
    next: &str,
    problem: Option<maud::Markup>,
    no_accounts: bool,
) -> maud::Markup {
    let body = html! {
        section.sign-in {
            h1 { (ui.t(ConsoleMsg::SignInTitle)) }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            @if no_accounts {
                p.notice { (ui.t(ConsoleMsg::SignInNoAccounts)) }
            }
            form method="post" action="/sign-in" {
                input type="hidden" name="next" value=(next);
                label { (ui.t(ConsoleMsg::SignInName)) input name="name" autocomplete="username" required autofocus; }
                label { (ui.t(ConsoleMsg::SignInPassword)) input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { (ui.s(ConsoleMsg::SignInButton)) }
            }
        }
    };
    page::shell(ui, node, None, ui.s(ConsoleMsg::SignInTitle), body)
}

#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /sign-in`: a good password opens a session (cookie: HttpOnly,
/// SameSite=Strict); a wrong one shows the form again with why, counted
/// towards the lock-out.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    let lang = lang_of(&headers);
    let now = state.now();
    let next = next_or_desk(form.next.clone());
    if from_another_site(&headers) {
        // Login CSRF: another site's page posting its own credentials here
        // would sign this browser in as the attacker. Refused before the
        // password is even looked at.
        tracing::warn!(name = %form.name, "console sign-in posted from another site refused");
        return state
            .run(move |node| {
                let ui = Ui::new(node, lang);
                let problem = ui.t(ConsoleMsg::SignInCrossSite);
                let page = sign_in_form(&ui, node, &next, Some(problem), false);
                Ok((StatusCode::FORBIDDEN, page).into_response())
            })
            .await;
    }
    state
        .run(
            move |node| match sessions::open(node, &form.name, &form.password, now) {
                Ok(session) => {
                    let max_age = (session.expires_at - now).num_seconds().max(0);
                    let cookie = format!(
                        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
                        session.token
                    );
                    tracing::info!(officer = %session.account.name, "signed in to the console");
                    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
                }
                Err(error) => {
                    let ui = Ui::new(node, lang);
                    let problem = match &error {
                        AccountError::Locked { until } => ui.f(
                            ConsoleMsg::SignInLocked,
                            &[("until", &ui.l.datetime(*until))],
                        ),
                        AccountError::BadCredentials => ui.t(ConsoleMsg::SignInBad),
                        other => return Err(ConsoleError::Internal(other.to_string())),
                    };
                    tracing::warn!(name = %form.name, "console sign-in refused: {error}");
                    let page = sign_in_form(&ui, node, &next, Some(problem), false);
                    Ok((StatusCode::UNAUTHORIZED, page).into_response())
                }
            },
        )
        .await
}

/// Whether a browser says this request came from a page of another site:
/// `Sec-Fetch-Site` when it sends one (every current browser), else an
/// `Origin` whose host and port are not this request's `Host`. A client
/// that sends neither (curl, scripts) is not a browser that can be tricked.
fn from_another_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !authority.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// `POST /sign-out`: the session ends here and in the browser.
pub async fn sign_out(
    State(state): State<AppState>,
    posted: Posted<serde::de::IgnoredAny>,
) -> Result<Response, ConsoleError> {
    let token = posted.officer.token.clone();
    state
        .run(move |node| Ok(sessions::close(node, &token)?))
        .await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/sign-in")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                header::HeaderName::from_static(name),
                header::HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn a_sign_in_from_another_site_is_told_apart() {
        // Sec-Fetch-Site decides when a browser sends it.
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(!from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!from_another_site(&headers(&[("sec-fetch-site", "none")])));
        // Else Origin against Host.
        let own = [
            ("origin", "http://127.0.0.1:7480"),
            ("host", "127.0.0.1:7480"),
        ];
        assert!(!from_another_site(&headers(&own)));
        let other = [
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:7480"),
        ];
        assert!(from_another_site(&headers(&other)));
        assert!(from_another_site(&headers(&[
            ("origin", "null"),
            ("host", "x")
        ])));
        // A script that sends neither is no browser to trick.
        assert!(!from_another_site(&headers(&[("host", "127.0.0.1:7480")])));
    }
}
