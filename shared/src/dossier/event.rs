//! The events of a dossier's append-only log (RULES.md, "Events and who may
//! append them"). Each event is what one officer did at one office.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::OfficeId;

/// A stable identifier of one event, unique within its dossier. Events are
/// referred to by id (a consultation's answer names its consultation), never
/// by position: concurrent appends from two offices may interleave.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId(pub String);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    /// When it happened (UTC; shown in local time).
    pub at: DateTime<Utc>,
    /// The office whose officer appended it.
    pub office: OfficeId,
    /// The officer (cán bộ) who did it.
    pub officer: String,
    pub action: Action,
}

/// Outcome of an appraisal (thẩm định).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppraisalOutcome {
    Ok,
    NeedsSupplement,
    NotEligible,
}

impl AppraisalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AppraisalOutcome::Ok => "ok",
            AppraisalOutcome::NeedsSupplement => "needs_supplement",
            AppraisalOutcome::NotEligible => "not_eligible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().replace('-', "_").as_str() {
            "ok" => Some(AppraisalOutcome::Ok),
            "needs_supplement" => Some(AppraisalOutcome::NeedsSupplement),
            "not_eligible" => Some(AppraisalOutcome::NotEligible),
            _ => None,
        }
    }
}

/// How the result reached the applicant, or how a dossier came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At the desk (trực tiếp).
    Direct,
    /// By the public postal service (bưu chính công ích).
    Postal,
    /// Through the public service portal (trực tuyến).
    Online,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::Postal => "postal",
            Channel::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "direct" => Some(Channel::Direct),
            "postal" => Some(Channel::Postal),
            "online" => Some(Channel::Online),
            _ => None,
        }
    }
}

/// A content-addressed file referenced from a dossier (scan, signed result).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// Lowercase hex SHA-256 of the content.
    pub hash: String,
    pub size: u64,
    pub media_type: String,
    pub name: String,
    /// Lowercase hex SHA-256 of the 64 KiB chunks' hashes (see `attachment`).
    pub chunks_root: String,
}

/// What the event does, with its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Filed online or by post (status 1).
    Submitted,
    /// Accepted at the origin desk, Form 01 issued (status 2).
    Received,
    /// Not accepted at intake, Form 03 (status 3).
    Refused { reason: String },
    /// Custody handed to `to` (phiếu chuyển xử lý), with its task and allowance.
    Forwarded {
        to: OfficeId,
        task: String,
        days: u32,
    },
    /// The sender takes back a transfer not yet accepted.
    ForwardCancelled { reason: String },
    /// The receiving office confirms the transfer and becomes the holder.
    Accepted,
    /// Appraisal (thẩm định) recorded.
    Appraised {
        outcome: AppraisalOutcome,
        note: String,
    },
    /// On-site verification (thẩm tra, xác minh) scheduled.
    VerificationScheduled {
        when: DateTime<Utc>,
        place: String,
        who: String,
    },
    /// Another agency's opinion asked (lấy ý kiến), with its own deadline (D5).
    Consulted {
        to: OfficeId,
        question: String,
        deadline: DateTime<Utc>,
    },
    /// The consulted office answers.
    ConsultationAnswered {
        consultation: EventId,
        answer: String,
    },
    /// Form 02: the applicant must complete the dossier; the clock pauses (D3).
    SupplementRequested { items: Vec<String>, reason: String },
    /// The applicant's supplement is in; the clock restarts or resumes (D3).
    SupplementReceived { note: String },
    /// A fee or tax must be paid (status 6).
    PaymentRequested { amount_vnd: u64, note: String },
    /// Paid; back to processing.
    Paid { amount_vnd: u64, receipt: String },
    /// Form 04: apology and a new due time, once, before the due time (D4).
    Apologized {
        reason: String,
        new_due: DateTime<Utc>,
    },
    /// The applicant asks to withdraw (status 7).
    WithdrawalRequested { reason: String },
    /// Processing stopped (status 8, final).
    Stopped { reason: String },
    /// The decision is signed (phê duyệt).
    Approved { note: String },
    /// The result is issued and travels to `return_office` (status 9).
    ResultIssued {
        result: String,
        attachment: Option<AttachmentRef>,
        return_office: OfficeId,
    },
    /// The result is handed to the applicant (status 10, final).
    Returned { channel: Channel },
    /// A remark; changes nothing.
    Note { text: String },
    /// A kind this version does not know (written by a newer version): kept,
    /// shown, and reported as a conflict.
    Unknown { name: String },
}

/// The discriminant of [`Action`], for messages and permission lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Submitted,
    Received,
    Refused,
    Forwarded,
    ForwardCancelled,
    Accepted,
    Appraised,
    VerificationScheduled,
    Consulted,
    ConsultationAnswered,
    SupplementRequested,
    SupplementReceived,
    PaymentRequested,
    Paid,
    Apologized,
    WithdrawalRequested,
    Stopped,
    Approved,
    ResultIssued,
    Returned,
    Note,
    Unknown,
}

impl ActionKind {
    pub const KNOWN: [ActionKind; 21] = [
        ActionKind::Submitted,
        ActionKind::Received,
        ActionKind::Refused,
        ActionKind::Forwarded,
        ActionKind::ForwardCancelled,
        ActionKind::Accepted,
        ActionKind::Appraised,
        ActionKind::VerificationScheduled,
        ActionKind::Consulted,
        ActionKind::ConsultationAnswered,
        ActionKind::SupplementRequested,
        ActionKind::SupplementReceived,
        ActionKind::PaymentRequested,
        ActionKind::Paid,
        ActionKind::Apologized,
        ActionKind::WithdrawalRequested,
        ActionKind::Stopped,
        ActionKind::Approved,
        ActionKind::ResultIssued,
        ActionKind::Returned,
        ActionKind::Note,
    ];

    /// The name stored in the document's `kind` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Submitted => "submitted",
            ActionKind::Received => "received",
            ActionKind::Refused => "refused",
            ActionKind::Forwarded => "forwarded",
            ActionKind::ForwardCancelled => "forward_cancelled",
            ActionKind::Accepted => "accepted",
            ActionKind::Appraised => "appraised",
            ActionKind::VerificationScheduled => "verification_scheduled",
            ActionKind::Consulted => "consulted",
            ActionKind::ConsultationAnswered => "consultation_answered",
            ActionKind::SupplementRequested => "supplement_requested",
            ActionKind::SupplementReceived => "supplement_received",
            ActionKind::PaymentRequested => "payment_requested",
            ActionKind::Paid => "paid",
            ActionKind::Apologized => "apologized",
            ActionKind::WithdrawalRequested => "withdrawal_requested",
            ActionKind::Stopped => "stopped",
            ActionKind::Approved => "approved",
            ActionKind::ResultIssued => "result_issued",
            ActionKind::Returned => "returned",
            ActionKind::Note => "note",
            ActionKind::Unknown => "unknown",
        }
    }

    /// The officer command that appends this kind of event.
    pub fn command(self) -> &'static str {
        match self {
            ActionKind::Submitted => "receive --online",
            ActionKind::Received => "receive",
            ActionKind::Refused => "refuse",
            ActionKind::Forwarded => "forward",
            ActionKind::ForwardCancelled => "cancel-forward",
            ActionKind::Accepted => "accept",
            ActionKind::Appraised => "appraise",
            ActionKind::VerificationScheduled => "verify",
            ActionKind::Consulted => "consult",
            ActionKind::ConsultationAnswered => "answer",
            ActionKind::SupplementRequested => "request-supplement",
            ActionKind::SupplementReceived => "supplement-received",
            ActionKind::PaymentRequested => "request-payment",
            ActionKind::Paid => "paid",
            ActionKind::Apologized => "apologize",
            ActionKind::WithdrawalRequested => "withdraw",
            ActionKind::Stopped => "stop",
            ActionKind::Approved => "approve",
            ActionKind::ResultIssued => "issue-result",
            ActionKind::Returned => "return",
            ActionKind::Note => "note",
            ActionKind::Unknown => "(none)",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::KNOWN.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Submitted => ActionKind::Submitted,
            Action::Received => ActionKind::Received,
            Action::Refused { .. } => ActionKind::Refused,
            Action::Forwarded { .. } => ActionKind::Forwarded,
            Action::ForwardCancelled { .. } => ActionKind::ForwardCancelled,
            Action::Accepted => ActionKind::Accepted,
            Action::Appraised { .. } => ActionKind::Appraised,
            Action::VerificationScheduled { .. } => ActionKind::VerificationScheduled,
            Action::Consulted { .. } => ActionKind::Consulted,
            Action::ConsultationAnswered { .. } => ActionKind::ConsultationAnswered,
            Action::SupplementRequested { .. } => ActionKind::SupplementRequested,
            Action::SupplementReceived { .. } => ActionKind::SupplementReceived,
            Action::PaymentRequested { .. } => ActionKind::PaymentRequested,
            Action::Paid { .. } => ActionKind::Paid,
            Action::Apologized { .. } => ActionKind::Apologized,
            Action::WithdrawalRequested { .. } => ActionKind::WithdrawalRequested,
            Action::Stopped { .. } => ActionKind::Stopped,
            Action::Approved { .. } => ActionKind::Approved,
            Action::ResultIssued { .. } => ActionKind::ResultIssued,
            Action::Returned { .. } => ActionKind::Returned,
            Action::Note { .. } => ActionKind::Note,
            Action::Unknown { .. } => ActionKind::Unknown,
        }
    }

    /// A one-line description for timelines.
    pub fn summary(&self) -> String {
        match self {
            Action::Submitted => "submitted online/by post".into(),
            Action::Received => "received at the desk (Form 01)".into(),
            Action::Refused { reason } => format!("refused at intake (Form 03): {reason}"),
            Action::Forwarded { to, task, days } => {
                format!("forwarded to {to}: {task} ({days} working days)")
            }
            Action::ForwardCancelled { reason } => format!("transfer cancelled: {reason}"),
            Action::Accepted => "transfer accepted".into(),
            Action::Appraised { outcome, note } => {
                format!("appraised: {} {note}", outcome.as_str())
            }
            Action::VerificationScheduled { when, place, who } => {
                format!("verification scheduled {when} at {place} with {who}")
            }
            Action::Consulted {
                to,
                question,
                deadline,
            } => {
                format!("consulted {to} (answer by {deadline}): {question}")
            }
            Action::ConsultationAnswered { answer, .. } => {
                format!("consultation answered: {answer}")
            }
            Action::SupplementRequested { items, reason } => {
                format!(
                    "supplement requested (Form 02): {} — {reason}",
                    items.join("; ")
                )
            }
            Action::SupplementReceived { note } => format!("supplement received {note}"),
            Action::PaymentRequested { amount_vnd, note } => {
                format!("payment requested: {amount_vnd} VND {note}")
            }
            Action::Paid {
                amount_vnd,
                receipt,
            } => format!("paid {amount_vnd} VND {receipt}"),
            Action::Apologized { reason, new_due } => {
                format!("apology (Form 04), new due {new_due}: {reason}")
            }
            Action::WithdrawalRequested { reason } => format!("withdrawal requested: {reason}"),
            Action::Stopped { reason } => format!("processing stopped: {reason}"),
            Action::Approved { note } => format!("approved {note}"),
            Action::ResultIssued {
                result,
                return_office,
                ..
            } => {
                format!("result issued: {result} → return desk of {return_office}")
            }
            Action::Returned { channel } => format!("result returned ({})", channel.as_str()),
            Action::Note { text } => format!("note: {text}"),
            Action::Unknown { name } => format!("unknown event kind `{name}`"),
        }
    }
}
