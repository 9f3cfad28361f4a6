//! What the fold derives: the state of a dossier (status, custody, due
//! times, pauses, consultations, result, timeliness) and the conflicts it
//! kept, with how each is told to a person. The rules that compute them are
//! in the parent module.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::event::{AttachmentRef, EventId};
use super::super::status::{Status, Timeliness};
use crate::OfficeId;
use crate::calendar::WorkingCalendar;
use crate::rule_set::RuleSets;

/// What the fold needs besides the log.
#[derive(Clone, Copy)]
pub struct FoldContext<'a> {
    pub calendar: &'a WorkingCalendar,
    pub rule_sets: &'a RuleSets,
    /// The moment "overdue" and "due soon" are judged at.
    pub now: DateTime<Utc>,
}

/// Custody in transfer: forwarded, not yet accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transfer {
    pub event: EventId,
    pub from: OfficeId,
    pub to: OfficeId,
    pub task: String,
    pub days: u32,
    pub at: DateTime<Utc>,
}

/// An interval during which the clock was stopped for the applicant (D3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pause {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// A consultation (lấy ý kiến) and its answer (D5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Consultation {
    pub event: EventId,
    pub to: OfficeId,
    pub question: String,
    pub deadline: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answer: Option<String>,
}

impl Consultation {
    pub fn is_open(&self) -> bool {
        self.answered_at.is_none()
    }
}

/// The apology (Form 04) in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Apology {
    pub event: EventId,
    pub at: DateTime<Utc>,
    pub previous_due: DateTime<Utc>,
    pub new_due: DateTime<Utc>,
    pub reason: String,
    /// Issued less than the rule set's minimum before the due time (D4).
    pub late: bool,
}

/// The result (kết quả) once issued.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultInfo {
    pub event: EventId,
    pub result: String,
    pub attachment: Option<AttachmentRef>,
    pub issued_at: DateTime<Utc>,
    pub issued_by: OfficeId,
    pub return_office: OfficeId,
}

/// Things an officer or the Center should notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// The first supplement request went out later than the rule set allows after receipt (D3).
    SupplementRequestLate,
    /// More than one supplement request: the dossier counts as late (D3).
    RepeatedSupplementRequest,
    /// The apology went out less than the required time before the due time (D4).
    ApologyLate,
    /// Overdue (or finished late) with no apology issued (D4).
    ApologyMissing,
    /// Due within one working day: an apology must go out now if it will be late (D4).
    DueSoon,
    /// A consultation past its deadline without an answer (D5).
    ConsultationOverdue { consultation: EventId, to: OfficeId },
    /// The current holder's own allowance, written on the transfer, has passed.
    StepOverdue { office: OfficeId },
    /// The due time could not be computed (date outside the shipped calendars).
    DueTimeUnknown { problem: String },
}

/// Why an event did not change the state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ConflictReason {
    NotHolder {
        holder: Option<OfficeId>,
    },
    NotOrigin {
        origin: OfficeId,
    },
    NotAllowedInStatus {
        status: Option<Status>,
        allowed: Vec<Status>,
    },
    FinalStatus {
        status: Status,
    },
    InTransfer {
        to: OfficeId,
    },
    NotInTransfer,
    NotTransferRecipient {
        to: OfficeId,
    },
    NotTransferSender {
        from: OfficeId,
    },
    AlreadyApologized,
    ApologyAfterDue {
        due: DateTime<Utc>,
    },
    ApologyNotLater {
        due: DateTime<Utc>,
    },
    NoDueTime,
    NotApproved,
    UnknownConsultation {
        consultation: EventId,
    },
    NoOpenConsultation,
    ConsultationClosed {
        consultation: EventId,
    },
    NotConsultedOffice {
        to: OfficeId,
    },
    NotReturnOffice {
        return_office: OfficeId,
    },
    /// An approval by an office that is not a step of the dossier's route.
    NotOnRoute {
        route: Vec<OfficeId>,
    },
    /// A result issued by an office other than the route's deciding agency.
    NotDecidingOffice {
        decider: OfficeId,
    },
    DuplicateEventId,
    UnknownKind {
        name: String,
    },
    Malformed {
        problem: String,
    },
}

pub(super) fn statuses(list: &[Status]) -> String {
    list.iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictReason::NotHolder { holder: Some(h) } => {
                write!(f, "only the holder ({h}) may do this")
            }
            ConflictReason::NotHolder { holder: None } => {
                write!(f, "nobody holds this dossier yet")
            }
            ConflictReason::NotOrigin { origin } => {
                write!(f, "only the receiving office's desk ({origin}) may do this")
            }
            ConflictReason::NotAllowedInStatus { status, allowed } => write!(
                f,
                "not allowed while the dossier is {}; allowed only when {}",
                status.map_or("not yet received", |s| s.as_str()),
                match allowed.as_slice() {
                    [] => "it is new".to_string(),
                    // Intake (received, refused) is allowed before any status too.
                    [Status::Submitted] => "it is new or submitted".to_string(),
                    _ => statuses(allowed),
                }
            ),
            ConflictReason::FinalStatus { status } => {
                write!(
                    f,
                    "the dossier is {status}, a final status: only notes may be added"
                )
            }
            ConflictReason::InTransfer { to } => write!(
                f,
                "the dossier is in transfer to {to}: nobody may process it until {to} accepts (or the sender cancels)"
            ),
            ConflictReason::NotInTransfer => write!(f, "the dossier is not in transfer"),
            ConflictReason::NotTransferRecipient { to } => {
                write!(
                    f,
                    "only {to}, the office it was forwarded to, may accept it"
                )
            }
            ConflictReason::NotTransferSender { from } => {
                write!(f, "only {from}, the sender, may cancel the transfer")
            }
            ConflictReason::AlreadyApologized => {
                write!(
                    f,
                    "an apology (Form 04) was already issued; at most one per dossier (D4)"
                )
            }
            ConflictReason::ApologyAfterDue { due } => write!(
                f,
                "the due time {due} has passed; an apology must be issued before it (D4)"
            ),
            ConflictReason::ApologyNotLater { due } => {
                write!(f, "the new due time must be after the current one ({due})")
            }
            ConflictReason::NoDueTime => write!(f, "the dossier has no due time"),
            ConflictReason::NotApproved => {
                write!(
                    f,
                    "the decision must be approved by the holder before the result is issued"
                )
            }
            ConflictReason::UnknownConsultation { consultation } => {
                write!(f, "no consultation {consultation} in this dossier")
            }
            ConflictReason::NoOpenConsultation => {
                write!(
                    f,
                    "no consultation is waiting for an answer on this dossier"
                )
            }
            ConflictReason::ConsultationClosed { consultation } => {
                write!(f, "consultation {consultation} was already answered")
            }
            ConflictReason::NotConsultedOffice { to } => {
                write!(f, "only the consulted office ({to}) may answer")
            }
            ConflictReason::NotReturnOffice { return_office } => {
                write!(
                    f,
                    "the result is returned by {return_office}'s desk (R1/R2)"
                )
            }
            ConflictReason::NotOnRoute { route } => write!(
                f,
                "only an office on the dossier's route ({}) may approve it",
                route
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ConflictReason::NotDecidingOffice { decider } => write!(
                f,
                "only {decider}, the route's deciding agency, may issue the result"
            ),
            ConflictReason::DuplicateEventId => write!(f, "an earlier event has the same id"),
            ConflictReason::UnknownKind { name } => write!(
                f,
                "unknown event kind `{name}` (written by a newer version?); kept but not applied"
            ),
            ConflictReason::Malformed { problem } => write!(f, "unreadable event: {problem}"),
        }
    }
}

/// An event that was kept but did not change the state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// Position in the log.
    pub index: usize,
    pub event: Option<EventId>,
    pub kind: String,
    pub office: Option<OfficeId>,
    pub officer: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub reason: ConflictReason,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event #{} `{}`", self.index + 1, self.kind)?;
        if let Some(office) = &self.office {
            write!(f, " by {office}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The derived state of a dossier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DossierState {
    /// None until the first effective event.
    pub status: Option<Status>,
    /// The office holding custody (after a result is issued: the return office).
    pub holder: Option<OfficeId>,
    pub transfer: Option<Transfer>,
    pub received_at: Option<DateTime<Utc>>,
    /// The due time in force (after restarts, extensions and a valid apology).
    pub due_at: Option<DateTime<Utc>>,
    /// The due time set at receipt (Form 01).
    pub original_due_at: Option<DateTime<Utc>>,
    /// The current holder's own deadline, from the allowance on its transfer.
    pub step_due_at: Option<DateTime<Utc>>,
    pub apology: Option<Apology>,
    pub pauses: Vec<Pause>,
    pub supplement_requests: u32,
    pub consultations: Vec<Consultation>,
    pub approved: bool,
    pub result: Option<ResultInfo>,
    /// The first of resolved, returned, stopped, refused (D6).
    pub ended_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    pub timeliness: Option<Timeliness>,
    pub flags: Vec<Flag>,
    pub conflicts: Vec<Conflict>,
    /// Per log entry: whether it was applied.
    pub applied: Vec<bool>,
    /// Status to go back to when a pause or payment ends.
    #[serde(skip)]
    pub(super) resume_status: Option<Status>,
    #[serde(skip)]
    pub(super) seen_ids: HashSet<EventId>,
}

impl DossierState {
    pub(super) fn new() -> Self {
        DossierState {
            status: None,
            holder: None,
            transfer: None,
            received_at: None,
            due_at: None,
            original_due_at: None,
            step_due_at: None,
            apology: None,
            pauses: Vec::new(),
            supplement_requests: 0,
            consultations: Vec::new(),
            approved: false,
            result: None,
            ended_at: None,
            returned_at: None,
            timeliness: None,
            flags: Vec::new(),
            conflicts: Vec::new(),
            applied: Vec::new(),
            resume_status: None,
            seen_ids: HashSet::new(),
        }
    }

    /// Not finished and past its due time, clock not paused.
    pub fn is_overdue(&self) -> bool {
        self.timeliness == Some(Timeliness::Overdue)
    }

    pub fn is_paused(&self) -> bool {
        self.status == Some(Status::AwaitingSupplement)
    }

    pub fn open_consultations(&self) -> impl Iterator<Item = &Consultation> {
        self.consultations.iter().filter(|c| c.is_open())
    }
}
