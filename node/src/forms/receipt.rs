//! Mẫu 01, Giấy tiếp nhận hồ sơ và hẹn trả kết quả: what the citizen takes
//! home — the dossier code in large type and as a QR code, the components
//! handed in, the fee, the due time and where to collect the result.

use lienthong_shared::dossier::{Channel, Event};
use maud::{Markup, PreEscaped, html};
use qrcode::QrCode;
use qrcode::render::svg;

use super::layout::{self, Header, Sheet, Signature, due_words, vi};
use super::{Form, FormError, FormInput, FormMsg};
use crate::i18n::Lang;

/// The QR code of `text` as an inline SVG element (no XML declaration),
/// one unit per module with the standard quiet zone; the page sizes it.
pub fn qr_svg(text: &str) -> Result<String, FormError> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| FormError::Qr {
        code: text.to_string(),
        detail: e.to_string(),
    })?;
    let image = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .build();
    // Inline SVG in HTML takes the element alone.
    Ok(image
        .find("<svg")
        .map_or(image.clone(), |at| image[at..].to_string()))
}

pub(super) fn render(
    form: Form,
    input: &FormInput<'_>,
    received: &Event,
) -> Result<Markup, FormError> {
    let l = &input.locale;
    let facts = &input.dossier.facts;
    let applicant = &facts.applicant;
    let qr = qr_svg(&facts.code)?;
    let origin = l.office(&facts.origin);
    let days = match (
        &facts.procedure.processing_days,
        &facts.procedure.same_day_cutoff,
    ) {
        (Some(n), _) => l.working_days(*n),
        (None, Some(cutoff)) => vi(FormMsg::SameDay, &[("cutoff", cutoff)]),
        (None, None) => vi(FormMsg::DueUnknown, &[]),
    };
    let due = input
        .state
        .original_due_at
        .or(input.state.due_at)
        .map_or_else(|| vi(FormMsg::DueUnknown, &[]), |t| due_words(l, t));
    let changed_due = match (input.state.original_due_at, input.state.due_at) {
        (Some(first), Some(now_due)) if first != now_due => Some(due_words(l, now_due)),
        _ => None,
    };
    let collect = match facts.result_delivery {
        Channel::Direct => {
            // The return desk (R1/R2): the deciding office itself if it
            // returns its results directly, else the receiving desk.
            let lead = facts
                .route
                .iter()
                .find(|s| s.lead)
                .or(facts.route.last())
                .map(|s| s.office.clone())
                .unwrap_or_else(|| facts.origin.clone());
            let desk = crate::service::plan::return_office(l.offices, input.dossier, &lead);
            vi(FormMsg::ReceiptDesk, &[("office", &l.office(&desk))])
        }
        Channel::Postal => vi(FormMsg::CollectPostal, &[("address", &applicant.address)]),
        Channel::Online => vi(FormMsg::CollectOnline, &[]),
    };
    let dash = FormMsg::Dash.text(Lang::Vi);
    let or_dash = |s: &str| {
        if s.trim().is_empty() {
            dash.to_string()
        } else {
            s.to_string()
        }
    };
    let body = html! {
        div.code-block {
            div.qr {
                (PreEscaped(qr))
                div.caption { (FormMsg::QrCaption.text(Lang::Vi)) }
            }
            div {
                div { (vi(FormMsg::Code, &[("code", "")])) }
                div.code-big data-code=(facts.code) { (facts.code) }
            }
        }
        p { (vi(FormMsg::ReceivedFrom, &[("desk", &vi(FormMsg::ReceiptDesk, &[("office", &origin)])), ("name", &applicant.name)])) }
        @if !applicant.organisation.trim().is_empty() {
            p { (vi(FormMsg::ApplicantOrg, &[("organisation", &applicant.organisation)])) }
        }
        @if !applicant.id_number.trim().is_empty() {
            p { (vi(FormMsg::IdNumber, &[("id", &applicant.id_number)])) }
        }
        p { (vi(FormMsg::Address, &[("address", &or_dash(&applicant.address))])) }
        p { (vi(FormMsg::Contact, &[("phone", &or_dash(&applicant.phone)), ("email", &or_dash(&applicant.email))])) }
        p { (vi(FormMsg::Request, &[("procedure", &facts.procedure.name)])) }
        p { (FormMsg::ComponentsHeading.text(Lang::Vi)) }
        table.grid.components {
            thead { tr {
                th { (FormMsg::ComponentNo.text(Lang::Vi)) }
                th { (FormMsg::ComponentName.text(Lang::Vi)) }
                th { (FormMsg::ComponentCopies.text(Lang::Vi)) }
            } }
            tbody {
                @for (i, component) in facts.documents.iter().enumerate() {
                    tr {
                        td.n { (i + 1) }
                        td { (component.name) }
                        td.n { (component.copies) }
                    }
                }
            }
        }
        p { (FormMsg::DossierCount.text(Lang::Vi)) }
        p { (vi(FormMsg::ProcessingTime, &[("days", &days)])) }
        p { (vi(FormMsg::ReceivedAt, &[("time", &due_words(l, received.at))])) }
        p.due { strong { (vi(FormMsg::DueAt, &[("time", &due)])) } }
        @if let Some(changed) = changed_due {
            p { em { (vi(FormMsg::DueChanged, &[("time", &changed)])) } }
        }
        p { (vi(FormMsg::CollectAt, &[("place", &collect)])) }
        p { (vi(FormMsg::Fee, &[("fee", &l.money(facts.procedure.fee_vnd))])) }
        p { (FormMsg::RegisterBook.text(Lang::Vi)) }
    };
    let sheet = Sheet {
        form,
        code: Some(&facts.code),
        header: Header {
            office: &facts.origin,
            number: Some(&facts.code),
            dated: received.at,
        },
        subtitle: None,
        signatures: vec![
            Signature {
                role: FormMsg::SignApplicant,
                hint: FormMsg::SignHint,
                name: Some(&applicant.name),
            },
            Signature {
                role: FormMsg::SignReceiver,
                hint: FormMsg::SignHint,
                name: Some(&received.officer),
            },
        ],
        printed_by: input.printed_by,
        now: input.now,
    };
    Ok(layout::page(l, &sheet, body))
}
