//! What a person reads, in their language and their office's time.
//!
//! - [`messages`]: the catalogue, one key per message, Vietnamese and English.
//! - [`Locale`]: a language, the office's time zone and the office tree:
//!   dates `dd/mm/yyyy HH:MM` in local time, money `2.500.000 đ`, office
//!   names instead of ids, statuses and actions in words.
//! - [`workflow`]: the workflow's words — timeline lines, refusals, flags,
//!   the officer commands' errors.
//!
//! A hand-made table rather than Fluent: keys are enum variants, so a
//! missing or misspelt key is a compile error rather than a blank on a
//! page found at run time; Vietnamese has no plural forms (the one English
//! plural, "working day(s)", is two keys); and it costs no dependency.
//! The CLI, the console and the JSON API's messages all read it.

pub mod days;
pub mod messages;
pub mod workflow;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::{ActionKind, AppraisalOutcome, Channel, Status, Timeliness};
use lienthong_shared::offices::OfficeTree;

pub use messages::Msg;

/// A message of one of the catalogues (declared with [`catalogue!`](crate::catalogue)).
pub trait Message: Copy + std::fmt::Debug + 'static {
    /// The text in `lang`, placeholders unfilled.
    fn text(self, lang: Lang) -> &'static str;
    /// Every message of this catalogue.
    fn all() -> &'static [Self];
}

/// Check a catalogue: every message has text in both languages, and both
/// name the same `{values}`. Each catalogue's tests call it.
pub fn check_catalogue<M: Message>() -> Result<(), String> {
    for msg in M::all() {
        let (vi, en) = (msg.text(Lang::Vi), msg.text(Lang::En));
        if vi.trim().is_empty() || en.trim().is_empty() {
            return Err(format!("{msg:?} has an empty text"));
        }
        let (mut a, mut b) = (placeholders(vi), placeholders(en));
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return Err(format!(
                "{msg:?} names {a:?} in Vietnamese but {b:?} in English"
            ));
        }
    }
    Ok(())
}

/// The environment variable choosing the CLI's language (`vi`, `en`).
pub const LANG_ENV: &str = "LIENTHONG_LANG";

/// A language of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Vietnamese, the default.
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `vi` or `en` (also `vi-VN`, `en_GB.UTF-8`…); anything else is `None`.
    pub fn parse(text: &str) -> Option<Lang> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("vi") {
            Some(Lang::Vi)
        } else if lower.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language named by `LIENTHONG_LANG`, Vietnamese if unset or unknown.
    pub fn from_env() -> Lang {
        std::env::var(LANG_ENV)
            .ok()
            .and_then(|v| Lang::parse(&v))
            .unwrap_or_default()
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// A language, a time zone and the office tree: how to say things to the
/// officers of one node.
#[derive(Clone, Copy)]
pub struct Locale<'a> {
    pub lang: Lang,
    pub tz: Tz,
    pub offices: &'a OfficeTree,
}

impl<'a> Locale<'a> {
    pub fn new(lang: Lang, tz: Tz, offices: &'a OfficeTree) -> Self {
        Locale { lang, tz, offices }
    }

    /// A message without values.
    pub fn t(&self, msg: impl Message) -> &'static str {
        msg.text(self.lang)
    }

    /// A message with its `{name}` placeholders filled from `args`.
    pub fn f(&self, msg: impl Message, args: &[(&str, &str)]) -> String {
        fill(msg.text(self.lang), args)
    }

    /// `dd/mm/yyyy HH:MM` in the office's time zone.
    pub fn datetime(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%d/%m/%Y %H:%M")
            .to_string()
    }

    /// `dd/mm/yyyy HH:MM`, or `—` for none.
    pub fn datetime_opt(&self, t: Option<DateTime<Utc>>) -> String {
        t.map_or_else(|| "—".to_string(), |t| self.datetime(t))
    }

    /// `dd/mm/yyyy` in the office's time zone.
    pub fn date(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz).format("%d/%m/%Y").to_string()
    }

    /// Money in đồng: `2.500.000 đ` (Vietnamese), `2,500,000 VND` (English).
    pub fn money(&self, vnd: u64) -> String {
        match self.lang {
            Lang::Vi => format!("{} đ", group_digits(vnd, '.')),
            Lang::En => format!("{} VND", group_digits(vnd, ',')),
        }
    }

    /// `3 ngày làm việc`, `1 working day`, `3 working days`.
    pub fn working_days(&self, n: u64) -> String {
        if n == 0 {
            return self.t(days::DaysMsg::WithinTheDay).to_string();
        }
        let msg = if n == 1 {
            Msg::WorkingDaysOne
        } else {
            Msg::WorkingDaysMany
        };
        self.f(msg, &[("n", &n.to_string())])
    }

    /// An office's display name from the network file; the id itself for
    /// an office this tree does not know (a former id is resolved through
    /// the tree's aliases).
    pub fn office(&self, id: &OfficeId) -> String {
        self.offices
            .resolve(id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    }

    /// [`Self::office`] for an id stored as text.
    pub fn office_str(&self, id: &str) -> String {
        id.parse::<OfficeId>()
            .map_or_else(|_| id.to_string(), |id| self.office(&id))
    }

    pub fn status(&self, status: Status) -> &'static str {
        self.t(match status {
            Status::Submitted => Msg::StatusSubmitted,
            Status::Received => Msg::StatusReceived,
            Status::Refused => Msg::StatusRefused,
            Status::Processing => Msg::StatusProcessing,
            Status::AwaitingSupplement => Msg::StatusAwaitingSupplement,
            Status::AwaitingPayment => Msg::StatusAwaitingPayment,
            Status::WithdrawalRequested => Msg::StatusWithdrawalRequested,
            Status::Stopped => Msg::StatusStopped,
            Status::Resolved => Msg::StatusResolved,
            Status::Returned => Msg::StatusReturned,
        })
    }

    pub fn status_opt(&self, status: Option<Status>) -> &'static str {
        status.map_or(self.t(Msg::StatusNone), |s| self.status(s))
    }

    pub fn timeliness(&self, t: Timeliness) -> &'static str {
        self.t(match t {
            Timeliness::Early => Msg::TimelinessEarly,
            Timeliness::OnTime => Msg::TimelinessOnTime,
            Timeliness::Late => Msg::TimelinessLate,
            Timeliness::Overdue => Msg::TimelinessOverdue,
        })
    }

    pub fn channel(&self, channel: Channel) -> &'static str {
        self.t(match channel {
            Channel::Direct => Msg::ChannelDirect,
            Channel::Postal => Msg::ChannelPostal,
            Channel::Online => Msg::ChannelOnline,
        })
    }

    pub fn outcome(&self, outcome: AppraisalOutcome) -> &'static str {
        self.t(match outcome {
            AppraisalOutcome::Ok => Msg::OutcomeOk,
            AppraisalOutcome::NeedsSupplement => Msg::OutcomeNeedsSupplement,
            AppraisalOutcome::NotEligible => Msg::OutcomeNotEligible,
        })
    }

    /// What an officer does, as a button or in prose. In English, the
    /// command's name (what is typed at the CLI).
    pub fn kind(&self, kind: ActionKind) -> &'static str {
        if self.lang == Lang::En {
            return kind.command();
        }
        self.t(match kind {
            ActionKind::Submitted => Msg::KindSubmitted,
            ActionKind::Received => Msg::KindReceived,
            ActionKind::Refused => Msg::KindRefused,
            ActionKind::Forwarded => Msg::KindForwarded,
            ActionKind::ForwardCancelled => Msg::KindForwardCancelled,
            ActionKind::Accepted => Msg::KindAccepted,
            ActionKind::Appraised => Msg::KindAppraised,
            ActionKind::VerificationScheduled => Msg::KindVerificationScheduled,
            ActionKind::Consulted => Msg::KindConsulted,
            ActionKind::ConsultationAnswered => Msg::KindConsultationAnswered,
            ActionKind::SupplementRequested => Msg::KindSupplementRequested,
            ActionKind::SupplementReceived => Msg::KindSupplementReceived,
            ActionKind::PaymentRequested => Msg::KindPaymentRequested,
            ActionKind::Paid => Msg::KindPaid,
            ActionKind::Apologized => Msg::KindApologized,
            ActionKind::WithdrawalRequested => Msg::KindWithdrawalRequested,
            ActionKind::Stopped => Msg::KindStopped,
            ActionKind::Approved => Msg::KindApproved,
            ActionKind::ResultIssued => Msg::KindResultIssued,
            ActionKind::Returned => Msg::KindReturned,
            ActionKind::Note => Msg::KindNote,
            ActionKind::Unknown => Msg::KindUnknown,
        })
    }
}

/// `text` with each `{name}` replaced by its value; unknown names stay.
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholders a text names, in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

fn group_digits(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn locale(lang: Lang, tree: &OfficeTree) -> Locale<'_> {
        Locale::new(lang, chrono_tz::Asia::Ho_Chi_Minh, tree)
    }

    #[test]
    fn both_languages_name_the_same_values() {
        check_catalogue::<Msg>().unwrap();
    }

    #[test]
    fn money_dates_and_days_as_officers_write_them() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let vi = locale(Lang::Vi, &network.offices);
        let en = locale(Lang::En, &network.offices);
        assert_eq!(vi.money(2_500_000), "2.500.000 đ");
        assert_eq!(vi.money(0), "0 đ");
        assert_eq!(vi.money(100_000), "100.000 đ");
        assert_eq!(en.money(5_000_000), "5,000,000 VND");
        // 02:00 UTC is 09:00 in Hồ Chí Minh City.
        let t = Utc.with_ymd_and_hms(2026, 3, 26, 2, 0, 0).unwrap();
        assert_eq!(vi.datetime(t), "26/03/2026 09:00");
        assert_eq!(en.datetime(t), "26/03/2026 09:00");
        assert_eq!(
            vi.date(Utc.with_ymd_and_hms(2026, 3, 26, 18, 0, 0).unwrap()),
            "27/03/2026"
        );
        assert_eq!(vi.working_days(1), "1 ngày làm việc");
        assert_eq!(en.working_days(1), "1 working day");
        assert_eq!(en.working_days(5), "5 working days");
        assert_eq!(vi.status(Status::AwaitingSupplement), "Chờ bổ sung");
        assert_eq!(vi.timeliness(Timeliness::OnTime), "Đúng hạn");
        assert_eq!(
            vi.outcome(AppraisalOutcome::NotEligible),
            "không đủ điều kiện"
        );
        assert_eq!(vi.channel(Channel::Direct), "trực tiếp");
    }

    #[test]
    fn offices_by_name_never_by_id() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let vi = locale(Lang::Vi, &network.offices);
        let id: OfficeId = "district:dien-ban".parse().unwrap();
        let name = vi.office(&id);
        assert_eq!(name, network.offices.get(&id).unwrap().name);
        assert!(!name.contains("district:"), "{name}");
        // An id the tree does not know is shown as it is.
        let unknown: OfficeId = "commune:nowhere".parse().unwrap();
        assert_eq!(vi.office(&unknown), "commune:nowhere");
    }

    #[test]
    fn fill_replaces_known_names_and_keeps_the_rest() {
        assert_eq!(fill("{a} và {b}", &[("a", "1"), ("b", "2")]), "1 và 2");
        assert_eq!(fill("{a} {x}", &[("a", "1")]), "1 {x}");
        assert_eq!(fill("no brace {", &[]), "no brace {");
        assert_eq!(Lang::parse("vi_VN.UTF-8"), Some(Lang::Vi));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
