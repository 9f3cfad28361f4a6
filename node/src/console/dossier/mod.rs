//! The dossier page (`GET /dossiers/{code}`): facts, status, holder, due
//! time and working time left, the timeline in local time with office
//! names, conflicts, flags, attachments, links to the printed forms, and a
//! form for each action the rules allow this office now ([`actions`]).
//! Every word comes from [`messages::DossierMsg`] or the node's catalogue;
//! timeline lines, reasons and flags are worded by `i18n::workflow`, as
//! `lienthong show` words them.

pub mod actions;
pub mod attachments;
pub mod messages;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use lienthong_shared::dossier::fold::DossierState;
use lienthong_shared::dossier::{ActionKind, StoredEvent};
use maud::{Markup, html};
use serde::Deserialize;

use self::attachments::Presence;
use self::messages::DossierMsg;
use super::auth::Officer;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::forms::{Form, FormInput, FormMsg};
use crate::i18n::{Lang, Msg};
use crate::node::Node;
use crate::replication::authorship::messages::AuthorshipMsg;
use crate::service::authors::EventAuthor;
use crate::service::{self, ActionError, DossierView};
use crate::store::StoreError;
use crate::store::quarantine::Quarantined;

/// What the page says after a redirect: an action recorded, a file attached.
#[derive(Deserialize, Default)]
pub struct Banner {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    uploaded: Option<String>,
}

/// The path of a dossier's page.
pub fn path_of(code: &str) -> String {
    format!("/dossiers/{}", url_segment(code))
}

/// A path segment with everything but unreserved characters escaped.
pub fn url_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /dossiers/{code}` (a code, an id or an id prefix).
pub async fn page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(banner): Query<Banner>,
    officer: Officer,
) -> Result<Response, ConsoleError> {
    let now = state.now();
    let page = state
        .run(move |node| {
            let view = match service::view(node, &code, now) {
                Ok(view) => view,
                Err(
                    e @ (ActionError::Store(StoreError::CorruptDocument { .. })
                    | ActionError::Schema(_)),
                ) => return quarantined_only(node, &officer, &code, &e.to_string(), now),
                Err(e) => return Err(ConsoleError::action(node, &e)),
            };
            let quarantined = node.store.read(|r| r.quarantined(&view.row.key))?;
            let presence = attachments::presence(node, &view)?;
            let authors = service::authors::event_authors(node, &view.row.key)?;
            Ok(render(
                node,
                &officer,
                &view,
                &Extras {
                    quarantined: quarantined.as_ref(),
                    presence: &presence,
                    authors: &authors,
                },
                &banner,
                now,
            ))
        })
        .await?;
    Ok(page::ok(page))
}

/// A dossier whose stored copy does not load: set aside (kept as it is,
/// never sent on), as `lienthong show` does, and shown from what the index
/// still knows.
fn quarantined_only(
    node: &mut Node,
    officer: &Officer,
    query: &str,
    problem: &str,
    now: DateTime<Utc>,
) -> Result<Markup, ConsoleError> {
    let row = service::resolve(node, query).map_err(|e| ConsoleError::action(node, &e))?;
    node.store.write(|w| w.quarantine(&row.key, problem, now))?;
    let q = node
        .store
        .read(|r| r.quarantined(&row.key))?
        .ok_or_else(|| ConsoleError::Internal("the dossier was just quarantined".into()))?;
    let ui = Ui::new(node, officer.lang);
    let title = ui.l.f(DossierMsg::Title, &[("code", &row.code)]);
    let body = html! {
        h1 { (ui.f(DossierMsg::Title, &[("code", &row.code)])) }
        p.problem role="alert" {
            (ui.f(DossierMsg::Quarantined, &[("since", &ui.l.datetime(q.since)), ("problem", &q.problem)]))
        }
        dl {
            dt { (ui.t(Msg::FieldProcedure)) } dd { (row.procedure_name) " " span.other { "(" (row.procedure_code) ")" } }
            dt { (ui.t(Msg::FieldApplicant)) } dd { (row.applicant) }
        }
        p { (ui.t(Msg::QuarantineNoHistory)) }
    };
    Ok(page::shell(&ui, node, Some(officer), &title, body))
}

/// What the page shows beside the dossier's own view.
struct Extras<'a> {
    quarantined: Option<&'a Quarantined>,
    presence: &'a [Presence],
    /// The verified author node of each event, in log order (issue 8).
    authors: &'a [EventAuthor],
}

fn render(
    node: &Node,
    officer: &Officer,
    view: &DossierView,
    extras: &Extras<'_>,
    banner: &Banner,
    now: DateTime<Utc>,
) -> Markup {
    let Extras {
        quarantined,
        presence,
        authors,
    } = *extras;
    let ui = Ui::new(node, officer.lang);
    let code = &view.dossier.facts.code;
    let title = ui.l.f(DossierMsg::Title, &[("code", code)]);
    let done = banner
        .done
        .as_deref()
        .and_then(ActionKind::from_name)
        .map(|k| ui.f(DossierMsg::Done, &[("what", ui.l.kind(k))]));
    let body = html! {
        h1 { (ui.f(DossierMsg::Title, &[("code", code)])) }
        @if let Some(done) = done {
            p.done role="status" { (done) }
        }
        @if let Some(name) = &banner.uploaded {
            p.done role="status" { (ui.f(DossierMsg::Uploaded, &[("name", name)])) }
        }
        @if let Some(q) = quarantined {
            p.problem role="alert" {
                (ui.f(DossierMsg::Quarantined, &[("since", &ui.l.datetime(q.since)), ("problem", &q.problem)]))
            }
        }
        (facts(&ui, node, view, now))
        (flags(&ui, &view.state))
        (actions::section(&ui, node, officer, view))
        (attachments::section(&ui, node, officer, view, presence))
        (forms(&ui, node, view, now))
        (timeline(&ui, view, authors))
        (conflicts(&ui, &view.state))
    };
    page::shell(&ui, node, Some(officer), &title, body)
}

fn facts(ui: &Ui<'_>, node: &Node, view: &DossierView, now: DateTime<Utc>) -> Markup {
    let facts = &view.dossier.facts;
    let state = &view.state;
    let p = &facts.procedure;
    let l = &ui.l;
    let time_limit = match (&p.same_day_cutoff, p.processing_days) {
        (Some(cutoff), _) => ui.f(Msg::SameDay, &[("cutoff", cutoff)]),
        (None, Some(days)) => ui.pair(&l.working_days(days), &ui.other.working_days(days)),
        _ => ui.t(Msg::NoProcessingTime),
    };
    let a = &facts.applicant;
    let applicant: Vec<&str> = [
        &a.organisation,
        &a.id_number,
        &a.address,
        &a.phone,
        &a.email,
    ]
    .into_iter()
    .filter(|v| !v.is_empty())
    .map(String::as_str)
    .collect();
    html! {
        section.facts {
            h2 { (ui.t(DossierMsg::Facts)) }
            dl {
                dt { (ui.t(Msg::FieldProcedure)) }
                dd { (p.name) " " span.other { "(" (p.code) ")" } }
                dt { (ui.t(DossierMsg::TimeLimit)) }
                dd { (time_limit) }
                dt { (ui.t(Msg::FieldFee)) }
                dd {
                    @if p.fee_vnd > 0 { (ui.pair(&l.money(p.fee_vnd), &ui.other.money(p.fee_vnd))) }
                    @else { (ui.t(DossierMsg::FeeNone)) }
                }
                dt { (ui.t(Msg::FieldApplicant)) }
                dd { strong { (a.name) } @if !applicant.is_empty() { ", " (applicant.join(", ")) } }
                dt { (ui.t(Msg::FieldOrigin)) }
                dd { (l.office(&facts.origin)) }
                dt { (ui.t(DossierMsg::Channel)) }
                dd { (ui.pair(l.channel(facts.channel), ui.other.channel(facts.channel))) }
                dt { (ui.t(DossierMsg::ResultBy)) }
                dd { (ui.pair(l.channel(facts.result_delivery), ui.other.channel(facts.result_delivery))) }
                dt { (ui.t(Msg::FieldStatus)) }
                dd.status { (ui.pair(l.status_opt(state.status), ui.other.status_opt(state.status))) }
                @if let Some(holder) = &state.holder {
                    dt { (ui.t(Msg::FieldHolder)) }
                    dd.holder { (l.office(holder)) }
                }
                @if let Some(t) = &state.transfer {
                    dt { (ui.t(Msg::FieldTransfer)) }
                    dd.transfer { (l.f(Msg::TransferLine, &[
                        ("from", &l.office(&t.from)),
                        ("to", &l.office(&t.to)),
                        ("at", &l.datetime(t.at)),
                        ("task", &t.task),
                        ("days", &l.working_days(u64::from(t.days))),
                    ])) }
                }
                dt { (ui.t(Msg::FieldReceived)) }
                dd { (l.datetime_opt(state.received_at)) }
                dt { (ui.t(Msg::FieldDue)) }
                dd.due {
                    (l.datetime_opt(state.due_at))
                    @if state.original_due_at != state.due_at {
                        (l.f(Msg::Form01Said, &[("due", &l.datetime_opt(state.original_due_at))]))
                    }
                    " " (time_left(ui, node, view, now))
                    @if let Some(t) = state.timeliness {
                        " [" (ui.pair(l.timeliness(t), ui.other.timeliness(t))) "]"
                    }
                }
                @if let Some(step) = state.step_due_at {
                    dt { (ui.t(Msg::FieldStepDue)) }
                    dd { (l.datetime(step)) }
                }
                @if let Some(apology) = &state.apology {
                    dt { (ui.t(Msg::FieldApology)) }
                    dd { (l.f(Msg::ApologyLine, &[
                        ("at", &l.datetime(apology.at)),
                        ("new_due", &l.datetime(apology.new_due)),
                        ("late", if apology.late { l.t(Msg::ApologyLateMark) } else { "" }),
                        ("reason", &apology.reason),
                    ])) }
                }
                @for pause in &state.pauses {
                    dt { (ui.t(Msg::FieldPaused)) }
                    dd { (l.datetime(pause.from)) " → " (pause.until.map_or(l.t(Msg::WaitingForApplicant).to_string(), |u| l.datetime(u))) }
                }
                @if let Some(result) = &state.result {
                    dt { (ui.t(Msg::FieldResult)) }
                    dd.result {
                        @let desk = l.office(&result.return_office);
                        @let issued = l.datetime(result.issued_at);
                        @let by = l.office(&result.issued_by);
                        @let returned = state.returned_at.map(|at| l.datetime(at));
                        @let mut args = vec![("result", result.result.as_str()), ("at", issued.as_str()), ("by", by.as_str()), ("desk", desk.as_str())];
                        @if let Some(returned) = &returned {
                            ({ args.push(("returned", returned.as_str())); l.f(Msg::ResultReturned, &args) })
                        } @else {
                            (l.f(Msg::ResultWaiting, &args))
                        }
                    }
                }
                @for c in &state.consultations {
                    dt { (ui.t(Msg::FieldConsulted)) }
                    dd { (l.f(Msg::ConsultedLine, &[
                        ("to", &l.office(&c.to)),
                        ("deadline", &l.datetime(c.deadline)),
                        ("question", &c.question),
                        ("answer", &c.answer.as_deref().map_or(l.t(Msg::NoAnswerYet).to_string(), |a| l.f(Msg::AnsweredWith, &[("answer", a)]))),
                    ])) }
                }
            }
            @if !facts.route.is_empty() {
                h3 { (ui.t(Msg::FieldRoute)) }
                ol.route {
                    @for step in &facts.route {
                        li { (l.office(&step.office)) @if step.lead { (l.t(Msg::LeadMark)) } " — " (step.task) " (" (l.working_days(step.days)) ")" }
                    }
                }
            }
            @if !facts.documents.is_empty() {
                h3 { (ui.t(DossierMsg::Components)) }
                ul.components {
                    @for c in &facts.documents {
                        li { (c.name) " " (l.f(Msg::Copies, &[("n", &c.copies.to_string())])) }
                    }
                }
            }
        }
    }
}

/// "còn 5 giờ 30 phút làm việc", or "quá hạn từ …" once past due.
fn time_left(ui: &Ui<'_>, node: &Node, view: &DossierView, now: DateTime<Utc>) -> Markup {
    let Some(due) = view.state.due_at else {
        return html! {};
    };
    if view.row.is_overdue(now) {
        let due = ui.l.datetime(due);
        return html! { span.overdue { (ui.f(DossierMsg::Overdue, &[("due", &due)])) } };
    }
    let running = view.row.ended_at.is_none()
        && view.state.status != Some(lienthong_shared::dossier::Status::AwaitingSupplement);
    if !running {
        return html! {};
    }
    // A due time outside the shipped calendars: say nothing rather than guess.
    let Ok(minutes) = node.calendar.working_minutes_between(now, due) else {
        return html! {};
    };
    let day: i64 = node
        .calendar
        .hours()
        .periods()
        .iter()
        .map(|(start, end)| (*end - *start).num_minutes())
        .sum();
    let (days, rest) = if day > 0 {
        (minutes / day, minutes % day)
    } else {
        (0, minutes)
    };
    let args = [
        ("days", days.to_string()),
        ("h", (rest / 60).to_string()),
        ("m", (rest % 60).to_string()),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let msg = if days > 0 {
        DossierMsg::LeftDays
    } else {
        DossierMsg::LeftHours
    };
    html! { span.left { (ui.f(msg, &args)) } }
}

fn flags(ui: &Ui<'_>, state: &DossierState) -> Markup {
    html! {
        @if !state.flags.is_empty() {
            section.flags {
                h2 { (ui.t(DossierMsg::Flags)) }
                ul {
                    @for flag in &state.flags {
                        li { (ui.pair(&ui.l.flag(flag), &ui.other.flag(flag))) }
                    }
                }
            }
        }
    }
}

/// Links to the printed forms this dossier has now, as the forms module
/// judges them for the dossier's rule set (2018 or 2025), and to the list
/// of all of them.
fn forms(ui: &Ui<'_>, node: &Node, view: &DossierView, now: DateTime<Utc>) -> Markup {
    let base = format!("{}/forms", path_of(&view.row.code));
    let input = FormInput {
        dossier: &view.dossier,
        state: &view.state,
        locale: node.locale(Lang::Vi),
        printed_by: None,
        now,
        authors: &[],
    };
    // A rule set whose forms this version does not know: the list page says so.
    let ready: Vec<Form> = crate::forms::forms_of(&input)
        .map(|list| {
            list.into_iter()
                .filter(|(_, ready)| ready.is_ok())
                .map(|(form, _)| form)
                .collect()
        })
        .unwrap_or_default();
    html! {
        section.forms {
            h2 { (ui.t(DossierMsg::Forms)) }
            ul {
                @for form in &ready {
                    li { a href={ (base) "/" (form.slug()) } {
                        (ui.l.f(FormMsg::FormNumber, &[("n", &form.number_text())])) " — " (ui.t(form.title()))
                    } }
                }
                li { a href=(base) { (ui.t(DossierMsg::FormsAll)) } }
            }
        }
    }
}

fn timeline(ui: &Ui<'_>, view: &DossierView, authors: &[EventAuthor]) -> Markup {
    let l = &ui.l;
    html! {
        section.timeline {
            h2 { (ui.t(Msg::FieldTimeline)) }
            table {
                thead { tr {
                    th { "#" } th { (ui.t(Msg::ColTime)) } th { (ui.t(Msg::ColOffice)) }
                    th { (ui.t(Msg::ColOfficer)) } th { (ui.t(Msg::ColEvent)) }
                    th { (ui.t(AuthorshipMsg::ColAuthor)) }
                } }
                tbody {
                    @for (i, (stored, applied)) in view.dossier.events.iter().zip(&view.state.applied).enumerate() {
                        @match stored {
                            StoredEvent::Valid(event) => {
                                tr class=[(!applied).then_some("not-applied")] {
                                    td { (i + 1) }
                                    td { (l.datetime(event.at)) }
                                    td { (l.office(&event.office)) }
                                    td { (event.officer) }
                                    td {
                                        @if !applied { (l.t(Msg::NotApplied)) }
                                        (l.action(&event.action))
                                    }
                                    (author_cell(ui, authors.get(i)))
                                }
                            }
                            StoredEvent::Malformed { problem, .. } => {
                                tr.not-applied {
                                    td { (i + 1) } td { "?" } td { "?" } td { "?" }
                                    td { (l.f(Msg::Unreadable, &[("problem", problem)])) }
                                    (author_cell(ui, authors.get(i)))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The node that wrote an event, as its verified attestation says: the
/// office it serves by name and its short id (the whole id on hover);
/// "chưa ký" for an event written before changes were signed.
fn author_cell(ui: &Ui<'_>, author: Option<&EventAuthor>) -> Markup {
    match author {
        Some(EventAuthor::Signed { node, office }) => html! {
            td.author.signed {
                @if let Some(office) = office { (ui.l.office(office)) " " }
                code.other title=(node) { (service::authors::short_node_id(node)) "…" }
            }
        },
        Some(EventAuthor::Invalid) => html! {
            td.author.problem { (ui.t(AuthorshipMsg::AuthorInvalid)) }
        },
        Some(EventAuthor::Unsigned) | None => html! {
            td.author.unsigned { (ui.t(AuthorshipMsg::AuthorUnsigned)) }
        },
    }
}

fn conflicts(ui: &Ui<'_>, state: &DossierState) -> Markup {
    let l = &ui.l;
    html! {
        @if !state.conflicts.is_empty() {
            section.conflicts {
                h2 { (ui.t(DossierMsg::Conflicts)) }
                p { (ui.t(DossierMsg::ConflictsExplained)) }
                ul {
                    @for conflict in &state.conflicts {
                        @let kind = ActionKind::from_name(&conflict.kind).map_or(conflict.kind.clone(), |k| l.kind(k).to_string());
                        li { "✗ " (l.f(Msg::ConflictLine, &[
                            ("index", &(conflict.index + 1).to_string()),
                            ("kind", &kind),
                            ("office", &conflict.office.as_ref().map_or("?".into(), |o| l.office(o))),
                            ("reason", &l.reason(&conflict.reason)),
                        ])) }
                    }
                }
            }
        }
    }
}
