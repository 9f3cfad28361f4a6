//! The printed forms (biểu mẫu) of the one-stop mechanism, as A4 print
//! pages in the official layout: pure renderers from a dossier's facts, its
//! fold, the office tree (through a Vietnamese [`Locale`]), the officer
//! printing and `now` to HTML. No store, no clock: the console and the CLI
//! load the dossier and call these.
//!
//! Which forms a dossier has depends on its rule set (`facts.rules`): the
//! 2018 set (Thông tư 01/2018/TT-VPCP, Mẫu 01–06) and the 2025 set (Thông tư
//! 03/2025/TT-VPCP, Mẫu 01–07, with the stop notice as Mẫu 05). A form is
//! found by its number *within* the rule set, never by a fixed number
//! (`docs/forms.md`).
//!
//! - [`layout`]: the page (print CSS, Quốc hiệu, Tiêu ngữ, issuing office,
//!   number, place and date, signature blocks).
//! - `receipt`: Mẫu 01 with the QR code of the dossier code.
//! - `notices`: the supplement request, the refusal, the apology, the stop notice.
//! - `control`: the control sheet (the timeline as the handover table).
//! - `register`: the register of an office's dossiers for a period.
//! - [`pdf`]: printing a form to PDF with a headless Chromium.

mod control;
pub mod layout;
mod notices;
pub mod pdf;
mod receipt;
mod register;
mod words;

use chrono::{DateTime, Utc};
use lienthong_shared::dossier::fold::DossierState;
use lienthong_shared::dossier::{Action, Dossier, Event, StoredEvent};
use maud::Markup;

use crate::i18n::{Lang, Locale};

pub use receipt::qr_svg;
pub use register::{Register, render_register};
pub use words::FormMsg;

/// What a form is for; its number depends on the rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// Giấy tiếp nhận hồ sơ và hẹn trả kết quả.
    Receipt,
    /// Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ.
    SupplementRequest,
    /// Phiếu từ chối tiếp nhận giải quyết hồ sơ.
    Refusal,
    /// Phiếu xin lỗi và hẹn lại ngày trả kết quả (2018); Văn bản xin lỗi và
    /// đề nghị gia hạn thời gian giải quyết (2025).
    Apology,
    /// Thông báo dừng giải quyết hồ sơ (2025 only).
    StopNotice,
    /// Phiếu kiểm soát quá trình giải quyết hồ sơ.
    ControlSheet,
    /// Sổ theo dõi hồ sơ: of an office for a period, not of one dossier.
    Register,
}

/// A rule set whose forms this version prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormSet {
    /// Thông tư 01/2018/TT-VPCP.
    Circular2018,
    /// Thông tư 03/2025/TT-VPCP.
    Circular2025,
}

const FORMS_2018: [FormKind; 6] = [
    FormKind::Receipt,
    FormKind::SupplementRequest,
    FormKind::Refusal,
    FormKind::Apology,
    FormKind::ControlSheet,
    FormKind::Register,
];

const FORMS_2025: [FormKind; 7] = [
    FormKind::Receipt,
    FormKind::SupplementRequest,
    FormKind::Refusal,
    FormKind::Apology,
    FormKind::StopNotice,
    FormKind::ControlSheet,
    FormKind::Register,
];

impl FormSet {
    /// The set of a rule set id (`facts.rules`, the network file's `[[rule_set]] id`).
    pub fn of(rules: &str) -> Result<FormSet, FormError> {
        match rules.trim() {
            "2018" => Ok(FormSet::Circular2018),
            "2025" => Ok(FormSet::Circular2025),
            other => Err(FormError::UnknownRuleSet {
                rules: other.to_string(),
            }),
        }
    }

    /// Every form of the set, Mẫu 01 first.
    pub fn forms(self) -> Vec<Form> {
        let kinds: &[FormKind] = match self {
            FormSet::Circular2018 => &FORMS_2018,
            FormSet::Circular2025 => &FORMS_2025,
        };
        kinds
            .iter()
            .zip(1u8..)
            .map(|(&kind, number)| Form {
                set: self,
                number,
                kind,
            })
            .collect()
    }

    /// The form of this set for `kind`, if the set has one.
    pub fn form(self, kind: FormKind) -> Option<Form> {
        self.forms().into_iter().find(|f| f.kind == kind)
    }

    /// The form named by a slug (`mau-01`, `mau-1`, `01`).
    pub fn find(self, slug: &str) -> Result<Form, FormError> {
        let digits = slug
            .trim()
            .to_ascii_lowercase()
            .trim_start_matches("mau-")
            .trim_start_matches("mau")
            .to_string();
        let number: Option<u8> = digits.parse().ok();
        self.forms()
            .into_iter()
            .find(|f| Some(f.number) == number)
            .ok_or_else(|| FormError::UnknownForm {
                slug: slug.to_string(),
                set: self,
            })
    }

    pub fn circular(self) -> FormMsg {
        match self {
            FormSet::Circular2018 => FormMsg::Circular2018,
            FormSet::Circular2025 => FormMsg::Circular2025,
        }
    }
}

/// One form of one rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub set: FormSet,
    /// Its number in the circular's annex (Mẫu số 01…).
    pub number: u8,
    pub kind: FormKind,
}

impl Form {
    /// `mau-01`: how routes and the CLI name it.
    pub fn slug(&self) -> String {
        format!("mau-{:02}", self.number)
    }

    /// `01`.
    pub fn number_text(&self) -> String {
        format!("{:02}", self.number)
    }

    /// The form's title in the circular.
    pub fn title(&self) -> FormMsg {
        match (self.kind, self.set) {
            (FormKind::Receipt, _) => FormMsg::TitleReceipt,
            (FormKind::SupplementRequest, _) => FormMsg::TitleSupplement,
            (FormKind::Refusal, _) => FormMsg::TitleRefusal,
            (FormKind::Apology, FormSet::Circular2018) => FormMsg::TitleApology2018,
            (FormKind::Apology, FormSet::Circular2025) => FormMsg::TitleApology2025,
            (FormKind::StopNotice, _) => FormMsg::TitleStopNotice,
            (FormKind::ControlSheet, _) => FormMsg::TitleControlSheet,
            (FormKind::Register, _) => FormMsg::TitleRegister,
        }
    }
}

/// Why a form cannot be printed. Nothing is written either way.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FormError {
    #[error("the dossier follows rule set `{rules}`, whose forms this version does not know")]
    UnknownRuleSet { rules: String },
    #[error("no form `{slug}` in {set:?}")]
    UnknownForm { slug: String, set: FormSet },
    #[error("dossier {code} has nothing for form {} yet ({missing:?})", form.slug())]
    NotAvailable {
        form: Form,
        code: String,
        missing: Missing,
    },
    #[error("form {} is the office's register, not one dossier's", form.slug())]
    RegisterPerOffice { form: Form },
    #[error("QR code of {code}: {detail}")]
    Qr { code: String, detail: String },
}

/// What a dossier lacks for a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Not received at a desk (only submitted, or refused at intake).
    NotReceived,
    NoSupplementRequest,
    NoRefusal,
    NoApology,
    NotStopped,
}

impl FormError {
    /// The refusal worded from the catalogue in `lang`.
    pub fn words(&self, lang: Lang) -> String {
        let t = |m: FormMsg| m.text(lang);
        let fill = crate::i18n::fill;
        match self {
            FormError::UnknownRuleSet { rules } => {
                fill(t(FormMsg::ErrUnknownRuleSet), &[("rules", rules)])
            }
            FormError::UnknownForm { slug, set } => {
                let known = set
                    .forms()
                    .iter()
                    .map(|f| format!("{} ({})", f.slug(), f.title().text(lang)))
                    .collect::<Vec<_>>()
                    .join(", ");
                fill(
                    t(FormMsg::ErrUnknownForm),
                    &[
                        ("form", slug),
                        ("circular", t(set.circular())),
                        ("known", &known),
                    ],
                )
            }
            FormError::NotAvailable {
                form,
                code,
                missing,
            } => {
                let msg = match missing {
                    Missing::NotReceived => FormMsg::ErrNotReceived,
                    Missing::NoSupplementRequest => FormMsg::ErrNoSupplement,
                    Missing::NoRefusal => FormMsg::ErrNoRefusal,
                    Missing::NoApology => FormMsg::ErrNoApology,
                    Missing::NotStopped => FormMsg::ErrNotStopped,
                };
                fill(t(msg), &[("code", code), ("title", &titled(*form, lang))])
            }
            FormError::RegisterPerOffice { form } => fill(
                t(FormMsg::ErrRegisterPerOffice),
                &[("title", &titled(*form, lang))],
            ),
            FormError::Qr { code, detail } => {
                fill(t(FormMsg::ErrQr), &[("code", code), ("detail", detail)])
            }
        }
    }
}

/// `Mẫu số 02 (Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ)`.
fn titled(form: Form, lang: Lang) -> String {
    format!(
        "{} ({})",
        crate::i18n::fill(
            FormMsg::FormNumber.text(lang),
            &[("n", &form.number_text())]
        ),
        form.title().text(lang)
    )
}

/// What a form of one dossier is drawn from.
pub struct FormInput<'a> {
    pub dossier: &'a Dossier,
    pub state: &'a DossierState,
    /// Vietnamese, the office's time zone and office tree.
    pub locale: Locale<'a>,
    /// The officer printing (a footer line), if known.
    pub printed_by: Option<&'a str>,
    pub now: DateTime<Utc>,
    /// The verified author node of each event, in log order
    /// ([`crate::service::authors::event_authors`]); the control sheet
    /// prints it under each event's officer (issue 8). Empty where the
    /// form printed does not show events.
    pub authors: &'a [crate::service::authors::EventAuthor],
}

impl<'a> FormInput<'a> {
    /// The events the fold applied, in log order (conflicts left out: a
    /// form states what took effect).
    pub fn applied(&self) -> impl Iterator<Item = &'a Event> + 'a {
        self.applied_at().map(|(_, event)| event)
    }

    /// [`Self::applied`] with each event's index in the log.
    pub fn applied_at(&self) -> impl Iterator<Item = (usize, &'a Event)> + 'a {
        let applied = &self.state.applied;
        self.dossier
            .events
            .iter()
            .zip(applied.iter())
            .enumerate()
            .filter_map(|(index, (stored, ok))| match stored {
                StoredEvent::Valid(event) if *ok => Some((index, event)),
                _ => None,
            })
    }

    /// The last applied event matching `pick`.
    fn last(&self, pick: impl Fn(&Action) -> bool) -> Option<&'a Event> {
        self.applied().filter(|e| pick(&e.action)).last()
    }

    fn code(&self) -> &'a str {
        &self.dossier.facts.code
    }
}

/// Whether a dossier has what a form needs now (`Err`: what it lacks).
pub type Availability = Result<(), FormError>;

/// The forms of a dossier's rule set, each with whether this dossier has
/// what it needs now (`Err` says what it lacks).
pub fn forms_of(input: &FormInput<'_>) -> Result<Vec<(Form, Availability)>, FormError> {
    let set = FormSet::of(&input.dossier.facts.rules)?;
    Ok(set
        .forms()
        .into_iter()
        .map(|form| {
            let ready = check(form, input).map(|_| ());
            (form, ready)
        })
        .collect())
}

/// The event a form is drawn from (`None` for the receipt and control sheet
/// of a received dossier), or why the dossier does not have it.
fn check<'a>(form: Form, input: &FormInput<'a>) -> Result<Option<&'a Event>, FormError> {
    let missing = |missing| FormError::NotAvailable {
        form,
        code: input.code().to_string(),
        missing,
    };
    let received = input
        .last(|a| matches!(a, Action::Received))
        .ok_or_else(|| missing(Missing::NotReceived));
    match form.kind {
        FormKind::Receipt | FormKind::ControlSheet => received.map(Some),
        FormKind::SupplementRequest => input
            .last(|a| matches!(a, Action::SupplementRequested { .. }))
            .map(Some)
            .ok_or_else(|| missing(Missing::NoSupplementRequest)),
        FormKind::Refusal => input
            .last(|a| matches!(a, Action::Refused { .. }))
            .map(Some)
            .ok_or_else(|| missing(Missing::NoRefusal)),
        FormKind::Apology => {
            let apology = input
                .state
                .apology
                .as_ref()
                .ok_or_else(|| missing(Missing::NoApology))?;
            input
                .applied()
                .find(|e| e.id == apology.event)
                .map(Some)
                .ok_or_else(|| missing(Missing::NoApology))
        }
        FormKind::StopNotice => input
            .last(|a| matches!(a, Action::Stopped { .. }))
            .map(Some)
            .ok_or_else(|| missing(Missing::NotStopped)),
        FormKind::Register => Err(FormError::RegisterPerOffice { form }),
    }
}

/// Form `slug` of this dossier as a whole HTML page, or why not.
pub fn render(slug: &str, input: &FormInput<'_>) -> Result<Markup, FormError> {
    let set = FormSet::of(&input.dossier.facts.rules)?;
    let form = set.find(slug)?;
    let event = check(form, input)?;
    match (form.kind, event) {
        (FormKind::Receipt, Some(received)) => receipt::render(form, input, received),
        (FormKind::ControlSheet, _) => Ok(control::render(form, input)),
        (
            FormKind::SupplementRequest
            | FormKind::Refusal
            | FormKind::Apology
            | FormKind::StopNotice,
            Some(event),
        ) => Ok(notices::render(form, input, event)),
        // `check` gives an event for every kind but the register, which it refuses.
        _ => Err(FormError::RegisterPerOffice { form }),
    }
}

#[cfg(test)]
pub(crate) mod tests;
