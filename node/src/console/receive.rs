//! The receive form (tiếp nhận hồ sơ): pick the procedure (a filtered list
//! and a `<datalist>`, no script), the applicant, the components handed in
//! (the catalogue's checklist), the fee, how the dossier came and how the
//! result goes back. Posting calls `service::receive` — what `lienthong
//! receive` calls — as the signed-in officer; a commune that decides the
//! procedure itself has it in processing at once (the service does it).
//! A refusal shows the form again with the problem and every value kept.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lienthong_shared::OfficeId;
use lienthong_shared::catalogue::{Procedure, ProcessingTime};
use lienthong_shared::dossier::schema::Applicant;
use lienthong_shared::dossier::{ActionKind, Channel};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Officer, Posted};
use super::messages::ConsoleMsg;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::i18n::Lang;
use crate::node::Node;
use crate::service::{self, NewDossier};
use crate::store::desk::fold;

crate::catalogue! {
    ReceiveMsg;
    Title => "Tiếp nhận hồ sơ", "Receive a dossier";
    PickTitle => "1. Chọn thủ tục", "1. Choose the procedure";
    FindLabel => "Tìm thủ tục theo tên, mã hoặc lĩnh vực", "Find a procedure by name, code or field";
    FindButton => "Tìm", "Find";
    NoMatch => "Không có thủ tục nào khớp “{find}”.", "No procedure matches “{find}”.";
    ProcedureLabel => "Mã thủ tục", "Procedure code";
    Choose => "Chọn", "Choose";
    Change => "Chọn thủ tục khác", "Choose another procedure";
    ProcessingDays => "Thời hạn giải quyết: {time}", "Processing time: {time}";
    SameDay => "trong ngày (tiếp nhận trước {cutoff})", "the same day (received before {cutoff})";
    Fee => "Phí, lệ phí: {fee}", "Fee: {fee}";
    NoFee => "Không mất phí", "No fee";
    ResultIs => "Kết quả: {result}", "Result: {result}";
    ApplicantTitle => "2. Người nộp hồ sơ", "2. The applicant";
    Name => "Họ và tên (bắt buộc)", "Full name (required)";
    IdNumber => "Số CCCD/CMND", "ID number";
    Phone => "Số điện thoại", "Phone";
    Email => "Thư điện tử", "Email";
    Address => "Địa chỉ", "Address";
    Organisation => "Tên tổ chức (nếu tổ chức nộp)", "Organisation (when one applies)";
    ComponentsTitle => "3. Thành phần hồ sơ đã nhận", "3. Components handed in";
    Copies => "{n} bản", "{n} copies";
    DeliveryTitle => "4. Cách nộp và nhận kết quả", "4. How it came and how the result goes back";
    ChannelLabel => "Hồ sơ nộp", "Handed in";
    ResultLabel => "Nhận kết quả", "Result";
    AtOffice => "Tiếp nhận tại", "Received at";
    Submit => "Tiếp nhận và cấp Giấy tiếp nhận (Mẫu 01)", "Receive and issue the receipt (Mẫu 01)";
    NeedName => "Hãy nhập họ và tên người nộp hồ sơ.", "Enter the applicant's full name.";
    TooLong => "Trường “{field}” dài quá {max} ký tự.", "The field “{field}” is longer than {max} characters.";
    BadId => "Số CCCD/CMND phải gồm 9 hoặc 12 chữ số.", "An ID number is 9 or 12 digits.";
    BadPhone => "Số điện thoại chỉ gồm chữ số, dấu cách, “+”, “.” hoặc “-” (tối đa 20 ký tự).", "A phone number has only digits, spaces, “+”, “.” or “-” (20 characters at most).";
    BadEmail => "Địa chỉ thư điện tử phải có dạng ten@mien.vn.", "An email address looks like name@domain.vn.";
    NoComponents => "Hãy đánh dấu các thành phần hồ sơ đã nhận.", "Tick the components handed in.";
    BadComponent => "Thành phần hồ sơ số {n} không có trong danh mục của thủ tục này.", "Component {n} is not in this procedure's list.";
    UnknownProcedure => "Không có thủ tục “{code}” trong danh mục. Hãy chọn lại thủ tục.", "There is no procedure “{code}” in the catalogue. Choose the procedure again.";
    BadChoice => "Giá trị “{value}” không hợp lệ cho trường “{field}”.", "“{value}” is not a valid choice for “{field}”.";
    NotServed => "Nút này không tiếp nhận hồ sơ cho đơn vị đã chọn.", "This node does not receive dossiers for the office chosen.";
}

/// The longest value of a free-text field.
const MAX_FIELD_CHARS: usize = 200;
/// Procedures listed at once by the picker.
const MAX_LISTED: usize = 50;

fn require_desk(officer: &Officer) -> Result<(), ConsoleError> {
    officer.require(
        ActionKind::Received,
        &format!(
            "{} / {}",
            ReceiveMsg::Title.text(Lang::Vi),
            ReceiveMsg::Title.text(Lang::En)
        ),
    )
}

#[derive(Debug, Deserialize, Default)]
pub struct PickQuery {
    #[serde(default)]
    procedure: Option<String>,
    #[serde(default)]
    find: Option<String>,
}

/// What the officer typed, kept to show the form again.
#[derive(Debug, Clone, Default)]
struct Entered {
    procedure: String,
    name: String,
    id_number: String,
    phone: String,
    email: String,
    address: String,
    organisation: String,
    /// Indices into the procedure's components; `None`: all (a fresh form).
    components: Option<Vec<usize>>,
    channel: String,
    result_by: String,
    office: String,
}

/// `GET /receive?procedure=…&find=…`.
pub async fn form(
    State(state): State<AppState>,
    officer: Officer,
    Query(query): Query<PickQuery>,
) -> Result<Response, ConsoleError> {
    require_desk(&officer)?;
    let page = state
        .run(move |node| {
            let ui = Ui::new(node, officer.lang);
            let find: String = query
                .find
                .unwrap_or_default()
                .trim()
                .chars()
                .take(MAX_FIELD_CHARS)
                .collect();
            let entered = Entered {
                procedure: query.procedure.unwrap_or_default().trim().to_string(),
                ..Entered::default()
            };
            Ok(render(&ui, node, &officer, &find, &entered, None))
        })
        .await?;
    Ok(page::ok(page))
}

/// `POST /receive`: receive the dossier; on success, to its page.
pub async fn submit(
    State(state): State<AppState>,
    posted: Posted<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let officer = posted.officer;
    require_desk(&officer)?;
    let now = state.now();
    let entered = read_form(&posted.form);
    state
        .run(move |node| {
            let checked = check(node, &entered);
            let (office, new) = match checked {
                Ok(ok) => ok,
                Err(problem) => return Ok(again(node, &officer, &entered, problem)),
            };
            match service::receive(node, &office, officer.officer_name(), now, &new) {
                Ok(recorded) => {
                    tracing::info!(code = %recorded.code, officer = %officer.account().name, "received at the console");
                    Ok(Redirect::to(&format!("/dossiers/{}?received=1", recorded.code))
                        .into_response())
                }
                Err(error) => {
                    let problem = Problem {
                        vi: node.locale(Lang::Vi).action_error(&error),
                        en: node.locale(Lang::En).action_error(&error),
                    };
                    Ok(again(node, &officer, &entered, problem))
                }
            }
        })
        .await
}

/// What is wrong with a posted form, in both languages.
struct Problem {
    vi: String,
    en: String,
}

impl Problem {
    fn of(msg: ReceiveMsg, args: &[(&str, &str)]) -> Self {
        Problem {
            vi: crate::i18n::fill(msg.text(Lang::Vi), args),
            en: crate::i18n::fill(msg.text(Lang::En), args),
        }
    }
}

fn again(node: &Node, officer: &Officer, entered: &Entered, problem: Problem) -> Response {
    let ui = Ui::new(node, officer.lang);
    let (first, second) = match ui.lang() {
        Lang::Vi => (&problem.vi, &problem.en),
        Lang::En => (&problem.en, &problem.vi),
    };
    let problem = ui.pair(first, second);
    let page = render(&ui, node, officer, "", entered, Some(problem));
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

fn read_form(fields: &[(String, String)]) -> Entered {
    let mut entered = Entered {
        components: Some(Vec::new()),
        ..Entered::default()
    };
    let mut bad_component = false;
    for (key, value) in fields {
        let value = value.trim().to_string();
        match key.as_str() {
            "procedure" => entered.procedure = value,
            "name" => entered.name = value,
            "id_number" => entered.id_number = value,
            "phone" => entered.phone = value,
            "email" => entered.email = value,
            "address" => entered.address = value,
            "organisation" => entered.organisation = value,
            "channel" => entered.channel = value,
            "result_by" => entered.result_by = value,
            "office" => entered.office = value,
            "component" => match value.parse::<usize>() {
                Ok(i) => {
                    if let Some(list) = entered.components.as_mut()
                        && !list.contains(&i)
                        && list.len() < 256
                    {
                        list.push(i);
                    }
                }
                Err(_) => bad_component = true,
            },
            _ => {}
        }
    }
    if bad_component {
        // An index no form of ours sends: reported by `check`.
        if let Some(list) = entered.components.as_mut() {
            list.push(usize::MAX);
        }
    }
    entered
}

/// The form's values checked, as the service's input.
fn check(node: &Node, e: &Entered) -> Result<(OfficeId, NewDossier), Problem> {
    let procedure = node
        .catalogue
        .get(&e.procedure)
        .ok_or_else(|| Problem::of(ReceiveMsg::UnknownProcedure, &[("code", &e.procedure)]))?;
    let lengths = [
        (ReceiveMsg::Name, &e.name),
        (ReceiveMsg::Address, &e.address),
        (ReceiveMsg::Organisation, &e.organisation),
        (ReceiveMsg::Email, &e.email),
    ];
    for (field, value) in lengths {
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(Problem {
                vi: crate::i18n::fill(
                    ReceiveMsg::TooLong.text(Lang::Vi),
                    &[
                        ("field", field.text(Lang::Vi)),
                        ("max", &MAX_FIELD_CHARS.to_string()),
                    ],
                ),
                en: crate::i18n::fill(
                    ReceiveMsg::TooLong.text(Lang::En),
                    &[
                        ("field", field.text(Lang::En)),
                        ("max", &MAX_FIELD_CHARS.to_string()),
                    ],
                ),
            });
        }
    }
    if e.name.is_empty() {
        return Err(Problem::of(ReceiveMsg::NeedName, &[]));
    }
    let id: String = e.id_number.chars().filter(|c| !c.is_whitespace()).collect();
    let well_formed = id.chars().all(|c| c.is_ascii_digit()) && matches!(id.len(), 9 | 12);
    if !id.is_empty() && !well_formed {
        return Err(Problem::of(ReceiveMsg::BadId, &[]));
    }
    if e.phone.chars().count() > 20
        || !e
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +.-".contains(c))
    {
        return Err(Problem::of(ReceiveMsg::BadPhone, &[]));
    }
    if !e.email.is_empty() && !valid_email(&e.email) {
        return Err(Problem::of(ReceiveMsg::BadEmail, &[]));
    }
    let channel = choice(
        &e.channel,
        &[Channel::Direct, Channel::Postal, Channel::Online],
        ReceiveMsg::ChannelLabel,
    )?;
    let result_by = choice(
        &e.result_by,
        &[Channel::Direct, Channel::Postal],
        ReceiveMsg::ResultLabel,
    )?;
    let checked = e.components.clone().unwrap_or_default();
    if let Some(bad) = checked.iter().find(|i| **i >= procedure.components.len()) {
        let n = if *bad == usize::MAX {
            "?".to_string()
        } else {
            (bad + 1).to_string()
        };
        return Err(Problem::of(ReceiveMsg::BadComponent, &[("n", &n)]));
    }
    if checked.is_empty() && !procedure.components.is_empty() {
        return Err(Problem::of(ReceiveMsg::NoComponents, &[]));
    }
    // Every component ticked: the catalogue's list, with its copies.
    let components = if checked.len() == procedure.components.len() {
        Vec::new()
    } else {
        let mut checked = checked;
        checked.sort_unstable();
        checked
            .iter()
            .map(|i| procedure.components[*i].name.clone())
            .collect()
    };
    let office = if e.office.is_empty() {
        node.office().clone()
    } else {
        e.office
            .parse::<OfficeId>()
            .ok()
            .filter(|o| node.served_ids().contains(o))
            .ok_or_else(|| Problem::of(ReceiveMsg::NotServed, &[]))?
    };
    let new = NewDossier {
        procedure: procedure.code.clone(),
        applicant: Applicant {
            name: e.name.clone(),
            id_number: id,
            address: e.address.clone(),
            phone: e.phone.clone(),
            email: e.email.clone(),
            organisation: e.organisation.clone(),
        },
        channel,
        result_delivery: result_by,
        components,
        submitted_only: false,
    };
    Ok((office, new))
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
}

fn choice(value: &str, allowed: &[Channel], field: ReceiveMsg) -> Result<Channel, Problem> {
    if value.is_empty() {
        return Ok(Channel::Direct);
    }
    Channel::parse(value)
        .filter(|c| allowed.contains(c))
        .ok_or_else(|| Problem {
            vi: crate::i18n::fill(
                ReceiveMsg::BadChoice.text(Lang::Vi),
                &[("value", value), ("field", field.text(Lang::Vi))],
            ),
            en: crate::i18n::fill(
                ReceiveMsg::BadChoice.text(Lang::En),
                &[("value", value), ("field", field.text(Lang::En))],
            ),
        })
}

/// Does `procedure` match the picker's search (no diacritics, any case)?
fn matches(procedure: &Procedure, folded: &str) -> bool {
    folded.is_empty()
        || procedure.code.contains(folded)
        || fold(&procedure.name).contains(folded)
        || fold(&procedure.field).contains(folded)
}

fn render(
    ui: &Ui<'_>,
    node: &Node,
    officer: &Officer,
    find: &str,
    entered: &Entered,
    problem: Option<Markup>,
) -> Markup {
    let chosen = node.catalogue.get(&entered.procedure);
    let folded = fold(find);
    let listed: Vec<&Procedure> = node
        .catalogue
        .iter()
        .filter(|p| matches(p, &folded))
        .take(MAX_LISTED)
        .collect();
    let served = node.served_offices();
    let body = html! {
        h1 { (ui.t(ReceiveMsg::Title)) }
        @if let Some(problem) = problem {
            p.problem role="alert" { (problem) }
        }
        @match chosen {
            None => {
                h2 { (ui.t(ReceiveMsg::PickTitle)) }
                form method="get" action="/receive" {
                    label {
                        (ui.t(ReceiveMsg::ProcedureLabel))
                        input name="procedure" list="procedures" value=(entered.procedure) autocomplete="off";
                    }
                    datalist #procedures {
                        @for p in node.catalogue.iter() {
                            option value=(p.code) { (p.name) }
                        }
                    }
                    button type="submit" { (ui.s(ReceiveMsg::Choose)) }
                }
                form method="get" action="/receive" {
                    label {
                        (ui.t(ReceiveMsg::FindLabel))
                        input type="search" name="find" value=(find) maxlength=(MAX_FIELD_CHARS);
                    }
                    button.secondary type="submit" { (ui.s(ReceiveMsg::FindButton)) }
                }
                @if listed.is_empty() {
                    p.empty { (ui.f(ReceiveMsg::NoMatch, &[("find", find)])) }
                } @else {
                    table.procedures {
                        tbody {
                            @for p in &listed {
                                tr {
                                    td { a href={ "/receive?procedure=" (p.code) } { (p.code) } }
                                    td { a href={ "/receive?procedure=" (p.code) } { (p.name) } }
                                    td { (p.field) }
                                    td.num { (fee(ui, p)) }
                                }
                            }
                        }
                    }
                }
            }
            Some(p) => {
                h2 { (p.name) " " span.other { (p.code) } }
                ul.facts {
                    li { (ui.f(ReceiveMsg::ProcessingDays, &[("time", &processing(ui, p))])) }
                    li { (ui.f(ReceiveMsg::Fee, &[("fee", &fee(ui, p))])) @if !p.fee_note.is_empty() { " (" (p.fee_note) ")" } }
                    @if !p.result.is_empty() { li { (ui.f(ReceiveMsg::ResultIs, &[("result", &p.result)])) } }
                }
                p { a href="/receive" { (ui.s(ReceiveMsg::Change)) } }
                form.receive method="post" action="/receive" {
                    input type="hidden" name="csrf" value=(officer.csrf());
                    input type="hidden" name="procedure" value=(p.code);
                    h2 { (ui.t(ReceiveMsg::ApplicantTitle)) }
                    label { (ui.t(ReceiveMsg::Name)) input name="name" value=(entered.name) required maxlength=(MAX_FIELD_CHARS) autofocus; }
                    label { (ui.t(ReceiveMsg::IdNumber)) input name="id_number" value=(entered.id_number) inputmode="numeric" maxlength="14"; }
                    label { (ui.t(ReceiveMsg::Phone)) input name="phone" type="tel" value=(entered.phone) maxlength="20"; }
                    label { (ui.t(ReceiveMsg::Email)) input name="email" type="email" value=(entered.email) maxlength=(MAX_FIELD_CHARS); }
                    label { (ui.t(ReceiveMsg::Address)) input name="address" value=(entered.address) maxlength=(MAX_FIELD_CHARS); }
                    label { (ui.t(ReceiveMsg::Organisation)) input name="organisation" value=(entered.organisation) maxlength=(MAX_FIELD_CHARS); }
                    @if !p.components.is_empty() {
                        h2 { (ui.t(ReceiveMsg::ComponentsTitle)) }
                        @for (i, c) in p.components.iter().enumerate() {
                            @let ticked = entered.components.as_ref().is_none_or(|list| list.contains(&i));
                            label.check {
                                input type="checkbox" name="component" value=(i) checked[ticked];
                                " " (c.name) " " span.other { "(" (ui.l.f(ReceiveMsg::Copies, &[("n", &c.copies.to_string())])) ")" }
                            }
                        }
                    }
                    h2 { (ui.t(ReceiveMsg::DeliveryTitle)) }
                    label {
                        (ui.t(ReceiveMsg::ChannelLabel))
                        select name="channel" {
                            @for c in [Channel::Direct, Channel::Postal, Channel::Online] {
                                option value=(c.as_str()) selected[entered.channel == c.as_str()] { (ui.l.channel(c)) }
                            }
                        }
                    }
                    label {
                        (ui.t(ReceiveMsg::ResultLabel))
                        select name="result_by" {
                            @for c in [Channel::Direct, Channel::Postal] {
                                option value=(c.as_str()) selected[entered.result_by == c.as_str()] { (ui.l.channel(c)) }
                            }
                        }
                    }
                    @if served.len() > 1 {
                        label {
                            (ui.t(ReceiveMsg::AtOffice))
                            select name="office" {
                                @for o in &served {
                                    option value=(o.id) selected[entered.office == o.id.as_str() || (entered.office.is_empty() && &o.id == node.office())] { (o.name) }
                                }
                            }
                        }
                    }
                    p { button type="submit" { (ui.s(ReceiveMsg::Submit)) } }
                }
            }
        }
    };
    page::shell(ui, node, Some(officer), ui.s(ConsoleMsg::NavReceive), body)
}

fn fee(ui: &Ui<'_>, p: &Procedure) -> String {
    if p.fee_vnd == 0 {
        ui.l.t(ReceiveMsg::NoFee).to_string()
    } else {
        ui.l.money(p.fee_vnd)
    }
}

fn processing(ui: &Ui<'_>, p: &Procedure) -> String {
    match p.processing {
        ProcessingTime::WorkingDays(n) => ui.l.working_days(u64::from(n)),
        ProcessingTime::SameDay { cutoff } => ui.l.f(
            ReceiveMsg::SameDay,
            &[("cutoff", &cutoff.format("%H:%M").to_string())],
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::ReceiveMsg>().unwrap();
    }
}
