//! Sổ theo dõi hồ sơ (Mẫu 06 of 2018, Mẫu 07 of 2025): the dossiers an
//! office received in a period, one line each, from the index (no document
//! is loaded). Printed on A4 landscape: it has many columns.

use chrono::{DateTime, NaiveDate, Utc};
use lienthong_shared::OfficeId;
use maud::{Markup, html};

use super::layout::{self, Header, Sheet, Signature, vi};
use super::{FormKind, FormMsg, FormSet};
use crate::i18n::{Lang, Locale};
use crate::store::index::IndexRow;

/// An office's register for a period (local dates, both included).
pub struct Register<'a> {
    pub office: &'a OfficeId,
    /// The rule set in force at the period's end: which circular's form.
    pub set: FormSet,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// In order of receipt.
    pub rows: &'a [IndexRow],
    /// More dossiers were received than `rows` holds.
    pub truncated: bool,
    pub printed_by: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub fn render_register(l: &Locale<'_>, register: &Register<'_>) -> Markup {
    let form = register
        .set
        .form(FormKind::Register)
        .expect("every form set has a register");
    let d = |date: NaiveDate| date.format("%d/%m/%Y").to_string();
    let subtitle = vi(
        FormMsg::Period,
        &[("from", &d(register.from)), ("to", &d(register.to))],
    );
    let t = |m: FormMsg| m.text(Lang::Vi);
    let body = html! {
        @if register.rows.is_empty() {
            p { (t(FormMsg::RegEmpty)) }
        } @else {
            table.grid.register {
                thead {
                    tr {
                        th rowspan="2" { (t(FormMsg::ComponentNo)) }
                        th rowspan="2" { (t(FormMsg::RegCode)) }
                        th rowspan="2" { (t(FormMsg::RegProcedure)) }
                        th rowspan="2" { (t(FormMsg::RegApplicant)) }
                        th colspan="3" { (t(FormMsg::RegDate)) }
                        th rowspan="2" { (t(FormMsg::RegHolder)) }
                        th rowspan="2" { (t(FormMsg::RegStatus)) }
                        th rowspan="2" { (t(FormMsg::RegSign)) }
                        th rowspan="2" { (t(FormMsg::ColNote)) }
                    }
                    tr {
                        th { (t(FormMsg::RegReceived)) }
                        th { (t(FormMsg::RegDue)) }
                        th { (t(FormMsg::RegReturned)) }
                    }
                }
                tbody {
                    @for (i, row) in register.rows.iter().enumerate() {
                        tr {
                            td.n { (i + 1) }
                            td { (row.code) }
                            td { (row.procedure_name) }
                            td { (row.applicant) }
                            td { (l.datetime_opt(row.received_at)) }
                            td { (l.datetime_opt(row.due_at)) }
                            td { (l.datetime_opt(row.returned_at)) }
                            td { (row.holder.as_deref().map_or_else(|| t(FormMsg::Dash).to_string(), |h| l.office_str(h))) }
                            td {
                                (l.status_opt(row.status))
                                @if let Some(timeliness) = row.timeliness {
                                    " (" (l.timeliness(timeliness)) ")"
                                }
                            }
                            td {}
                            td {}
                        }
                    }
                }
            }
            @if register.truncated {
                p { em { (vi(FormMsg::RegTruncated, &[("shown", &register.rows.len().to_string())])) } }
            }
        }
    };
    let sheet = Sheet {
        form,
        code: None,
        header: Header {
            office: register.office,
            number: None,
            dated: register.now,
        },
        subtitle: Some(subtitle),
        signatures: vec![Signature {
            role: FormMsg::SignMaker,
            hint: FormMsg::SignHint,
            name: register.printed_by,
        }],
        printed_by: register.printed_by,
        now: register.now,
    };
    layout::page(l, &sheet, body)
}
