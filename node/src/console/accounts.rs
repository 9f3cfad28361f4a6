//! The accounts page (tài khoản), for the node's administrator only: the
//! officers who may sign in, their roles, lock-outs; and a form creating an
//! account through `service::accounts::add`, as `lienthong account add`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Officer, Posted};
use super::messages::ConsoleMsg;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::i18n::Lang;
use crate::node::Node;
use crate::service::accounts::{self, AccountError, MIN_PASSWORD_CHARS, Role};

crate::catalogue! {
    AccountsMsg;
    What => "quản lý tài khoản", "manage accounts";
    ListTitle => "Tài khoản của nút", "This node's accounts";
    ColName => "Tên đăng nhập", "Sign-in name";
    ColDisplay => "Họ và tên", "Full name";
    ColRole => "Vai trò", "Role";
    ColLocked => "Khóa đến", "Locked until";
    NotLocked => "—", "—";
    NoAccounts => "Chưa có tài khoản nào.", "No accounts yet.";
    AddTitle => "Tạo tài khoản", "Create an account";
    Name => "Tên đăng nhập (chữ thường, số, “.”, “-”, “_”)", "Sign-in name (lowercase letters, digits, “.”, “-”, “_”)";
    Display => "Họ và tên (ghi trên mọi sự kiện cán bộ thực hiện)", "Full name (written on every event the officer records)";
    RoleLabel => "Vai trò", "Role";
    Password => "Mật khẩu (ít nhất {n} ký tự)", "Password (at least {n} characters)";
    Confirm => "Nhập lại mật khẩu", "Password again";
    Create => "Tạo tài khoản", "Create the account";
    Created => "Đã tạo tài khoản “{name}”.", "The account “{name}” was created.";
    Mismatch => "Hai lần nhập mật khẩu không giống nhau.", "The two passwords differ.";
    BadRole => "Vai trò “{role}” không có. Hãy chọn trong danh sách.", "There is no role “{role}”. Choose one from the list.";
    InvalidName => "“{name}” không dùng được làm tên đăng nhập: 2–32 ký tự gồm chữ thường, số, “.”, “-”, “_”, bắt đầu bằng chữ cái.", "“{name}” is not a sign-in name: use 2–32 lowercase letters, digits, “.”, “-” or “_”, starting with a letter.";
    NoDisplay => "Hãy nhập họ và tên cán bộ: tên này được ghi trên mọi sự kiện họ thực hiện.", "Enter the officer's full name: it is written on every event they record.";
    Weak => "Mật khẩu quá ngắn: cần ít nhất {n} ký tự.", "The password is too short: use at least {n} characters.";
    Exists => "Đã có tài khoản “{name}” trên nút này.", "An account “{name}” already exists on this node.";
}

fn require_admin(officer: &Officer) -> Result<(), ConsoleError> {
    officer.require_admin(&format!(
        "{} / {}",
        AccountsMsg::What.text(Lang::Vi),
        AccountsMsg::What.text(Lang::En)
    ))
}

#[derive(Debug, Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    created: Option<String>,
}

/// What was typed, kept when the form is shown again (never the password).
#[derive(Debug, Deserialize, Default)]
pub struct AccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `GET /accounts`.
pub async fn page(
    State(state): State<AppState>,
    officer: Officer,
    Query(shown): Query<Shown>,
) -> Result<Response, ConsoleError> {
    require_admin(&officer)?;
    let now = state.now();
    let page = state
        .run(move |node| {
            let done = shown
                .created
                .map(|name| name.chars().take(32).collect::<String>());
            render(node, &officer, now, &AccountForm::default(), None, done)
        })
        .await?;
    Ok(page::ok(page))
}

/// `POST /accounts`: create an account; the page again, saying so or why not.
pub async fn create(
    State(state): State<AppState>,
    posted: Posted<AccountForm>,
) -> Result<Response, ConsoleError> {
    let officer = posted.officer;
    require_admin(&officer)?;
    let form = posted.form;
    let now = state.now();
    state
        .run(move |node| {
            let problem = if form.password != form.confirm {
                Some(words(AccountsMsg::Mismatch, &[]))
            } else {
                match Role::parse(&form.role) {
                    None => Some(words(AccountsMsg::BadRole, &[("role", &form.role)])),
                    Some(role) => match accounts::add(
                        node,
                        &form.name,
                        &form.display_name,
                        role,
                        &form.password,
                        now,
                    ) {
                        Ok(account) => {
                            tracing::info!(account = %account.name, by = %officer.account().name, "account created at the console");
                            let query = serde_urlencoded::to_string([("created", &account.name)])
                                .unwrap_or_default();
                            return Ok(Redirect::to(&format!("/accounts?{query}")).into_response());
                        }
                        Err(error) => Some(account_error(node, &error)),
                    },
                }
            };
            let page = render(node, &officer, now, &form, problem, None)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        })
        .await
}

/// A message in both languages.
type Words = (String, String);

fn words(msg: AccountsMsg, args: &[(&str, &str)]) -> Words {
    (
        crate::i18n::fill(msg.text(Lang::Vi), args),
        crate::i18n::fill(msg.text(Lang::En), args),
    )
}

fn account_error(node: &Node, error: &AccountError) -> Words {
    let n = MIN_PASSWORD_CHARS.to_string();
    match error {
        AccountError::InvalidName(name) => words(AccountsMsg::InvalidName, &[("name", name)]),
        AccountError::NoDisplayName => words(AccountsMsg::NoDisplay, &[]),
        AccountError::UnknownRole(role) => words(AccountsMsg::BadRole, &[("role", role)]),
        AccountError::WeakPassword => words(AccountsMsg::Weak, &[("n", &n)]),
        AccountError::Exists(name) => words(AccountsMsg::Exists, &[("name", name)]),
        other => (
            crate::service::refusals::account_error(&node.locale(Lang::Vi), other),
            crate::service::refusals::account_error(&node.locale(Lang::En), other),
        ),
    }
}

fn render(
    node: &mut Node,
    officer: &Officer,
    now: DateTime<Utc>,
    form: &AccountForm,
    problem: Option<Words>,
    created: Option<String>,
) -> Result<Markup, ConsoleError> {
    let list = accounts::list(node).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let ui = Ui::new(node, officer.lang);
    let role_words = |role: Role| match ui.lang() {
        Lang::Vi => ui.pair(role.label_vi(), role.as_str()),
        Lang::En => ui.pair(role.as_str(), role.label_vi()),
    };
    let min = MIN_PASSWORD_CHARS.to_string();
    let body = html! {
        h1 { (ui.t(ConsoleMsg::NavAccounts)) }
        @if let Some(name) = created {
            p.done role="status" { (ui.f(AccountsMsg::Created, &[("name", &name)])) }
        }
        h2 { (ui.t(AccountsMsg::ListTitle)) }
        @if list.is_empty() {
            p.empty { (ui.t(AccountsMsg::NoAccounts)) }
        } @else {
            table.accounts {
                thead { tr {
                    th { (ui.s(AccountsMsg::ColName)) }
                    th { (ui.s(AccountsMsg::ColDisplay)) }
                    th { (ui.s(AccountsMsg::ColRole)) }
                    th { (ui.s(AccountsMsg::ColLocked)) }
                } }
                tbody {
                    @for a in &list {
                        tr {
                            td { (a.name) }
                            td { (a.display_name) }
                            td { (role_words(a.role)) }
                            td {
                                @match a.locked_until.filter(|t| *t > now) {
                                    Some(until) => span.overdue { (ui.l.datetime(until)) },
                                    None => (ui.s(AccountsMsg::NotLocked)),
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ui.t(AccountsMsg::AddTitle)) }
        @if let Some((vi, en)) = &problem {
            p.problem role="alert" {
                @match ui.lang() {
                    Lang::Vi => (ui.pair(vi, en)),
                    Lang::En => (ui.pair(en, vi)),
                }
            }
        }
        form.account method="post" action="/accounts" {
            input type="hidden" name="csrf" value=(officer.csrf());
            label { (ui.t(AccountsMsg::Name)) input name="name" value=(form.name) required maxlength="32" autocomplete="off"; }
            label { (ui.t(AccountsMsg::Display)) input name="display_name" value=(form.display_name) required maxlength="200"; }
            label {
                (ui.t(AccountsMsg::RoleLabel))
                select name="role" {
                    @for role in Role::ALL {
                        option value=(role.as_str()) selected[form.role == role.as_str()] {
                            (match ui.lang() { Lang::Vi => role.label_vi(), Lang::En => role.as_str() })
                        }
                    }
                }
            }
            label { (ui.f(AccountsMsg::Password, &[("n", &min)])) input name="password" type="password" required minlength=(min) autocomplete="new-password"; }
            label { (ui.t(AccountsMsg::Confirm)) input name="confirm" type="password" required minlength=(min) autocomplete="new-password"; }
            button type="submit" { (ui.s(AccountsMsg::Create)) }
        }
    };
    Ok(page::shell(
        &ui,
        node,
        Some(officer),
        ui.s(ConsoleMsg::NavAccounts),
        body,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::AccountsMsg>().unwrap();
    }
}
