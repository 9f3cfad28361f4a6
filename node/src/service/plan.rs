//! The workflow defaults: what an officer's command means on a dossier in
//! its current state — the office acting, the next route step, the
//! consultation answered, the apology's new due time, the return desk.
//!
//! Pure: the dossier, its state from the one fold of the command, the
//! offices this node serves and the calendar go in; the events to append
//! come out. The CLI, the console, the JSON API and the chaos harness all
//! build their actions here, so a default is decided in one place.

use chrono::{DateTime, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::DossierState;
use lienthong_shared::dossier::schema::RouteStep;
use lienthong_shared::dossier::{
    Action, ActionKind, AttachmentRef, Dossier, Event, EventId, Status,
};
use lienthong_shared::offices::OfficeTree;

use super::{ActionError, Result, new_event_id};

/// What an officer asks for, before the defaults the dossier supplies.
/// Actions that need nothing from the dossier are given whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// An action given in full (notes, appraisals, refusals, tests).
    Exact(Action),
    /// Take in a dossier submitted online or by post (status 1 → 2, Form 01).
    AcceptSubmission,
    /// Hand custody on; by default to the next office on the route, with
    /// that step's task and allowance.
    Forward {
        to: Option<OfficeId>,
        task: Option<String>,
        days: Option<u32>,
    },
    /// Ask another office's opinion, answer due in `days` working days (D5).
    Consult {
        to: OfficeId,
        question: String,
        days: u32,
    },
    /// Answer a consultation; by default the one open consultation
    /// addressed to this node.
    Answer {
        consultation: Option<EventId>,
        answer: String,
    },
    /// Form 04: a new due time, given or so many working days after the
    /// current one (D4).
    Apologize { reason: String, new_due: NewDue },
    /// Issue the result to the return desk the rules name (R1/R2); the
    /// attachment by (a prefix of) its hash.
    IssueResult {
        result: String,
        attachment: Option<String>,
    },
}

/// The new due time of an apology.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NewDue {
    At(DateTime<Utc>),
    ExtraWorkingDays(u32),
}

impl Intent {
    pub fn kind(&self) -> ActionKind {
        match self {
            Intent::Exact(action) => action.kind(),
            Intent::AcceptSubmission => ActionKind::Received,
            Intent::Forward { .. } => ActionKind::Forwarded,
            Intent::Consult { .. } => ActionKind::Consulted,
            Intent::Answer { .. } => ActionKind::ConsultationAnswered,
            Intent::Apologize { .. } => ActionKind::Apologized,
            Intent::IssueResult { .. } => ActionKind::ResultIssued,
        }
    }
}

impl From<Action> for Intent {
    fn from(action: Action) -> Self {
        Intent::Exact(action)
    }
}

/// What the defaults are drawn from besides the dossier: this node's
/// offices, the office tree and the calendar.
#[derive(Clone, Copy)]
pub struct Desk<'a> {
    pub tree: &'a OfficeTree,
    pub calendar: &'a WorkingCalendar,
    /// The offices this node acts for.
    pub served: &'a [OfficeId],
    /// The node's own office (acts when no served office fits).
    pub own: &'a OfficeId,
}

impl Desk<'_> {
    pub fn serves(&self, office: &OfficeId) -> bool {
        self.served.contains(office)
    }
}

/// The events a command appends: the officer's, then any the rules make
/// follow at once (a dossier that its receiving office processes itself
/// goes straight to processing).
pub fn plan(
    desk: &Desk<'_>,
    dossier: &Dossier,
    before: &DossierState,
    office: Option<&OfficeId>,
    officer: &str,
    at: DateTime<Utc>,
    intent: &Intent,
) -> Result<Vec<Event>> {
    let office = office
        .cloned()
        .unwrap_or_else(|| choose_office(desk, dossier, before, intent.kind()));
    let action = build_action(desk, dossier, before, &office, at, intent)?;
    let event = |action: Action| Event {
        id: new_event_id(),
        at,
        office: office.clone(),
        officer: officer.to_string(),
        action,
    };
    let mut events = vec![event(action)];
    if matches!(intent, Intent::AcceptSubmission) {
        events.extend(
            into_processing(&dossier.facts.route, &office)
                .into_iter()
                .map(event),
        );
    }
    Ok(events)
}

/// The office this node acts as for `kind`, when the officer did not say:
/// the office the rule needs (the transfer's recipient for `accept`, the
/// return desk for `return`, the consulted office for an answer…) if this
/// node serves it, else the node's own office.
pub fn choose_office(
    desk: &Desk<'_>,
    dossier: &Dossier,
    state: &DossierState,
    kind: ActionKind,
) -> OfficeId {
    let candidates: Vec<Option<&OfficeId>> = match kind {
        ActionKind::Accepted => vec![state.transfer.as_ref().map(|t| &t.to)],
        ActionKind::ForwardCancelled => vec![state.transfer.as_ref().map(|t| &t.from)],
        ActionKind::SupplementReceived | ActionKind::WithdrawalRequested | ActionKind::Received => {
            vec![Some(&dossier.facts.origin)]
        }
        ActionKind::Returned => vec![state.result.as_ref().map(|r| &r.return_office)],
        ActionKind::ConsultationAnswered => {
            state.open_consultations().map(|c| Some(&c.to)).collect()
        }
        ActionKind::Paid => vec![Some(&dossier.facts.origin), state.holder.as_ref()],
        _ => vec![state.holder.as_ref()],
    };
    candidates
        .into_iter()
        .flatten()
        .find(|office| desk.serves(office))
        .cloned()
        .unwrap_or_else(|| desk.own.clone())
}

/// The action of `intent` for `office`, its defaults filled from the dossier.
pub fn build_action(
    desk: &Desk<'_>,
    dossier: &Dossier,
    state: &DossierState,
    office: &OfficeId,
    at: DateTime<Utc>,
    intent: &Intent,
) -> Result<Action> {
    let code = || dossier.facts.code.clone();
    Ok(match intent {
        Intent::Exact(action) => action.clone(),
        Intent::AcceptSubmission => Action::Received,
        Intent::Forward { to, task, days } => {
            let route = &dossier.facts.route;
            let step = match to {
                Some(to) => route.iter().find(|s| &s.office == to),
                None => next_step(route, state),
            };
            let to = match (to, step) {
                (Some(to), _) => to.clone(),
                (None, Some(step)) => step.office.clone(),
                (None, None) => {
                    return Err(ActionError::NoNextStep {
                        code: code(),
                        holder: state.holder.clone(),
                    });
                }
            };
            Action::Forwarded {
                task: task
                    .clone()
                    .or_else(|| step.map(|s| s.task.clone()))
                    .unwrap_or_else(|| "Xử lý hồ sơ".into()),
                days: days
                    .or_else(|| step.map(|s| step_days(s.days)))
                    .unwrap_or(0),
                to,
            }
        }
        Intent::Consult { to, question, days } => Action::Consulted {
            to: to.clone(),
            question: question.clone(),
            deadline: desk.calendar.add_working_days(at, *days)?,
        },
        Intent::Answer {
            consultation,
            answer,
        } => {
            let consultation = match consultation {
                Some(id) => id.clone(),
                None => {
                    let mine: Vec<&EventId> = state
                        .open_consultations()
                        .filter(|c| desk.serves(&c.to))
                        .map(|c| &c.event)
                        .collect();
                    match mine.as_slice() {
                        [one] => (*one).clone(),
                        [] => return Err(ActionError::NoOpenConsultation { code: code() }),
                        many => {
                            return Err(ActionError::SeveralConsultations {
                                code: code(),
                                ids: many.iter().map(|id| id.0.clone()).collect(),
                            });
                        }
                    }
                }
            };
            Action::ConsultationAnswered {
                consultation,
                answer: answer.clone(),
            }
        }
        Intent::Apologize { reason, new_due } => Action::Apologized {
            reason: reason.clone(),
            new_due: match new_due {
                NewDue::At(at) => *at,
                NewDue::ExtraWorkingDays(days) => {
                    let due = state
                        .due_at
                        .ok_or_else(|| ActionError::NoDueTime { code: code() })?;
                    desk.calendar.add_working_days(due, *days)?
                }
            },
        },
        Intent::IssueResult { result, attachment } => Action::ResultIssued {
            result: result.clone(),
            attachment: attachment
                .as_deref()
                .map(|hash| find_attachment(dossier, hash))
                .transpose()?,
            return_office: return_office(desk.tree, dossier, office),
        },
    })
}

/// The route step a plain `forward` goes to: the step after the holder's.
/// A dossier still at the receiving desk of an office that is itself the
/// first step (a commune deciding its own procedure, or the commune's part
/// of a two-tier route) goes to that office's own processing first; one
/// whose holder is not on the route goes to the first step elsewhere.
pub fn next_step<'r>(route: &'r [RouteStep], state: &DossierState) -> Option<&'r RouteStep> {
    let holder = state.holder.as_ref()?;
    if state.status == Some(Status::Received)
        && let Some(first) = route.first().filter(|s| &s.office == holder)
    {
        return Some(first);
    }
    match route.iter().position(|s| &s.office == holder) {
        Some(i) => route.get(i + 1),
        None => route.iter().find(|s| &s.office != holder),
    }
}

/// The events that take a dossier just received at `office` straight into
/// processing when `office` is the first step of its route: the desk hands
/// it to the office's own processing (a transfer within the office, with
/// the step's task and allowance) and the office takes it — status 4 at
/// once, as a one-stop desk does for what its own office decides. Empty
/// when the first step is elsewhere.
pub fn into_processing(route: &[RouteStep], office: &OfficeId) -> Vec<Action> {
    match route.first() {
        Some(first) if &first.office == office => vec![
            Action::Forwarded {
                to: office.clone(),
                task: first.task.clone(),
                days: step_days(first.days),
            },
            Action::Accepted,
        ],
        _ => Vec::new(),
    }
}

/// The return desk for a result issued by `issuer` (R1, R2): the issuing
/// agency itself if it returns its results directly (the provincial Police),
/// otherwise the desk of the office that received the dossier.
pub fn return_office(tree: &OfficeTree, dossier: &Dossier, issuer: &OfficeId) -> OfficeId {
    match tree.get(issuer) {
        Some(office) if office.returns_results_directly => issuer.clone(),
        _ => dossier.facts.origin.clone(),
    }
}

/// An attachment of the dossier by its hash or a prefix of it.
pub fn find_attachment(dossier: &Dossier, hash: &str) -> Result<AttachmentRef> {
    let prefix = hash.to_ascii_lowercase();
    dossier
        .facts
        .documents
        .iter()
        .flat_map(|c| c.attachments.iter())
        .find(|a| !prefix.is_empty() && a.hash.starts_with(&prefix))
        .map(AttachmentRef::from)
        .ok_or_else(|| ActionError::UnknownAttachment {
            hash: hash.to_string(),
        })
}

/// A route step's allowance as written on a transfer (saturated: no route
/// allows four billion working days).
fn step_days(days: u64) -> u32 {
    u32::try_from(days).unwrap_or(u32::MAX)
}
