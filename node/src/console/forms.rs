//! The printed forms in the console: a dossier's forms (which it has now,
//! and why not the others), each form as a print page or a PDF, and the
//! office's register for a period. The forms themselves are drawn by
//! [`crate::forms`]; this module loads the dossier (one load, one fold, via
//! the service layer) and answers.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
use maud::html;
use serde::Deserialize;

use super::auth::Officer;
use super::error::Bilingual;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::forms::{self, FormError, FormInput, FormMsg, FormSet, Register, pdf};
use crate::i18n::Lang;
use crate::node::Node;
use crate::service;

/// The most dossiers one printed register holds.
pub const REGISTER_LIMIT: usize = 5000;

/// A form's refusal as the console's error page.
fn refused(error: &FormError) -> ConsoleError {
    let status = match error {
        FormError::UnknownForm { .. } => StatusCode::NOT_FOUND,
        FormError::NotAvailable { .. } | FormError::RegisterPerOffice { .. } => {
            StatusCode::CONFLICT
        }
        FormError::UnknownRuleSet { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        FormError::Qr { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ConsoleError::Refused {
        status,
        message: Bilingual {
            vi: error.words(Lang::Vi),
            en: error.words(Lang::En),
        },
    }
}

/// `GET /dossiers/{code}/forms`: the forms of the dossier's rule set, with
/// a link to each it has and, for the others, why not yet.
pub async fn index(
    State(state): State<AppState>,
    officer: Officer,
    Path(code): Path<String>,
) -> Result<Response, ConsoleError> {
    let now = state.now();
    let page = state
        .run(move |node| {
            let view =
                service::view(node, &code, now).map_err(|e| ConsoleError::action(node, &e))?;
            let input = FormInput {
                dossier: &view.dossier,
                state: &view.state,
                locale: node.locale(Lang::Vi),
                printed_by: None,
                now,
                authors: &[],
            };
            let set = FormSet::of(&view.dossier.facts.rules).map_err(|e| refused(&e))?;
            let list = forms::forms_of(&input).map_err(|e| refused(&e))?;
            let ui = Ui::new(node, officer.lang);
            let code = &view.dossier.facts.code;
            let base = format!("/dossiers/{code}/forms");
            let body = html! {
                h1 { (ui.f(FormMsg::IndexTitle, &[("code", code)])) }
                p { (ui.f(FormMsg::IndexRules, &[("circular", set.circular().text(ui.lang()))])) }
                table.forms {
                    tbody {
                        @for (form, ready) in &list {
                            tr data-form=(form.slug()) {
                                td { (ui.l.f(FormMsg::FormNumber, &[("n", &form.number_text())])) }
                                td { (ui.t(form.title())) }
                                td {
                                    @match ready {
                                        Ok(()) => {
                                            a.form href={ (base) "/" (form.slug()) } { (ui.s(FormMsg::PrintButton)) }
                                            " · "
                                            a.pdf href={ (base) "/" (form.slug()) ".pdf" } { (ui.s(FormMsg::IndexPdf)) }
                                        }
                                        Err(FormError::RegisterPerOffice { .. }) => {
                                            a.register href="/register" { (ui.s(FormMsg::IndexRegister)) }
                                        }
                                        Err(why) => {
                                            span.unavailable { (why.words(ui.lang())) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            };
            let title = ui.l.f(FormMsg::IndexTitle, &[("code", code)]);
            Ok(page::shell(&ui, node, Some(&officer), &title, body))
        })
        .await?;
    Ok(page::ok(page))
}

/// `GET /dossiers/{code}/forms/{form}`: the form as a print page (`mau-01`)
/// or as a PDF (`mau-01.pdf`, when a headless Chromium is installed).
pub async fn form(
    State(state): State<AppState>,
    officer: Officer,
    Path((code, form)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let (slug, as_pdf) = match form.strip_suffix(".pdf") {
        Some(slug) => (slug.to_string(), true),
        None => (form, false),
    };
    let now = state.now();
    let officer_name = officer.officer_name().to_string();
    let (code, html) = state
        .run(move |node| {
            let view =
                service::view(node, &code, now).map_err(|e| ConsoleError::action(node, &e))?;
            let authors = service::authors::event_authors(node, &view.row.key)?;
            let input = FormInput {
                dossier: &view.dossier,
                state: &view.state,
                locale: node.locale(Lang::Vi),
                printed_by: Some(&officer_name),
                now,
                authors: &authors,
            };
            let markup = forms::render(&slug, &input).map_err(|e| refused(&e))?;
            Ok((
                format!("{}-{slug}", view.dossier.facts.code),
                markup.into_string(),
            ))
        })
        .await?;
    if !as_pdf {
        return Ok(Html(html).into_response());
    }
    let Some(browser) = pdf::find_browser() else {
        return Err(ConsoleError::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            FormMsg::ErrNoBrowser,
            &[],
        ));
    };
    // The browser runs without the node's lock.
    let printed = tokio::task::spawn_blocking(move || pdf::print(&browser, &html))
        .await
        .map_err(|e| ConsoleError::Internal(format!("the PDF task failed: {e}")))?;
    match printed {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}.pdf\"", ascii_name(&code)),
                ),
            ],
            bytes,
        )
            .into_response()),
        Err(e) => Err(ConsoleError::refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            FormMsg::ErrPdf,
            &[("detail", &e.to_string())],
        )),
    }
}

/// A file name safe in a header: letters, digits, `-`, `.`, `_`.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct Period {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// A local date as officers type it: `yyyy-mm-dd` (a date field) or `dd/mm/yyyy`.
pub fn parse_date(text: &str) -> Result<NaiveDate, ConsoleError> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .map_err(|_| {
            ConsoleError::refused(
                StatusCode::BAD_REQUEST,
                FormMsg::ErrBadDate,
                &[("date", text)],
            )
        })
}

/// `GET /register?from=…&to=…`: the register of this office's dossiers
/// received in the period (local dates, both included). Without a period,
/// a page to choose one (this month so far by default).
pub async fn register(
    State(state): State<AppState>,
    officer: Officer,
    Query(period): Query<Period>,
) -> Result<Response, ConsoleError> {
    let now = state.now();
    let chosen = match (&period.from, &period.to) {
        (Some(from), Some(to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
            let (from, to) = (parse_date(from)?, parse_date(to)?);
            if from > to {
                return Err(ConsoleError::refused(
                    StatusCode::BAD_REQUEST,
                    FormMsg::ErrPeriod,
                    &[
                        ("from", &from.format("%d/%m/%Y").to_string()),
                        ("to", &to.format("%d/%m/%Y").to_string()),
                    ],
                ));
            }
            Some((from, to))
        }
        _ => None,
    };
    let name = officer.officer_name().to_string();
    let page = state
        .run(move |node| match chosen {
            Some((from, to)) => {
                Ok(Html(register_page(node, from, to, &name, now)?).into_response())
            }
            None => Ok(page::ok(choose_period(node, &officer, now))),
        })
        .await?;
    Ok(page)
}

fn choose_period(node: &Node, officer: &Officer, now: chrono::DateTime<Utc>) -> maud::Markup {
    let ui = Ui::new(node, officer.lang);
    let today = node.calendar.local_date(now);
    let first = today.with_day(1).unwrap_or(today);
    let body = html! {
        h1 { (ui.t(FormMsg::RegisterTitle)) }
        form.period method="get" action="/register" {
            label { (ui.t(FormMsg::RegisterFrom)) " " input type="date" name="from" value=(first.format("%Y-%m-%d")) required; }
            " "
            label { (ui.t(FormMsg::RegisterTo)) " " input type="date" name="to" value=(today.format("%Y-%m-%d")) required; }
            " "
            button type="submit" { (ui.s(FormMsg::RegisterShow)) }
        }
    };
    page::shell(&ui, node, Some(officer), ui.s(FormMsg::RegisterTitle), body)
}

/// The printed register of this node's office for a period: the dossiers
/// received at every office it serves.
pub fn register_page(
    node: &mut Node,
    from: NaiveDate,
    to: NaiveDate,
    printed_by: &str,
    now: chrono::DateTime<Utc>,
) -> Result<String, ConsoleError> {
    let tz = node.calendar.timezone();
    let start = local_midnight(tz, from);
    let end = local_midnight(tz, to.checked_add_days(Days::new(1)).unwrap_or(to));
    let office = node.office().clone();
    // Every desk this node serves (a Center receives for its departments).
    let origins: Vec<String> = node.served_ids().iter().map(|o| o.to_string()).collect();
    let mut rows = node
        .store
        .read(|r| r.received_between(&origins, start, end, REGISTER_LIMIT + 1))?;
    let truncated = rows.len() > REGISTER_LIMIT;
    rows.truncate(REGISTER_LIMIT);
    let set = node
        .network
        .rule_sets
        .in_force_on(to)
        .map(|r| r.id.clone())
        .and_then(|id| FormSet::of(&id).ok())
        .unwrap_or(FormSet::Circular2025);
    let register = Register {
        office: &office,
        set,
        from,
        to,
        rows: &rows,
        truncated,
        printed_by: Some(printed_by),
        now,
    };
    Ok(forms::render_register(&node.locale(Lang::Vi), &register).into_string())
}

/// Midnight at the start of `date` in the office's zone, in UTC.
fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> chrono::DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight).earliest().map_or_else(
        || Utc.from_utc_datetime(&midnight),
        |t| t.with_timezone(&Utc),
    )
}

#[cfg(test)]
mod tests {
    use crate::console::Console;
    use crate::forms::pdf;
    use crate::forms::tests::{commune, decode_qr, local, receive};
    use crate::replication::Clock;
    use crate::service::accounts::{self, Role};

    const PASSWORD: &str = "một mật khẩu đủ dài";

    fn body(response: ureq::http::Response<ureq::Body>) -> String {
        response.into_body().read_to_string().unwrap()
    }

    #[test]
    fn an_officer_prints_a_dossier_s_forms_and_the_register_from_the_console() {
        let root = tempfile::tempdir().unwrap();
        let mut node = commune(root.path());
        let code = receive(&mut node, local(2026, 3, 2, 9, 0));
        let now = local(2026, 3, 2, 10, 0);
        accounts::add(&mut node, "hoa", "Trần Thị Hoa", Role::Desk, PASSWORD, now).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let console = runtime
            .block_on(Console::start(
                node,
                "127.0.0.1:0".parse().unwrap(),
                Clock::new(move || now),
            ))
            .unwrap();
        let base = format!("http://{}", console.local_addr());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();

        // Without a session: sent to sign in, no form.
        let form_path = format!("/dossiers/{code}/forms/mau-01");
        let r = agent.get(format!("{base}{form_path}")).call().unwrap();
        assert_eq!(r.status(), 303);
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/sign-in")
        );

        let r = agent
            .post(format!("{base}/sign-in"))
            .send_form([("name", "hoa"), ("password", PASSWORD)])
            .unwrap();
        assert_eq!(r.status(), 303, "signed in");
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let get = |path: &str| {
            agent
                .get(format!("{base}{path}"))
                .header("Cookie", &cookie)
                .call()
                .unwrap()
        };

        // The index: Mẫu 01 offered, Mẫu 02 not yet, with why.
        let r = get(&format!("/dossiers/{code}/forms"));
        assert_eq!(r.status(), 200);
        let index = body(r);
        assert!(index.contains(&format!("href=\"{form_path}\"")), "{index}");
        assert!(index.contains(&format!("href=\"{form_path}.pdf\"")));
        assert!(index.contains("chưa có yêu cầu bổ sung"), "why not Mẫu 02");
        assert!(index.contains("href=\"/register\""));

        // Mẫu 01: the print page with its QR code.
        let r = get(&form_path);
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = body(r);
        assert_eq!(decode_qr(&page), code);
        assert!(page.contains("In / Print") && page.contains("@media print"));
        assert!(page.contains("In lúc 02/03/2026 10:00 bởi Trần Thị Hoa"));

        // A form the dossier does not have, and one the rule set does not.
        let r = get(&format!("/dossiers/{code}/forms/mau-02"));
        assert_eq!(r.status(), 409);
        let refusal = body(r);
        assert!(
            refusal.contains("chưa có yêu cầu bổ sung")
                && refusal.contains("has no supplement request")
        );
        assert!(refusal.contains("Không có gì bị thay đổi."));
        assert_eq!(get(&format!("/dossiers/{code}/forms/mau-09")).status(), 404);
        assert_eq!(
            get("/dossiers/000.00.00.X00-260302-9999/forms/mau-01").status(),
            404
        );

        // The register: a page to choose the period, then the register.
        let chooser = body(get("/register"));
        assert!(chooser.contains("type=\"date\"") && chooser.contains("name=\"from\""));
        let r = get("/register?from=2026-03-02&to=02/03/2026");
        assert_eq!(r.status(), 200);
        let register = body(r);
        assert!(register.contains(&code) && register.contains("Sổ theo dõi hồ sơ"));
        assert!(register.contains("size: A4 landscape"));
        let r = get("/register?from=2026-03-05&to=2026-03-01");
        assert_eq!(r.status(), 400, "a period ending before it starts");
        let r = get("/register?from=hôm+qua&to=2026-03-01");
        assert_eq!(r.status(), 400);
        assert!(body(r).contains("dd/mm/yyyy"));

        // The PDF, when a headless Chromium is installed.
        match pdf::find_browser() {
            None => eprintln!(
                "SKIPPED the PDF check: no headless Chromium installed (set {} or install chromium)",
                pdf::BROWSER_ENV
            ),
            Some(_) => {
                let r = get(&format!("{form_path}.pdf"));
                assert_eq!(r.status(), 200);
                assert_eq!(r.headers()["content-type"], "application/pdf");
                let bytes = r.into_body().read_to_vec().unwrap();
                assert!(bytes.starts_with(b"%PDF-"));
                let text = String::from_utf8_lossy(&bytes);
                let pages =
                    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
                assert_eq!(
                    pages, 1,
                    "Mẫu 01 fits on one A4 sheet (in Times New Roman or Liberation Serif: \
                     is fonts-liberation installed?)"
                );
                assert!(text.contains("/MediaBox [0 0 594.9"), "A4 is 595 × 842 pt");
            }
        }
        runtime.block_on(console.shutdown());
    }
}
