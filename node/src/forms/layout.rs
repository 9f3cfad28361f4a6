//! The page every form is printed on: A4, the official header (issuing
//! office with its parent above on the left; Quốc hiệu and the underlined
//! Tiêu ngữ on the right; number; place and date), the title, the body and
//! the signature blocks. The chrome around it (the print button, the way
//! back) is hidden when printing.

use chrono::{DateTime, Datelike, Timelike, Utc};
use lienthong_shared::OfficeId;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Form, FormMsg};
use crate::i18n::{Lang, Locale};

/// Print CSS: A4 with the margins of Nghị định 30/2020/NĐ-CP (left 30 mm,
/// right 15 mm, top and bottom 20 mm), serif type as on official papers:
/// Times New Roman, or a font with its metrics (Liberation Serif, Debian's
/// `fonts-liberation`; Tinos), so that a form fits the sheets it fits on
/// an office's Windows PC. A wider fallback (DejaVu Serif) wraps more lines
/// and can push Mẫu 01 onto a second sheet.
///
/// The body's font stack opens with [`FORM_SERIF_FAMILIES`], in order (a
/// test holds them together).
const CSS: &str = r#"
@page { size: A4; margin: 20mm 15mm 20mm 30mm; }
@page landscape { size: A4 landscape; margin: 15mm 15mm 15mm 20mm; }
* { box-sizing: border-box; }
body { margin: 0; background: #ddd; font-family: "Times New Roman", "Liberation Serif", "Tinos", "DejaVu Serif", serif; font-size: 13pt; line-height: 1.25; color: #000; }
.sheet { background: #fff; width: 210mm; min-height: 297mm; margin: 8mm auto; padding: 20mm 15mm 20mm 30mm; }
.sheet.wide { width: 297mm; min-height: 210mm; padding: 15mm 15mm 15mm 20mm; page: landscape; }
.chrome { font-family: sans-serif; font-size: 11pt; text-align: center; padding: 4mm; }
.chrome button { font-size: 12pt; padding: 2mm 6mm; }
.chrome .label { color: #555; margin-left: 4mm; }
@media print {
  body { background: #fff; }
  .chrome { display: none; }
  .sheet { margin: 0; padding: 0; width: auto; min-height: 0; }
}
table.header { width: 100%; border-collapse: collapse; }
table.header td { vertical-align: top; text-align: center; padding: 0; }
.issuer { width: 42%; font-size: 12.5pt; }
.issuer .parent { text-transform: uppercase; }
.issuer .office { text-transform: uppercase; font-weight: bold; }
.nation { width: 58%; }
.quoc-hieu { font-weight: bold; font-size: 12.5pt; }
.tieu-ngu { font-weight: bold; font-size: 13pt; text-decoration: underline; text-underline-offset: 3px; }
.rule { width: 30%; margin: 1mm auto 2mm; border-top: 1px solid #000; }
.number { margin-top: 1mm; }
.place-date { font-style: italic; margin-top: 3mm; }
h1.title { text-align: center; text-transform: uppercase; font-size: 14pt; margin: 6mm 0 1mm; }
.subtitle { text-align: center; font-style: italic; margin-bottom: 5mm; }
.body p { margin: 0.8mm 0; text-align: justify; }
table.grid { width: 100%; border-collapse: collapse; margin: 1.5mm 0; font-size: 12pt; line-height: 1.2; }
table.grid th, table.grid td { border: 1px solid #000; padding: 0.6mm 1.5mm; vertical-align: top; }
table.grid th { text-align: center; }
table.grid td.n { text-align: center; }
table.signatures { width: 100%; margin-top: 5mm; page-break-inside: avoid; }
table.signatures td { width: 50%; text-align: center; vertical-align: top; }
.sign-role { font-weight: bold; }
.sign-hint { font-style: italic; }
.sign-name { margin-top: 16mm; font-weight: bold; }
.code-block { display: flex; align-items: center; gap: 6mm; margin: 2mm 0; }
.code-big { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 20pt; font-weight: bold; letter-spacing: 0.5pt; }
.qr svg { width: 28mm; height: 28mm; display: block; }
.qr .caption { font-size: 9pt; text-align: center; }
.printed { margin-top: 4mm; font-size: 9pt; color: #444; }
"#;

/// The top of a form.
/// Families with Times New Roman's metrics, which the forms are laid out
/// for: the CSS asks for them first, and a print checks that one of them is
/// installed (`pdf.rs`).
pub(crate) const FORM_SERIF_FAMILIES: [&str; 3] = ["Times New Roman", "Liberation Serif", "Tinos"];

pub struct Header<'a> {
    /// The issuing office (its parent printed above it, when it has one).
    pub office: &'a OfficeId,
    /// What follows "Số:"; `None` for a number the office's clerk writes in.
    pub number: Option<&'a str>,
    /// The form's date.
    pub dated: DateTime<Utc>,
}

/// One signature block.
pub struct Signature<'a> {
    pub role: FormMsg,
    pub hint: FormMsg,
    /// Printed under the space for the signature.
    pub name: Option<&'a str>,
}

/// A message of the forms' catalogue in Vietnamese, values filled.
pub fn vi(msg: FormMsg, args: &[(&str, &str)]) -> String {
    crate::i18n::fill(msg.text(Lang::Vi), args)
}

/// `09 giờ 00 phút, ngày 05/03/2026` in the office's zone.
pub fn due_words(l: &Locale<'_>, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&l.tz);
    vi(
        FormMsg::DueWords,
        &[
            ("hour", &format!("{:02}", local.hour())),
            ("minute", &format!("{:02}", local.minute())),
            ("date", &l.date(t)),
        ],
    )
}

/// `Duy Sơn, ngày 05 tháng 03 năm 2026`: the place is the locality in the
/// issuing office's name (the words after its last administrative unit:
/// tỉnh, thành phố, huyện, thị xã, quận, xã, phường, thị trấn).
pub fn place_date(l: &Locale<'_>, office: &OfficeId, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&l.tz);
    vi(
        FormMsg::PlaceDate,
        &[
            ("place", &place_of(&l.office(office))),
            ("day", &format!("{:02}", local.day())),
            ("month", &format!("{:02}", local.month())),
            ("year", &local.year().to_string()),
        ],
    )
}

/// The locality an office's name ends with.
pub fn place_of(name: &str) -> String {
    const UNITS: [&str; 8] = [
        " thành phố ",
        " tỉnh ",
        " thị xã ",
        " thị trấn ",
        " huyện ",
        " quận ",
        " phường ",
        " xã ",
    ];
    UNITS
        .iter()
        .filter_map(|unit| name.rfind(unit).map(|at| at + unit.len()))
        .max()
        .map_or_else(
            || name.to_string(),
            |start| name[start..].trim().to_string(),
        )
}

/// Everything on a form's page but its body.
pub struct Sheet<'a> {
    pub form: Form,
    /// The dossier's code (none for the register).
    pub code: Option<&'a str>,
    pub header: Header<'a>,
    pub subtitle: Option<String>,
    pub signatures: Vec<Signature<'a>>,
    pub printed_by: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// The whole page of a form.
pub fn page(l: &Locale<'_>, sheet: &Sheet<'_>, body: Markup) -> Markup {
    let Sheet {
        form,
        code,
        header,
        subtitle,
        signatures,
        printed_by,
        now,
    } = sheet;
    let (form, code, printed_by, now) = (*form, *code, *printed_by, *now);
    let title = form.title().text(Lang::Vi);
    let label = format!(
        "{} — {}",
        vi(FormMsg::FormNumber, &[("n", &form.number_text())]),
        form.set.circular().text(Lang::Vi)
    );
    let parent = l.offices.parent(header.office).map(|p| p.name.clone());
    let wide = form.kind == super::FormKind::Register;
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                title { (title) @if let Some(code) = code { " — " (code) } }
                style { (PreEscaped(CSS)) }
            }
            body {
                div.chrome {
                    button type="button" onclick="window.print()" {
                        (FormMsg::PrintButton.text(Lang::Vi)) " / " (FormMsg::PrintButton.text(Lang::En))
                    }
                    @if let Some(code) = code {
                        " " a href={ "/dossiers/" (code) } {
                            (FormMsg::BackToDossier.text(Lang::Vi)) " / " (FormMsg::BackToDossier.text(Lang::En))
                        }
                    }
                    span.label { (label) }
                }
                div.sheet.wide[wide] data-form=(form.slug()) {
                    table.header {
                        tr {
                            td.issuer {
                                @if let Some(parent) = &parent {
                                    div.parent { (parent.to_uppercase()) }
                                }
                                div.office { (l.office(header.office).to_uppercase()) }
                                div.rule {}
                                div.number {
                                    (vi(FormMsg::Number, &[("number", header.number.unwrap_or(FormMsg::NumberBlank.text(Lang::Vi)))]))
                                }
                            }
                            td.nation {
                                div.quoc-hieu { (FormMsg::NationalTitle.text(Lang::Vi)) }
                                div.tieu-ngu { (FormMsg::NationalMotto.text(Lang::Vi)) }
                                div.place-date { (place_date(l, header.office, header.dated)) }
                            }
                        }
                    }
                    h1.title { (title) }
                    @if let Some(subtitle) = subtitle.as_ref() {
                        div.subtitle { (subtitle) }
                    }
                    div.body { (body) }
                    @if !signatures.is_empty() {
                        table.signatures {
                            tr {
                                @for s in signatures {
                                    td {
                                        div.sign-role { (s.role.text(Lang::Vi)) }
                                        div.sign-hint { (s.hint.text(Lang::Vi)) }
                                        div.sign-name { (s.name.unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                    p.printed {
                        @match printed_by {
                            Some(officer) => (vi(FormMsg::PrintedBy, &[("time", &l.datetime(now)), ("officer", officer)])),
                            None => (vi(FormMsg::PrintedAt, &[("time", &l.datetime(now))])),
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CSS, FORM_SERIF_FAMILIES, place_of};

    /// The fonts the print check accepts are the ones the page asks for
    /// first: a family added to one list and not the other would pass the
    /// check while the page fell back to a wider font, or warn of a font
    /// the page never asks for.
    #[test]
    fn the_page_asks_first_for_the_families_the_print_check_accepts() {
        let body = CSS
            .lines()
            .find(|line| line.starts_with("body {"))
            .expect("a body rule");
        let stack = body
            .split("font-family:")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("a font-family in the body rule");
        let families: Vec<&str> = stack
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        assert_eq!(families[..FORM_SERIF_FAMILIES.len()], FORM_SERIF_FAMILIES);
        assert_eq!(families.last(), Some(&"serif"), "a generic family last");
    }

    #[test]
    fn the_place_is_the_locality_the_office_is_named_after() {
        assert_eq!(place_of("Ủy ban nhân dân xã Duy Sơn"), "Duy Sơn");
        assert_eq!(place_of("Ủy ban nhân dân thị xã Điện Bàn"), "Điện Bàn");
        assert_eq!(
            place_of("Trung tâm Phục vụ hành chính công tỉnh Quảng Nam"),
            "Quảng Nam"
        );
        assert_eq!(place_of("Thuế thành phố Đà Nẵng"), "Đà Nẵng");
        assert_eq!(place_of("Văn phòng"), "Văn phòng");
    }
}
