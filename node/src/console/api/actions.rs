//! The JSON bodies the API accepts: a new dossier, and an action on one,
//! turned into the service layer's [`NewDossier`] and [`Intent`] — the same
//! the CLI builds from its flags. Defaults (next route step, consultation
//! answered, return desk) are the service's, never decided here.

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::schema::Applicant;
use lienthong_shared::dossier::{Action, AppraisalOutcome, Channel, EventId};
use serde::Deserialize;

use crate::service::{Intent, NewDossier, NewDue};

/// Most components, supplement items a request may name.
pub const MAX_ITEMS: usize = 64;

/// `POST /api/v1/dossiers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    pub procedure: String,
    pub applicant: ApplicantJson,
    #[serde(default = "direct")]
    pub channel: Channel,
    #[serde(default = "direct")]
    pub result_by: Channel,
    /// Component names; empty: the catalogue's list.
    #[serde(default)]
    pub components: Vec<String>,
    /// Filed online, not yet checked at a desk (status 1).
    #[serde(default)]
    pub submitted_only: bool,
    /// Receive as this office (default: the node's office).
    #[serde(default)]
    pub office: Option<OfficeId>,
}

fn direct() -> Channel {
    Channel::Direct
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicantJson {
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub organisation: String,
}

impl ReceiveRequest {
    /// The service's new dossier; an empty name or too many components is refused.
    pub fn into_new(self) -> Result<(NewDossier, Option<OfficeId>), String> {
        if self.applicant.name.trim().is_empty() {
            return Err("applicant.name is empty: name the applicant".into());
        }
        if self.components.len() > MAX_ITEMS {
            return Err(format!("more than {MAX_ITEMS} components"));
        }
        let a = self.applicant;
        Ok((
            NewDossier {
                procedure: self.procedure,
                applicant: Applicant {
                    name: a.name,
                    id_number: a.id_number,
                    address: a.address,
                    phone: a.phone,
                    email: a.email,
                    organisation: a.organisation,
                },
                channel: self.channel,
                result_delivery: self.result_by,
                components: self.components,
                submitted_only: self.submitted_only,
            },
            self.office,
        ))
    }
}

/// `POST /api/v1/dossiers/{code}/actions`: `{"action": "forward", …}`,
/// optionally `"as": "office id"` when this node serves several offices.
#[derive(Debug, Deserialize)]
pub struct ActionRequest {
    #[serde(default, rename = "as")]
    pub as_office: Option<OfficeId>,
    #[serde(flatten)]
    pub action: ApiAction,
}

/// One action, named as the CLI's command (`accept-submission` →
/// `accept_submission`), with the same fields as its flags.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ApiAction {
    AcceptSubmission,
    Refuse {
        reason: String,
    },
    Forward {
        #[serde(default)]
        to: Option<OfficeId>,
        #[serde(default)]
        task: Option<String>,
        #[serde(default)]
        days: Option<u32>,
    },
    CancelForward {
        #[serde(default)]
        reason: String,
    },
    Accept,
    Appraise {
        outcome: AppraisalOutcome,
        #[serde(default)]
        note: String,
    },
    Verify {
        when: DateTime<Utc>,
        place: String,
        #[serde(default)]
        who: String,
    },
    Consult {
        to: OfficeId,
        question: String,
        #[serde(default = "five")]
        days: u32,
    },
    Answer {
        #[serde(default)]
        consultation: Option<String>,
        answer: String,
    },
    RequestSupplement {
        items: Vec<String>,
        reason: String,
    },
    SupplementReceived {
        #[serde(default)]
        note: String,
    },
    RequestPayment {
        amount_vnd: u64,
        #[serde(default)]
        note: String,
    },
    Paid {
        amount_vnd: u64,
        #[serde(default)]
        receipt: String,
    },
    Apologize {
        reason: String,
        #[serde(default)]
        new_due: Option<DateTime<Utc>>,
        #[serde(default)]
        extra_days: Option<u32>,
    },
    Withdraw {
        #[serde(default)]
        reason: String,
    },
    Stop {
        reason: String,
    },
    Approve {
        #[serde(default)]
        note: String,
    },
    IssueResult {
        result: String,
        #[serde(default)]
        attachment: Option<String>,
    },
    Return {
        #[serde(default = "direct")]
        channel: Channel,
    },
    Note {
        text: String,
    },
}

fn five() -> u32 {
    5
}

impl ApiAction {
    /// The service's intent; what the request leaves ambiguous is refused.
    pub fn into_intent(self) -> Result<Intent, String> {
        Ok(match self {
            ApiAction::AcceptSubmission => Intent::AcceptSubmission,
            ApiAction::Refuse { reason } => Intent::Exact(Action::Refused { reason }),
            ApiAction::Forward { to, task, days } => Intent::Forward { to, task, days },
            ApiAction::CancelForward { reason } => {
                Intent::Exact(Action::ForwardCancelled { reason })
            }
            ApiAction::Accept => Intent::Exact(Action::Accepted),
            ApiAction::Appraise { outcome, note } => {
                Intent::Exact(Action::Appraised { outcome, note })
            }
            ApiAction::Verify { when, place, who } => {
                Intent::Exact(Action::VerificationScheduled { when, place, who })
            }
            ApiAction::Consult { to, question, days } => Intent::Consult { to, question, days },
            ApiAction::Answer {
                consultation,
                answer,
            } => Intent::Answer {
                consultation: consultation.map(EventId),
                answer,
            },
            ApiAction::RequestSupplement { items, reason } => {
                if items.is_empty() || items.len() > MAX_ITEMS {
                    return Err(format!(
                        "items must name between 1 and {MAX_ITEMS} missing papers"
                    ));
                }
                Intent::Exact(Action::SupplementRequested { items, reason })
            }
            ApiAction::SupplementReceived { note } => {
                Intent::Exact(Action::SupplementReceived { note })
            }
            ApiAction::RequestPayment { amount_vnd, note } => {
                Intent::Exact(Action::PaymentRequested { amount_vnd, note })
            }
            ApiAction::Paid {
                amount_vnd,
                receipt,
            } => Intent::Exact(Action::Paid {
                amount_vnd,
                receipt,
            }),
            ApiAction::Apologize {
                reason,
                new_due,
                extra_days,
            } => Intent::Apologize {
                reason,
                new_due: match (new_due, extra_days) {
                    (Some(at), None) => NewDue::At(at),
                    (None, Some(days)) => NewDue::ExtraWorkingDays(days),
                    _ => {
                        return Err(
                            "give exactly one of new_due (RFC 3339 time) or extra_days".into()
                        );
                    }
                },
            },
            ApiAction::Withdraw { reason } => Intent::Exact(Action::WithdrawalRequested { reason }),
            ApiAction::Stop { reason } => Intent::Exact(Action::Stopped { reason }),
            ApiAction::Approve { note } => Intent::Exact(Action::Approved { note }),
            ApiAction::IssueResult { result, attachment } => {
                Intent::IssueResult { result, attachment }
            }
            ApiAction::Return { channel } => Intent::Exact(Action::Returned { channel }),
            ApiAction::Note { text } => Intent::Exact(Action::Note { text }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_as_the_cli_names_them() {
        let request: ActionRequest =
            serde_json::from_str(r#"{"action":"forward","as":"commune:dien-ban/dien-phuong"}"#)
                .unwrap();
        assert_eq!(
            request.as_office.as_ref().map(|o| o.as_str()),
            Some("commune:dien-ban/dien-phuong")
        );
        assert_eq!(
            request.action.into_intent().unwrap(),
            Intent::Forward {
                to: None,
                task: None,
                days: None
            }
        );
        let request: ActionRequest =
            serde_json::from_str(r#"{"action":"apologize","reason":"x"}"#).unwrap();
        assert!(request.action.into_intent().is_err());
        assert!(serde_json::from_str::<ActionRequest>(r#"{"action":"fly"}"#).is_err());
    }
}

/// The API's name for an action the rules allow now (the `action` to post);
/// `None` for kinds no request makes.
pub fn api_name(kind: lienthong_shared::dossier::ActionKind) -> Option<&'static str> {
    use lienthong_shared::dossier::ActionKind as K;
    Some(match kind {
        K::Received => "accept_submission",
        K::Refused => "refuse",
        K::Forwarded => "forward",
        K::ForwardCancelled => "cancel_forward",
        K::Accepted => "accept",
        K::Appraised => "appraise",
        K::VerificationScheduled => "verify",
        K::Consulted => "consult",
        K::ConsultationAnswered => "answer",
        K::SupplementRequested => "request_supplement",
        K::SupplementReceived => "supplement_received",
        K::PaymentRequested => "request_payment",
        K::Paid => "paid",
        K::Apologized => "apologize",
        K::WithdrawalRequested => "withdraw",
        K::Stopped => "stop",
        K::Approved => "approve",
        K::ResultIssued => "issue_result",
        K::Returned => "return",
        K::Note => "note",
        K::Submitted | K::Unknown => return None,
    })
}

#[cfg(test)]
mod names {
    use super::*;
    use lienthong_shared::dossier::ActionKind;

    /// Every name the dossier page offers is one the actions endpoint reads.
    #[test]
    fn allowed_names_are_postable() {
        for kind in ActionKind::KNOWN {
            let Some(name) = api_name(kind) else { continue };
            let body = match name {
                "accept_submission" | "accept" => format!(r#"{{"action":"{name}"}}"#),
                _ => format!(r#"{{"action":"{name}","x":1}}"#),
            };
            let parsed = serde_json::from_str::<ActionRequest>(&body);
            if let Err(e) = &parsed {
                assert!(
                    e.to_string().contains("missing field"),
                    "{name} is not an action the API reads: {e}"
                );
            }
        }
    }
}
