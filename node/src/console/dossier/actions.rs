//! The actions on a dossier: a small form for each action the rules allow
//! this office now (`DossierView.allowed`, from the service's one fold),
//! and `POST /dossiers/{code}/actions/{kind}` turning the form into the
//! same [`Intent`] the CLI builds and handing it to [`service::act`]. The
//! console decides no workflow: defaults (next route step, the open
//! consultation, the apology's date, the return desk) are the service's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::{Action, ActionKind, AppraisalOutcome, Channel, EventId};
use maud::{Markup, html};
use serde::Deserialize;

use super::messages::DossierMsg;
use super::path_of;
use crate::console::auth::{Officer, Posted};
use crate::console::page::Ui;
use crate::console::{AppState, ConsoleError};
use crate::i18n::Lang;
use crate::node::Node;
use crate::service::{self, DossierView, Intent, NewDue, plan};

/// Every field any action's form may carry; each action reads its own.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// The office this node acts as (one of those it serves).
    #[serde(default)]
    office: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    place: Option<String>,
    #[serde(default)]
    who: Option<String>,
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    consultation: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    items: Option<String>,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    receipt: Option<String>,
    #[serde(default)]
    new_due: Option<String>,
    #[serde(default)]
    extra_days: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    attachment: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// A field left empty is a field not given.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn invalid(msg: DossierMsg, label: DossierMsg, value: &str) -> ConsoleError {
    let field = format!("{} / {}", label.text(Lang::Vi), label.text(Lang::En));
    ConsoleError::refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        msg,
        &[("field", &field), ("value", value)],
    )
}

fn required(field: &Option<String>, label: DossierMsg) -> Result<String, ConsoleError> {
    given(field)
        .map(str::to_string)
        .ok_or_else(|| invalid(DossierMsg::Missing, label, ""))
}

fn optional(field: &Option<String>) -> String {
    given(field).unwrap_or_default().to_string()
}

fn number<T: std::str::FromStr>(
    field: &Option<String>,
    label: DossierMsg,
) -> Result<Option<T>, ConsoleError> {
    given(field)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| invalid(DossierMsg::BadNumber, label, v))
        })
        .transpose()
}

fn office(field: &Option<String>, label: DossierMsg) -> Result<Option<OfficeId>, ConsoleError> {
    given(field)
        .map(|v| {
            v.parse::<OfficeId>()
                .map_err(|_| invalid(DossierMsg::BadChoice, label, v))
        })
        .transpose()
}

fn time(
    field: &Option<String>,
    label: DossierMsg,
    tz: chrono_tz::Tz,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ConsoleError> {
    given(field)
        .map(|v| {
            crate::cli::args::parse_time(v, tz).map_err(|_| invalid(DossierMsg::BadTime, label, v))
        })
        .transpose()
}

/// What the form asks for, as the service's [`Intent`] — the same the CLI
/// builds from its flags.
pub fn intent(
    kind: ActionKind,
    form: &ActionForm,
    tz: chrono_tz::Tz,
) -> Result<Intent, ConsoleError> {
    use DossierMsg as F;
    Ok(match kind {
        ActionKind::Received => Intent::AcceptSubmission,
        ActionKind::Refused => Intent::Exact(Action::Refused {
            reason: required(&form.reason, F::FieldReason)?,
        }),
        ActionKind::Forwarded => Intent::Forward {
            to: office(&form.to, F::FieldTo)?,
            task: given(&form.task).map(str::to_string),
            days: number(&form.days, F::FieldDays)?,
        },
        ActionKind::ForwardCancelled => Intent::Exact(Action::ForwardCancelled {
            reason: optional(&form.reason),
        }),
        ActionKind::Accepted => Intent::Exact(Action::Accepted),
        ActionKind::Appraised => {
            let text = required(&form.outcome, F::FieldOutcome)?;
            let outcome = AppraisalOutcome::parse(&text)
                .ok_or_else(|| invalid(F::BadChoice, F::FieldOutcome, &text))?;
            Intent::Exact(Action::Appraised {
                outcome,
                note: optional(&form.note),
            })
        }
        ActionKind::VerificationScheduled => Intent::Exact(Action::VerificationScheduled {
            when: time(&form.when, F::FieldWhen, tz)?
                .ok_or_else(|| invalid(F::Missing, F::FieldWhen, ""))?,
            place: required(&form.place, F::FieldPlace)?,
            who: optional(&form.who),
        }),
        ActionKind::Consulted => Intent::Consult {
            to: office(&form.to, F::FieldTo)?.ok_or_else(|| invalid(F::Missing, F::FieldTo, ""))?,
            question: required(&form.question, F::FieldQuestion)?,
            days: number(&form.days, F::FieldDays)?.unwrap_or(5),
        },
        ActionKind::ConsultationAnswered => Intent::Answer {
            consultation: given(&form.consultation).map(|id| EventId(id.to_string())),
            answer: required(&form.answer, F::FieldAnswer)?,
        },
        ActionKind::SupplementRequested => {
            let items: Vec<String> = optional(&form.items)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if items.is_empty() {
                return Err(invalid(F::Missing, F::FieldItems, ""));
            }
            Intent::Exact(Action::SupplementRequested {
                items,
                reason: required(&form.reason, F::FieldReason)?,
            })
        }
        ActionKind::SupplementReceived => Intent::Exact(Action::SupplementReceived {
            note: optional(&form.note),
        }),
        ActionKind::PaymentRequested => Intent::Exact(Action::PaymentRequested {
            amount_vnd: number(&form.amount, F::FieldAmount)?
                .ok_or_else(|| invalid(F::Missing, F::FieldAmount, ""))?,
            note: optional(&form.note),
        }),
        ActionKind::Paid => Intent::Exact(Action::Paid {
            amount_vnd: number(&form.amount, F::FieldAmount)?
                .ok_or_else(|| invalid(F::Missing, F::FieldAmount, ""))?,
            receipt: optional(&form.receipt),
        }),
        ActionKind::Apologized => Intent::Apologize {
            reason: required(&form.reason, F::FieldReason)?,
            new_due: match (
                time(&form.new_due, F::FieldNewDue, tz)?,
                number(&form.extra_days, F::FieldExtraDays)?,
            ) {
                (Some(at), _) => NewDue::At(at),
                (None, Some(days)) => NewDue::ExtraWorkingDays(days),
                (None, None) => return Err(invalid(F::Missing, F::FieldNewDue, "")),
            },
        },
        ActionKind::WithdrawalRequested => Intent::Exact(Action::WithdrawalRequested {
            reason: optional(&form.reason),
        }),
        ActionKind::Stopped => Intent::Exact(Action::Stopped {
            reason: required(&form.reason, F::FieldReason)?,
        }),
        ActionKind::Approved => Intent::Exact(Action::Approved {
            note: optional(&form.note),
        }),
        ActionKind::ResultIssued => Intent::IssueResult {
            result: required(&form.result, F::FieldResult)?,
            attachment: given(&form.attachment).map(str::to_string),
        },
        ActionKind::Returned => {
            let text = given(&form.channel).unwrap_or("direct");
            Intent::Exact(Action::Returned {
                channel: Channel::parse(text)
                    .ok_or_else(|| invalid(F::BadChoice, F::FieldChannel, text))?,
            })
        }
        ActionKind::Note => Intent::Exact(Action::Note {
            text: required(&form.text, F::FieldText)?,
        }),
        ActionKind::Submitted | ActionKind::Unknown => {
            return Err(invalid(F::UnknownAction, F::Actions, kind.as_str()));
        }
    })
}

/// `POST /dossiers/{code}/actions/{kind}`: role first, then the service;
/// a refusal is the error page (nothing written), success goes back to the
/// dossier with a banner.
pub async fn post(
    State(state): State<AppState>,
    Path((code, kind)): Path<(String, String)>,
    posted: Posted<ActionForm>,
) -> Result<Response, ConsoleError> {
    let Posted { officer, form } = posted;
    let kind = ActionKind::from_name(&kind)
        .filter(|k| !matches!(k, ActionKind::Submitted | ActionKind::Unknown))
        .ok_or_else(|| invalid(DossierMsg::UnknownAction, DossierMsg::Actions, &kind))?;
    let what = format!(
        "{} / {}",
        crate::i18n::Msg::text(kind_msg(kind), Lang::Vi),
        kind.command()
    );
    officer.require(kind, &what)?;
    let now = state.now();
    let name = officer.officer_name().to_string();
    let target = state
        .run(move |node| {
            let tz = node.calendar.timezone();
            let intent = intent(kind, &form, tz)?;
            let acting = office(&form.office, DossierMsg::ActionsFor)?;
            let recorded = service::act(node, &code, acting.as_ref(), &name, now, &intent)
                .map_err(|e| ConsoleError::action(node, &e))?;
            tracing::info!(code = %recorded.code, kind = kind.as_str(), officer = %name, "recorded from the console");
            Ok(format!("{}?done={}", path_of(&recorded.code), kind.as_str()))
        })
        .await?;
    Ok(Redirect::to(&target).into_response())
}

/// The catalogue's name of an action kind (as on a button).
fn kind_msg(kind: ActionKind) -> crate::i18n::Msg {
    use crate::i18n::Msg as M;
    match kind {
        ActionKind::Submitted => M::KindSubmitted,
        ActionKind::Received => M::KindReceived,
        ActionKind::Refused => M::KindRefused,
        ActionKind::Forwarded => M::KindForwarded,
        ActionKind::ForwardCancelled => M::KindForwardCancelled,
        ActionKind::Accepted => M::KindAccepted,
        ActionKind::Appraised => M::KindAppraised,
        ActionKind::VerificationScheduled => M::KindVerificationScheduled,
        ActionKind::Consulted => M::KindConsulted,
        ActionKind::ConsultationAnswered => M::KindConsultationAnswered,
        ActionKind::SupplementRequested => M::KindSupplementRequested,
        ActionKind::SupplementReceived => M::KindSupplementReceived,
        ActionKind::PaymentRequested => M::KindPaymentRequested,
        ActionKind::Paid => M::KindPaid,
        ActionKind::Apologized => M::KindApologized,
        ActionKind::WithdrawalRequested => M::KindWithdrawalRequested,
        ActionKind::Stopped => M::KindStopped,
        ActionKind::Approved => M::KindApproved,
        ActionKind::ResultIssued => M::KindResultIssued,
        ActionKind::Returned => M::KindReturned,
        ActionKind::Note => M::KindNote,
        ActionKind::Unknown => M::KindUnknown,
    }
}

/// The actions section: per office this node serves, a form for each
/// action the rules allow it now that the officer's role may do; the rest
/// named, with the role they need. A note form is always there.
pub fn section(ui: &Ui<'_>, node: &Node, officer: &Officer, view: &DossierView) -> Markup {
    let l = &ui.l;
    html! {
        section.actions {
            h2 { (ui.t(DossierMsg::Actions)) }
            @if view.allowed.is_empty() {
                p { (ui.t(DossierMsg::NothingAllowed)) }
            }
            @for (office, kinds) in &view.allowed {
                @let (mine, others): (Vec<ActionKind>, Vec<ActionKind>) = kinds.iter().partition(|k| officer.role().may(**k));
                div.office-actions {
                    h3 { (ui.f(DossierMsg::ActionsFor, &[("office", &l.office(office))])) }
                    @for kind in &mine {
                        (form(ui, node, officer, view, office, *kind))
                    }
                    @if !others.is_empty() {
                        @let names: Vec<&str> = others.iter().map(|k| l.kind(*k)).collect();
                        p.other-role { (ui.f(DossierMsg::OtherRole, &[("list", &names.join(", "))])) }
                    }
                }
            }
            @if officer.role().may(ActionKind::Note) {
                (form(ui, node, officer, view, node.office(), ActionKind::Note))
            }
        }
    }
}

/// One action's form.
fn form(
    ui: &Ui<'_>,
    node: &Node,
    officer: &Officer,
    view: &DossierView,
    office: &OfficeId,
    kind: ActionKind,
) -> Markup {
    let action = format!("{}/actions/{}", path_of(&view.row.code), kind.as_str());
    html! {
        details.action {
            summary { (ui.pair(ui.l.kind(kind), ui.other.kind(kind))) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(officer.csrf());
                input type="hidden" name="office" value=(office.as_str());
                (fields(ui, node, view, office, kind))
                button type="submit" { (ui.s(DossierMsg::Submit)) ": " (ui.l.kind(kind)) }
            }
        }
    }
}

fn text_field(ui: &Ui<'_>, name: &str, label: DossierMsg, required: bool) -> Markup {
    html! {
        label { (ui.t(label)) " " input name=(name) required[required]; }
    }
}

fn area_field(ui: &Ui<'_>, name: &str, label: DossierMsg, required: bool) -> Markup {
    html! {
        label { (ui.t(label)) " " textarea name=(name) rows="3" required[required] {} }
    }
}

/// The office picker: the route's offices first (the next step chosen),
/// then every other office of the tree, by name.
fn office_picker(ui: &Ui<'_>, node: &Node, view: &DossierView, with_default: bool) -> Markup {
    let route = &view.dossier.facts.route;
    let next = if with_default {
        plan::next_step(route, &view.state).map(|s| s.office.clone())
    } else {
        None
    };
    let mut others: Vec<(String, &OfficeId)> = node
        .network
        .offices
        .iter()
        .filter(|o| !route.iter().any(|s| s.office == o.id))
        .map(|o| (o.name.clone(), &o.id))
        .collect();
    others.sort();
    html! {
        label {
            (ui.t(DossierMsg::FieldTo)) " "
            select name="to" {
                @if with_default {
                    option value="" selected[next.is_none()] { "(" (ui.s(DossierMsg::NextStep)) ")" }
                }
                optgroup label=(ui.s(DossierMsg::RouteGroup)) {
                    @for step in route {
                        option value=(step.office.as_str()) selected[next.as_ref() == Some(&step.office)] { (ui.l.office(&step.office)) }
                    }
                }
                optgroup label=(ui.s(DossierMsg::AllOffices)) {
                    @for (name, id) in &others {
                        option value=(id.as_str()) { (name) }
                    }
                }
            }
        }
    }
}

fn fields(
    ui: &Ui<'_>,
    node: &Node,
    view: &DossierView,
    office: &OfficeId,
    kind: ActionKind,
) -> Markup {
    use DossierMsg as F;
    let l = &ui.l;
    match kind {
        ActionKind::Refused | ActionKind::Stopped => area_field(ui, "reason", F::FieldReason, true),
        ActionKind::ForwardCancelled | ActionKind::WithdrawalRequested => {
            area_field(ui, "reason", F::FieldReason, false)
        }
        ActionKind::Forwarded => html! {
            (office_picker(ui, node, view, true))
            (text_field(ui, "task", F::FieldTask, false))
            label { (ui.t(F::FieldDays)) " " input name="days" type="number" min="0" placeholder=(ui.s(F::FieldDaysDefault)); }
        },
        ActionKind::Appraised => html! {
            label {
                (ui.t(F::FieldOutcome)) " "
                select name="outcome" {
                    @for o in [AppraisalOutcome::Ok, AppraisalOutcome::NeedsSupplement, AppraisalOutcome::NotEligible] {
                        option value=(o.as_str()) { (l.outcome(o)) }
                    }
                }
            }
            (area_field(ui, "note", F::FieldNote, false))
        },
        ActionKind::VerificationScheduled => html! {
            label { (ui.t(F::FieldWhen)) " " input name="when" type="datetime-local" required; }
            (text_field(ui, "place", F::FieldPlace, true))
            (text_field(ui, "who", F::FieldWho, false))
        },
        ActionKind::Consulted => html! {
            (office_picker(ui, node, view, false))
            (area_field(ui, "question", F::FieldQuestion, true))
            label { (ui.t(F::FieldDays)) " " input name="days" type="number" min="1" value="5"; }
        },
        ActionKind::ConsultationAnswered => {
            let open: Vec<_> = view
                .state
                .open_consultations()
                .filter(|c| &c.to == office)
                .collect();
            html! {
                label {
                    (ui.t(F::FieldConsultation)) " "
                    select name="consultation" {
                        @for c in &open {
                            option value=(c.event.0) { (l.datetime(c.opened_at)) " — " (c.question) }
                        }
                    }
                }
                (area_field(ui, "answer", F::FieldAnswer, true))
            }
        }
        ActionKind::SupplementRequested => html! {
            (area_field(ui, "items", F::FieldItems, true))
            (area_field(ui, "reason", F::FieldReason, true))
        },
        ActionKind::SupplementReceived | ActionKind::Approved => {
            area_field(ui, "note", F::FieldNote, false)
        }
        ActionKind::PaymentRequested => html! {
            label { (ui.t(F::FieldAmount)) " " input name="amount" type="number" min="0" required value=(view.dossier.facts.procedure.fee_vnd); }
            (area_field(ui, "note", F::FieldNote, false))
        },
        ActionKind::Paid => html! {
            label { (ui.t(F::FieldAmount)) " " input name="amount" type="number" min="0" required value=(view.dossier.facts.procedure.fee_vnd); }
            (text_field(ui, "receipt", F::FieldReceipt, false))
        },
        ActionKind::Apologized => html! {
            (area_field(ui, "reason", F::FieldReason, true))
            label { (ui.t(F::FieldNewDue)) " " input name="new_due" type="datetime-local"; }
            label { (ui.t(F::FieldExtraDays)) " " input name="extra_days" type="number" min="1"; }
        },
        ActionKind::ResultIssued => {
            let files = service::attachments_of(&view.dossier);
            html! {
                (area_field(ui, "result", F::FieldResult, true))
                @if !files.is_empty() {
                    label {
                        (ui.t(F::FieldResultFile)) " "
                        select name="attachment" {
                            option value="" { (ui.s(F::FieldNone)) }
                            @for a in &files {
                                option value=(a.hash) { (a.name) }
                            }
                        }
                    }
                }
            }
        }
        ActionKind::Returned => html! {
            label {
                (ui.t(F::FieldChannel)) " "
                select name="channel" {
                    @for c in [Channel::Direct, Channel::Postal] {
                        option value=(c.as_str()) selected[c == view.dossier.facts.result_delivery] { (l.channel(c)) }
                    }
                }
            }
        },
        ActionKind::Note => area_field(ui, "text", F::FieldText, true),
        ActionKind::Received
        | ActionKind::Accepted
        | ActionKind::Submitted
        | ActionKind::Unknown => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_form() -> ActionForm {
        let s = |v: &str| Some(v.to_string());
        ActionForm {
            office: s("commune:dien-ban/dien-phuong"),
            to: s("district:dien-ban"),
            task: s("Thẩm định"),
            days: s("5"),
            reason: s("Thiếu giấy tờ"),
            note: s("ghi chú"),
            outcome: s("not_eligible"),
            when: s("2026-03-04T09:30"),
            place: s("Thửa đất số 12"),
            who: s("Tổ xác minh"),
            question: s("Ý kiến về nghĩa vụ tài chính?"),
            consultation: s("abc123"),
            answer: s("Đồng ý"),
            items: s("Bản sao CCCD\n\n  Sơ đồ thửa đất  \n"),
            amount: s("2500000"),
            receipt: s("BL-0012"),
            new_due: s("2026-03-20 16:00"),
            extra_days: None,
            result: s("Giấy chứng nhận"),
            attachment: None,
            channel: s("postal"),
            text: s("Đã gọi điện cho người nộp"),
        }
    }

    /// Every action an officer can take maps to an intent of that kind,
    /// read from its own fields (times in the office's zone).
    #[test]
    fn every_action_form_becomes_the_intent_of_its_kind() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let form = full_form();
        for kind in ActionKind::KNOWN {
            if matches!(kind, ActionKind::Submitted | ActionKind::Unknown) {
                assert!(
                    intent(kind, &form, tz).is_err(),
                    "{kind:?} is not an officer's form"
                );
                continue;
            }
            let intent = intent(kind, &form, tz).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(intent.kind(), kind);
        }
        let Intent::Exact(Action::SupplementRequested { items, .. }) =
            intent(ActionKind::SupplementRequested, &form, tz).unwrap()
        else {
            panic!("a supplement request")
        };
        assert_eq!(
            items,
            ["Bản sao CCCD", "Sơ đồ thửa đất"],
            "one item a line, blanks dropped"
        );
        let Intent::Exact(Action::VerificationScheduled { when, .. }) =
            intent(ActionKind::VerificationScheduled, &form, tz).unwrap()
        else {
            panic!("a verification")
        };
        assert_eq!(
            when.to_rfc3339(),
            "2026-03-04T02:30:00+00:00",
            "09:30 local is 02:30 UTC"
        );
        assert_eq!(
            intent(ActionKind::Returned, &form, tz).unwrap(),
            Intent::Exact(Action::Returned {
                channel: Channel::Postal
            })
        );
    }

    /// Defaults are left to the service: an empty target, task or days is
    /// not given, and an apology may give extra days instead of a time.
    #[test]
    fn empty_fields_leave_the_defaults_to_the_service() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let blank = ActionForm {
            to: Some(String::new()),
            task: Some("  ".into()),
            days: Some(String::new()),
            ..ActionForm::default()
        };
        assert_eq!(
            intent(ActionKind::Forwarded, &blank, tz).unwrap(),
            Intent::Forward {
                to: None,
                task: None,
                days: None
            }
        );
        let apology = ActionForm {
            reason: Some("Chờ ý kiến".into()),
            extra_days: Some("3".into()),
            ..ActionForm::default()
        };
        assert!(matches!(
            intent(ActionKind::Apologized, &apology, tz).unwrap(),
            Intent::Apologize {
                new_due: NewDue::ExtraWorkingDays(3),
                ..
            }
        ));
    }

    /// What an action needs and is missing or malformed is refused with a
    /// page naming the field, before the service is asked.
    #[test]
    fn missing_or_malformed_fields_are_named() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let empty = ActionForm::default();
        for kind in [
            ActionKind::Refused,
            ActionKind::Appraised,
            ActionKind::VerificationScheduled,
            ActionKind::Consulted,
            ActionKind::ConsultationAnswered,
            ActionKind::SupplementRequested,
            ActionKind::PaymentRequested,
            ActionKind::Paid,
            ActionKind::Apologized,
            ActionKind::Stopped,
            ActionKind::ResultIssued,
            ActionKind::Note,
        ] {
            let error = intent(kind, &empty, tz).expect_err(kind.as_str());
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{kind:?}");
            assert!(
                error.message().vi.starts_with("Thiếu thông tin"),
                "{kind:?}: {}",
                error.message().vi
            );
        }
        let bad = ActionForm {
            amount: Some("-5".into()),
            ..ActionForm::default()
        };
        let error = intent(ActionKind::Paid, &bad, tz).unwrap_err();
        assert!(
            error.message().en.contains("whole number"),
            "{}",
            error.message().en
        );
        let bad = ActionForm {
            outcome: Some("maybe".into()),
            ..ActionForm::default()
        };
        assert!(intent(ActionKind::Appraised, &bad, tz).is_err());
        let bad = ActionForm {
            when: Some("next tuesday".into()),
            place: Some("x".into()),
            ..ActionForm::default()
        };
        let error = intent(ActionKind::VerificationScheduled, &bad, tz).unwrap_err();
        assert!(error.message().vi.contains("dd/mm/yyyy HH:MM"));
    }
}
