//! The workflow in words: timeline lines, why an action is refused, flags,
//! and the errors of officer commands — with local times, office names and
//! amounts in đồng.

use lienthong_shared::dossier::fold::{ConflictReason, Flag};
use lienthong_shared::dossier::{Action, Status};

use super::{Lang, Locale, Msg};
use crate::replication::authorship::messages::AuthorshipMsg;
use crate::service::{ActionError, Refusal};

/// `": text"`-style suffix: `prefix` + `text` when `text` is not blank.
fn suffix(prefix: &str, text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("{prefix}{}", text.trim())
    }
}

impl Locale<'_> {
    /// One line of the timeline for an event's action.
    pub fn action(&self, action: &Action) -> String {
        match action {
            Action::Submitted => self.t(Msg::EvSubmitted).into(),
            Action::Received => self.t(Msg::EvReceived).into(),
            Action::Refused { reason } => self.f(Msg::EvRefused, &[("reason", reason)]),
            Action::Forwarded { to, task, days } => self.f(
                Msg::EvForwarded,
                &[
                    ("to", &self.office(to)),
                    ("task", task),
                    ("days", &self.working_days(u64::from(*days))),
                ],
            ),
            Action::ForwardCancelled { reason } => {
                self.f(Msg::EvForwardCancelled, &[("reason", reason)])
            }
            Action::Accepted => self.t(Msg::EvAccepted).into(),
            Action::Appraised { outcome, note } => self.f(
                Msg::EvAppraised,
                &[
                    ("outcome", self.outcome(*outcome)),
                    ("note", &suffix(" — ", note)),
                ],
            ),
            Action::VerificationScheduled { when, place, who } => self.f(
                Msg::EvVerificationScheduled,
                &[
                    ("when", &self.datetime(*when)),
                    ("place", place),
                    ("who", &suffix(", ", who)),
                ],
            ),
            Action::Consulted {
                to,
                question,
                deadline,
            } => self.f(
                Msg::EvConsulted,
                &[
                    ("to", &self.office(to)),
                    ("deadline", &self.datetime(*deadline)),
                    ("question", question),
                ],
            ),
            Action::ConsultationAnswered { answer, .. } => {
                self.f(Msg::EvConsultationAnswered, &[("answer", answer)])
            }
            Action::SupplementRequested { items, reason } => self.f(
                Msg::EvSupplementRequested,
                &[("items", &items.join("; ")), ("reason", reason)],
            ),
            Action::SupplementReceived { note } => {
                self.f(Msg::EvSupplementReceived, &[("note", &suffix(": ", note))])
            }
            Action::PaymentRequested { amount_vnd, note } => self.f(
                Msg::EvPaymentRequested,
                &[
                    ("amount", &self.money(*amount_vnd)),
                    ("note", &suffix(" — ", note)),
                ],
            ),
            Action::Paid {
                amount_vnd,
                receipt,
            } => self.f(
                Msg::EvPaid,
                &[
                    ("amount", &self.money(*amount_vnd)),
                    ("receipt", &suffix(", ", receipt)),
                ],
            ),
            Action::Apologized { reason, new_due } => self.f(
                Msg::EvApologized,
                &[("new_due", &self.datetime(*new_due)), ("reason", reason)],
            ),
            Action::WithdrawalRequested { reason } => self.f(
                Msg::EvWithdrawalRequested,
                &[("reason", &suffix(": ", reason))],
            ),
            Action::Stopped { reason } => self.f(Msg::EvStopped, &[("reason", reason)]),
            Action::Approved { note } => self.f(Msg::EvApproved, &[("note", &suffix(": ", note))]),
            Action::ResultIssued {
                result,
                return_office,
                ..
            } => self.f(
                Msg::EvResultIssued,
                &[
                    ("result", result),
                    ("return_office", &self.office(return_office)),
                ],
            ),
            Action::Returned { channel } => {
                self.f(Msg::EvReturned, &[("channel", self.channel(*channel))])
            }
            Action::Note { text } => self.f(Msg::EvNote, &[("text", text)]),
            Action::Unknown { name } => self.f(Msg::EvUnknown, &[("name", name)]),
        }
    }

    fn statuses(&self, list: &[Status]) -> String {
        match list {
            [] => self.t(Msg::WhyNew).into(),
            // Intake (received, refused) is allowed before any status too.
            [Status::Submitted] => self.t(Msg::WhyNewOrSubmitted).into(),
            _ => list
                .iter()
                .map(|s| self.status(*s))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Why an event was refused or did not apply.
    pub fn reason(&self, reason: &ConflictReason) -> String {
        use ConflictReason as R;
        match reason {
            R::NotHolder { holder: Some(h) } => {
                self.f(Msg::WhyNotHolder, &[("holder", &self.office(h))])
            }
            R::NotHolder { holder: None } => self.t(Msg::WhyNobodyHolds).into(),
            R::NotOrigin { origin } => {
                self.f(Msg::WhyNotOrigin, &[("origin", &self.office(origin))])
            }
            R::NotAllowedInStatus { status, allowed } => self.f(
                Msg::WhyNotInStatus,
                &[
                    ("status", self.status_opt(*status)),
                    ("allowed", &self.statuses(allowed)),
                ],
            ),
            R::FinalStatus { status } => self.f(Msg::WhyFinal, &[("status", self.status(*status))]),
            R::InTransfer { to } => self.f(Msg::WhyInTransfer, &[("to", &self.office(to))]),
            R::NotInTransfer => self.t(Msg::WhyNotInTransfer).into(),
            R::NotTransferRecipient { to } => {
                self.f(Msg::WhyNotRecipient, &[("to", &self.office(to))])
            }
            R::NotTransferSender { from } => {
                self.f(Msg::WhyNotSender, &[("from", &self.office(from))])
            }
            R::AlreadyApologized => self.t(Msg::WhyAlreadyApologized).into(),
            R::ApologyAfterDue { due } => {
                self.f(Msg::WhyApologyAfterDue, &[("due", &self.datetime(*due))])
            }
            R::ApologyNotLater { due } => {
                self.f(Msg::WhyApologyNotLater, &[("due", &self.datetime(*due))])
            }
            R::NoDueTime => self.t(Msg::WhyNoDueTime).into(),
            R::NotApproved => self.t(Msg::WhyNotApproved).into(),
            R::UnknownConsultation { consultation } => self.f(
                Msg::WhyUnknownConsultation,
                &[("consultation", &consultation.0)],
            ),
            R::NoOpenConsultation => self.t(Msg::WhyNoOpenConsultation).into(),
            R::ConsultationClosed { consultation } => self.f(
                Msg::WhyConsultationClosed,
                &[("consultation", &consultation.0)],
            ),
            R::NotConsultedOffice { to } => {
                self.f(Msg::WhyNotConsulted, &[("to", &self.office(to))])
            }
            R::NotReturnOffice { return_office } => self.f(
                Msg::WhyNotReturnOffice,
                &[("return_office", &self.office(return_office))],
            ),
            R::NotOnRoute { route } => self.f(
                AuthorshipMsg::WhyNotOnRoute,
                &[(
                    "route",
                    &route
                        .iter()
                        .map(|o| self.office(o))
                        .collect::<Vec<_>>()
                        .join(", "),
                )],
            ),
            R::NotDecidingOffice { decider } => self.f(
                AuthorshipMsg::WhyNotDecidingOffice,
                &[("decider", &self.office(decider))],
            ),
            R::DuplicateEventId => self.t(Msg::WhyDuplicate).into(),
            R::UnknownKind { name } => self.f(Msg::WhyUnknownKind, &[("name", name)]),
            R::Malformed { problem } => self.f(Msg::WhyMalformed, &[("problem", problem)]),
        }
    }

    /// What an officer should notice about a dossier.
    pub fn flag(&self, flag: &Flag) -> String {
        match flag {
            Flag::SupplementRequestLate => self.t(Msg::FlagSupplementRequestLate).into(),
            Flag::RepeatedSupplementRequest => self.t(Msg::FlagRepeatedSupplement).into(),
            Flag::ApologyLate => self.t(Msg::FlagApologyLate).into(),
            Flag::ApologyMissing => self.t(Msg::FlagApologyMissing).into(),
            Flag::DueSoon => self.t(Msg::FlagDueSoon).into(),
            Flag::ConsultationOverdue { to, .. } => {
                self.f(Msg::FlagConsultationOverdue, &[("to", &self.office(to))])
            }
            Flag::StepOverdue { office } => {
                self.f(Msg::FlagStepOverdue, &[("office", &self.office(office))])
            }
            Flag::DueTimeUnknown { problem } => {
                self.f(Msg::FlagDueTimeUnknown, &[("problem", problem)])
            }
        }
    }

    /// A refused command: why, where the dossier stands, what is allowed.
    pub fn refusal(&self, refusal: &Refusal) -> String {
        let status = self.status_opt(refusal.status);
        let status = match &refusal.transfer_to {
            Some(to) if refusal.status.is_some() => self.f(
                Msg::InTransferTo,
                &[("status", status), ("to", &self.office(to))],
            ),
            _ => status.to_string(),
        };
        let holder = refusal.holder.as_ref().map_or(String::new(), |h| {
            self.f(Msg::HeldBy, &[("holder", &self.office(h))])
        });
        let allowed = if refusal.allowed.is_empty() {
            self.t(Msg::OnlyNotes).to_string()
        } else {
            let mut names: Vec<String> = refusal
                .allowed
                .iter()
                .map(|k| match self.lang {
                    Lang::En => format!("`{}`", k.command()),
                    Lang::Vi => format!("«{}»", self.kind(*k)),
                })
                .collect();
            names.sort();
            self.f(Msg::AllowedNow, &[("list", &names.join(", "))])
        };
        self.f(
            Msg::Refused,
            &[
                ("action", self.kind(refusal.action)),
                ("reason", &self.reason(&refusal.reason)),
                ("code", &refusal.code),
                ("status", &status),
                ("holder", &holder),
                ("allowed", &allowed),
            ],
        )
    }

    /// An officer command's error, in words; errors from below the workflow
    /// (the store, the calendar files) keep their own text.
    pub fn action_error(&self, error: &ActionError) -> String {
        use ActionError as E;
        match error {
            E::UnknownProcedure { code, hint } => {
                self.f(Msg::ErrUnknownProcedure, &[("code", code), ("hint", hint)])
            }
            E::UnknownDossier(query) => self.f(Msg::ErrUnknownDossier, &[("query", query)]),
            E::AmbiguousDossier { query, matches } => self.f(
                Msg::ErrAmbiguousDossier,
                &[("query", query), ("matches", matches)],
            ),
            E::NotAllowed(refusal) => self.refusal(refusal),
            E::UnknownOffice(office) => {
                self.f(Msg::ErrUnknownOffice, &[("office", office.as_str())])
            }
            E::NotServedHere { office, served } => self.f(
                Msg::ErrNotServedHere,
                &[("office", office.as_str()), ("served", served)],
            ),
            E::NoNextStep { code, holder } => self.f(
                Msg::ErrNoNextStep,
                &[
                    ("code", code),
                    (
                        "holder",
                        &holder.as_ref().map_or("—".to_string(), |h| self.office(h)),
                    ),
                ],
            ),
            E::NoOpenConsultation { code } => self.f(Msg::ErrNoOpenConsultation, &[("code", code)]),
            E::SeveralConsultations { code, ids } => self.f(
                Msg::ErrSeveralConsultations,
                &[
                    ("code", code),
                    ("n", &ids.len().to_string()),
                    ("ids", &ids.join(", ")),
                ],
            ),
            E::NoDueTime { code } => self.f(Msg::ErrNoDueTime, &[("code", code)]),
            E::UnknownAttachment { hash } => self.f(Msg::ErrUnknownAttachment, &[("hash", hash)]),
            E::KeptChanging => self.t(Msg::ErrKeptChanging).into(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use lienthong_shared::OfficeId;
    use lienthong_shared::dossier::ActionKind;

    use super::*;

    #[test]
    fn a_refusal_in_vietnamese_names_offices_statuses_and_local_times() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let vi = Locale::new(Lang::Vi, chrono_tz::Asia::Ho_Chi_Minh, &network.offices);
        let district: OfficeId = "district:dien-ban".parse().unwrap();
        let due = Utc.with_ymd_and_hms(2026, 3, 26, 2, 0, 0).unwrap();
        let refusal = Refusal {
            action: ActionKind::Apologized,
            code: "000.00.36.H49-260302-0001".into(),
            status: Some(Status::Processing),
            transfer_to: None,
            holder: Some(district.clone()),
            reason: ConflictReason::ApologyAfterDue { due },
            allowed: vec![ActionKind::Approved, ActionKind::Forwarded],
        };
        let text = vi.refusal(&refusal);
        let name = &network.offices.get(&district).unwrap().name;
        assert!(
            text.starts_with("Không thực hiện được «Xin lỗi, hẹn lại ngày trả»"),
            "{text}"
        );
        assert!(text.contains("26/03/2026 09:00"), "local time: {text}");
        assert!(text.contains("Đang xử lý"), "{text}");
        assert!(
            text.contains(name.as_str()) && !text.contains("district:"),
            "{text}"
        );
        assert!(
            text.contains("«Chuyển xử lý»") && text.contains("«Phê duyệt»"),
            "{text}"
        );
        assert!(!text.contains("UTC"), "{text}");
    }

    #[test]
    fn timeline_lines_use_money_days_and_outcomes_in_words() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let vi = Locale::new(Lang::Vi, chrono_tz::Asia::Ho_Chi_Minh, &network.offices);
        let en = Locale::new(Lang::En, chrono_tz::Asia::Ho_Chi_Minh, &network.offices);
        let paid = Action::PaymentRequested {
            amount_vnd: 5_000_000,
            note: String::new(),
        };
        assert_eq!(vi.action(&paid), "Yêu cầu nộp 5.000.000 đ");
        assert_eq!(en.action(&paid), "payment requested: 5,000,000 VND");
        let appraised = Action::Appraised {
            outcome: lienthong_shared::dossier::AppraisalOutcome::NotEligible,
            note: String::new(),
        };
        assert_eq!(vi.action(&appraised), "Thẩm định: không đủ điều kiện");
        let forwarded = Action::Forwarded {
            to: "district:dien-ban".parse().unwrap(),
            task: "Thẩm định".into(),
            days: 1,
        };
        let line = en.action(&forwarded);
        assert!(
            line.ends_with("(1 working day)") && !line.contains("district:"),
            "{line}"
        );
    }
}
