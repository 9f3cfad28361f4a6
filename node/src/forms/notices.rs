//! The forms that tell the applicant of one event: the supplement request
//! (Mẫu 02), the refusal (Mẫu 03), the apology (Mẫu 04) and, in the 2025
//! set, the notice that processing stopped (Mẫu 05). Each is issued by the
//! office whose officer recorded the event, dated that day.

use lienthong_shared::dossier::{Action, Event};
use maud::{Markup, html};

use super::layout::{self, Header, Sheet, Signature, due_words, vi};
use super::{Form, FormInput, FormKind, FormMsg, FormSet};
use crate::i18n::Lang;

pub(super) fn render(form: Form, input: &FormInput<'_>, event: &Event) -> Markup {
    let l = &input.locale;
    let facts = &input.dossier.facts;
    let office = l.office(&event.office);
    // When and where the dossier came in: its receipt, or for a refusal at
    // intake the refusal itself.
    let came_in = input.state.received_at.unwrap_or(event.at);
    let intro = html! {
        p { (vi(FormMsg::ReceivedOn, &[
            ("date", &l.date(came_in)),
            ("office", &l.office(&facts.origin)),
            ("name", &facts.applicant.name),
        ])) }
        p { (vi(FormMsg::Code, &[("code", &facts.code)])) }
        p { (vi(FormMsg::Request, &[("procedure", &facts.procedure.name)])) }
    };
    let (body, signatures) = match &event.action {
        Action::SupplementRequested { items, reason } => (
            html! {
                (intro)
                p { (FormMsg::SupplementAsk.text(Lang::Vi)) }
                ol.items { @for item in items { li { (item) } } }
                @if !reason.trim().is_empty() {
                    p { (vi(FormMsg::Reason, &[("reason", reason)])) }
                }
                p { (vi(FormMsg::SupplementHelp, &[("officer", &event.officer), ("office", &office)])) }
                p { (FormMsg::ThankYou.text(Lang::Vi)) }
            },
            vec![Signature {
                role: FormMsg::SignGuide,
                hint: FormMsg::SignHint,
                name: Some(event.officer.as_str()),
            }],
        ),
        Action::Refused { reason } => (
            html! {
                (intro)
                p { (vi(FormMsg::RefusalText, &[("office", &office)])) }
                p.reason { (reason) }
                p { (FormMsg::RefusalClose.text(Lang::Vi)) }
            },
            vec![Signature {
                role: FormMsg::SignReceiver,
                hint: FormMsg::SignHint,
                name: Some(event.officer.as_str()),
            }],
        ),
        Action::Apologized { reason, new_due } => {
            let previous = input
                .state
                .apology
                .as_ref()
                .filter(|a| a.event == event.id)
                .map(|a| a.previous_due)
                .or(input.state.original_due_at);
            let close = match form.set {
                FormSet::Circular2018 => vi(
                    FormMsg::ApologySorry,
                    &[("office", &office), ("time", &due_words(l, *new_due))],
                ),
                FormSet::Circular2025 => vi(
                    FormMsg::ApologyExtend,
                    &[("office", &office), ("time", &due_words(l, *new_due))],
                ),
            };
            (
                html! {
                    (intro)
                    @if let Some(previous) = previous {
                        p { (vi(FormMsg::ApologyDue, &[("time", &due_words(l, previous))])) }
                    }
                    p { (vi(FormMsg::ApologyLate, &[("office", &office)])) }
                    p { (vi(FormMsg::Reason, &[("reason", reason)])) }
                    p { (close) }
                    p { (FormMsg::ThankYou.text(Lang::Vi)) }
                },
                vec![Signature {
                    role: FormMsg::SignHead,
                    hint: FormMsg::SignHintSeal,
                    name: None,
                }],
            )
        }
        Action::Stopped { reason } => (
            html! {
                (intro)
                p { (vi(FormMsg::StopText, &[("office", &office), ("time", &due_words(l, event.at))])) }
                p { (vi(FormMsg::Reason, &[("reason", reason)])) }
            },
            vec![Signature {
                role: FormMsg::SignHead,
                hint: FormMsg::SignHintSeal,
                name: None,
            }],
        ),
        // `check` hands each notice its own kind of event.
        _ => (intro, Vec::new()),
    };
    debug_assert!(matches!(
        form.kind,
        FormKind::SupplementRequest | FormKind::Refusal | FormKind::Apology | FormKind::StopNotice
    ));
    let sheet = Sheet {
        form,
        code: Some(&facts.code),
        header: Header {
            office: &event.office,
            number: None,
            dated: event.at,
        },
        subtitle: None,
        signatures,
        printed_by: input.printed_by,
        now: input.now,
    };
    layout::page(l, &sheet, body)
}
