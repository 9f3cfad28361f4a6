//! The page shell and the words on it: Vietnamese first with English
//! beside it (or the other way round once an officer switches), the
//! office's name and the signed-in officer on every page.

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::auth::Officer;
use super::error::Bilingual;
use super::messages::ConsoleMsg;
use crate::i18n::{Lang, Locale, Message};
use crate::node::Node;

/// The cookie holding the officer's language.
pub const LANG_COOKIE: &str = "lt_lang";

const STYLESHEET: &str = include_str!("assets/console.css");

/// How to word one page: the officer's language first, the other beside it.
pub struct Ui<'a> {
    /// The language read first, with the node's zone and office names.
    pub l: Locale<'a>,
    /// The same in the other language.
    pub other: Locale<'a>,
}

impl<'a> Ui<'a> {
    pub fn new(node: &'a Node, lang: Lang) -> Self {
        let other = match lang {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        };
        Ui {
            l: node.locale(lang),
            other: node.locale(other),
        }
    }

    pub fn lang(&self) -> Lang {
        self.l.lang
    }

    /// A message in the first language, the second beside it in grey.
    pub fn t(&self, msg: impl Message) -> Markup {
        both(self.l.t(msg), self.other.t(msg), self.other.lang)
    }

    /// [`Self::t`] with `{values}` filled.
    pub fn f(&self, msg: impl Message, args: &[(&str, &str)]) -> Markup {
        both(
            &self.l.f(msg, args),
            &self.other.f(msg, args),
            self.other.lang,
        )
    }

    /// A message in the first language only (titles, attributes, buttons).
    pub fn s(&self, msg: impl Message) -> &'static str {
        self.l.t(msg)
    }

    /// Two wordings of the same thing, side by side.
    pub fn pair(&self, first: &str, second: &str) -> Markup {
        both(first, second, self.other.lang)
    }
}

fn both(first: &str, second: &str, second_lang: Lang) -> Markup {
    html! {
        (first)
        @if second != first {
            " " span.other lang=(second_lang.code()) { (second) }
        }
    }
}

/// A whole page: header with the office and the officer, navigation, body.
pub fn shell(
    ui: &Ui<'_>,
    node: &Node,
    officer: Option<&Officer>,
    title: &str,
    body: Markup,
) -> Markup {
    let office = ui.l.office(node.office());
    html! {
        (DOCTYPE)
        html lang=(ui.lang().code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (office) }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                header.top {
                    div.brand {
                        strong { (office) }
                        " " span.other { (ui.s(ConsoleMsg::AppName)) }
                    }
                    @if let Some(officer) = officer {
                        nav {
                            a href="/desk" { (ui.s(ConsoleMsg::NavDesk)) }
                            @if officer.may_receive() {
                                a href="/receive" { (ui.s(ConsoleMsg::NavReceive)) }
                            }
                            a href="/sync" { (ui.s(ConsoleMsg::NavSync)) }
                            a href="/dashboard" { (ui.s(ConsoleMsg::NavDashboard)) }
                            @if officer.account().role.manages_accounts() {
                                a href="/accounts" { (ui.s(ConsoleMsg::NavAccounts)) }
                            }
                        }
                        div.who {
                            span.officer { (ui.l.f(ConsoleMsg::SignedInAs, &[("name", &officer.account().display_name), ("role", officer.role_label(ui.lang()))])) }
                            form method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(officer.csrf());
                                button.link type="submit" { (ui.s(ConsoleMsg::SignOut)) }
                            }
                        }
                    }
                    a.lang href={ "/language/" (match ui.lang() { Lang::Vi => "en", Lang::En => "vi" }) } {
                        (ui.s(ConsoleMsg::SwitchLanguage))
                    }
                }
                main {
                    (body)
                }
            }
        }
    }
}

/// The error page: what is wrong, in both languages, and that nothing changed.
pub fn error_page(message: &Bilingual) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                title { (ConsoleMsg::ErrorTitle.text(Lang::Vi)) }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                main.error {
                    h1 { (ConsoleMsg::ErrorTitle.text(Lang::Vi)) " " span.other lang="en" { (ConsoleMsg::ErrorTitle.text(Lang::En)) } }
                    p.problem lang="vi" { (message.vi) }
                    p.problem.other lang="en" { (message.en) }
                    p.unchanged {
                        (ConsoleMsg::ErrorNothingChanged.text(Lang::Vi)) " "
                        span.other lang="en" { (ConsoleMsg::ErrorNothingChanged.text(Lang::En)) }
                    }
                    p { a href="javascript:history.back()" { (ConsoleMsg::ErrorBack.text(Lang::Vi)) } " · " a href="/desk" { "/desk" } }
                }
            }
        }
    }
}

/// The officer's language from the cookie; Vietnamese unless switched.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Lang::parse(&v))
        .unwrap_or_default()
}

/// One cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `/language/en`, `/language/vi`: remember the choice, go back.
pub async fn switch_language(
    Path(lang): Path<String>,
    Query(back): Query<Back>,
    headers: HeaderMap,
) -> Response {
    let Some(lang) = Lang::parse(&lang) else {
        return super::ConsoleError::NotFound.into_response();
    };
    let target = back
        .back
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
                .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        })
        .filter(|t| local_path(t))
        .unwrap_or_else(|| "/desk".into());
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.code()
            ),
        )],
        Redirect::to(&target),
    )
        .into_response()
}

/// A path on this console (no scheme, no other host): safe to redirect to.
pub fn local_path(target: &str) -> bool {
    target.starts_with('/') && !target.starts_with("//") && !target.contains('\\')
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
}

pub async fn not_found() -> super::ConsoleError {
    super::ConsoleError::NotFound
}

/// Raw HTML already escaped (an SVG drawn on the server, say).
pub fn raw(svg: String) -> PreEscaped<String> {
    PreEscaped(svg)
}

/// `200 OK` with a page.
pub fn ok(markup: Markup) -> Response {
    (StatusCode::OK, markup).into_response()
}
