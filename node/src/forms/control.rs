//! Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu 05 of 2018, Mẫu 06 of
//! 2025): the dossier's timeline as the handover table — each office that
//! had it, when, what it did and who — and how it ended.

use lienthong_shared::dossier::{Action, ActionKind};
use maud::{Markup, html};

use super::layout::{self, Header, Sheet, Signature, due_words, vi};
use super::{Form, FormInput, FormMsg};
use crate::i18n::Lang;
use crate::service::authors::EventAuthor;

pub(super) fn render(form: Form, input: &FormInput<'_>) -> Markup {
    let l = &input.locale;
    let facts = &input.dossier.facts;
    let lead = facts.route.iter().find(|s| s.lead).or(facts.route.last());
    let others: Vec<String> = facts
        .route
        .iter()
        .filter(|s| Some(&s.office) != lead.map(|s| &s.office))
        .map(|s| l.office(&s.office))
        .collect();
    let rows: Vec<_> = input
        .applied_at()
        .filter(|(_, e)| e.action.kind() != ActionKind::Note)
        .collect();
    let outcome = match (input.state.timeliness, input.state.due_at) {
        (Some(t), _) if input.state.ended_at.is_some() => {
            vi(FormMsg::Outcome, &[("outcome", l.timeliness(t))])
        }
        (_, Some(due)) => vi(FormMsg::OutcomePending, &[("time", &due_words(l, due))]),
        _ => vi(
            FormMsg::Outcome,
            &[("outcome", l.status_opt(input.state.status))],
        ),
    };
    let body = html! {
        p { (vi(FormMsg::Code, &[("code", &facts.code)])) }
        p { (vi(FormMsg::ProcedureLine, &[("procedure", &facts.procedure.name)])) }
        @if let Some(lead) = lead {
            p { (vi(FormMsg::LeadOffice, &[("office", &l.office(&lead.office))])) }
        }
        @if !others.is_empty() {
            p { (vi(FormMsg::OtherOffices, &[("offices", &others.join("; "))])) }
        }
        table.grid.timeline {
            thead { tr {
                th { (FormMsg::ComponentNo.text(Lang::Vi)) }
                th { (FormMsg::ColOffice.text(Lang::Vi)) }
                th { (FormMsg::ColTime.text(Lang::Vi)) }
                th { (FormMsg::ColWhat.text(Lang::Vi)) }
                th { (FormMsg::ColOfficer.text(Lang::Vi)) }
                th { (FormMsg::ColNote.text(Lang::Vi)) }
            } }
            tbody {
                @for (i, (index, event)) in rows.iter().enumerate() {
                    tr {
                        td.n { (i + 1) }
                        td { (l.office(&event.office)) }
                        td { (l.datetime(event.at)) }
                        td {
                            @match &event.action {
                                Action::Forwarded { to, .. } => (vi(FormMsg::HandOver, &[("office", &l.office(to))])),
                                other => (capitalised(l.kind(other.kind()))),
                            }
                        }
                        td {
                            (event.officer)
                            @if let Some(line) = author_line(l, input.authors.get(*index)) {
                                br;
                                small.author { (line) }
                            }
                        }
                        td { (note_of(l, &event.action)) }
                    }
                }
            }
        }
        p { strong { (outcome) } }
    };
    let sheet = Sheet {
        form,
        code: Some(&facts.code),
        header: Header {
            office: &facts.origin,
            number: None,
            dated: input.now,
        },
        subtitle: None,
        signatures: vec![Signature {
            role: FormMsg::SignMaker,
            hint: FormMsg::SignHint,
            name: input.printed_by,
        }],
        printed_by: input.printed_by,
        now: input.now,
    };
    layout::page(l, &sheet, body)
}

/// Under the officer's name: the node whose verified signature carries
/// the event (issue 8), or why there is none. Nothing when the caller gave
/// no authors.
fn author_line(l: &crate::i18n::Locale<'_>, author: Option<&EventAuthor>) -> Option<String> {
    let author = author?;
    let described = crate::service::authors::describe(l, Some(author));
    Some(match author {
        EventAuthor::Signed { .. } => vi(FormMsg::WrittenByNode, &[("node", &described)]),
        EventAuthor::Unsigned | EventAuthor::Invalid => {
            vi(FormMsg::WrittenByNobody, &[("why", &described)])
        }
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The event's own words (task, reason, items), for the note column.
fn note_of(l: &crate::i18n::Locale<'_>, action: &Action) -> String {
    match action {
        Action::Forwarded { task, days, .. } => {
            format!("{task} ({})", l.working_days(u64::from(*days)))
        }
        Action::Refused { reason }
        | Action::ForwardCancelled { reason }
        | Action::WithdrawalRequested { reason }
        | Action::Stopped { reason } => reason.clone(),
        Action::Apologized { reason, new_due } => {
            format!("{reason} → {}", l.datetime(*new_due))
        }
        Action::Appraised { outcome, note } => format!("{}. {note}", l.outcome(*outcome)),
        Action::SupplementRequested { items, reason } => {
            format!("{}. {reason}", items.join("; "))
        }
        Action::SupplementReceived { note } | Action::Approved { note } => note.clone(),
        Action::PaymentRequested { amount_vnd, note } => {
            format!("{} {note}", l.money(*amount_vnd))
        }
        Action::Paid {
            amount_vnd,
            receipt,
        } => format!("{} {receipt}", l.money(*amount_vnd)),
        Action::Consulted { to, question, .. } => format!("{}: {question}", l.office(to)),
        Action::ConsultationAnswered { answer, .. } => answer.clone(),
        Action::ResultIssued { result, .. } => result.clone(),
        Action::Returned { channel } => l.channel(*channel).to_string(),
        Action::VerificationScheduled { when, place, .. } => {
            format!("{} — {place}", l.datetime(*when))
        }
        _ => String::new(),
    }
}
