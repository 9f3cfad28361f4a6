//! The fold: a dossier's state derived from its event log (Principle 3).
//!
//! Events are applied in log order. Appending always inserts after the last
//! event a node has seen, so log order extends causal order, and every node
//! holding the same changes sees the same order and derives the same state.
//! An event that breaks a rule when its turn comes (an office that is not
//! the holder, a second apology, a transition out of a final state…) is kept
//! but changes nothing: it becomes a [`Conflict`] with its reason.
//!
//! Time rules use the working calendar and the dossier's rule set; `now`
//! is a parameter, never read from the clock.

use chrono::{DateTime, NaiveTime, Utc};

use super::event::{Action, ActionKind, Event};
use super::schema::{Dossier, StoredEvent};
use super::status::{Status, Timeliness};
use crate::OfficeId;
use crate::calendar::CalendarError;
use crate::rule_set::{RuleSet, SupplementClock};

mod state;

pub use state::{
    Apology, Conflict, ConflictReason, Consultation, DossierState, Flag, FoldContext, Pause,
    ResultInfo, Transfer,
};

/// Derive the state of a dossier.
pub fn fold(dossier: &Dossier, ctx: &FoldContext<'_>) -> DossierState {
    let mut folder = Folder::new(dossier, ctx);
    for (index, stored) in dossier.events.iter().enumerate() {
        folder.step(index, stored);
    }
    folder.finish()
}

/// Would `candidate` be applied if appended now? Used before writing an
/// officer's command: a refused command writes nothing.
pub fn check(
    dossier: &Dossier,
    candidate: &Event,
    ctx: &FoldContext<'_>,
) -> Result<DossierState, ConflictReason> {
    let mut folder = Folder::new(dossier, ctx);
    for (index, stored) in dossier.events.iter().enumerate() {
        folder.step(index, stored);
    }
    folder.try_apply(candidate)?;
    folder.state.applied.push(true);
    Ok(folder.finish())
}

/// Fold the log once, let `make` build the candidate event from the state
/// so far (e.g. to pick the acting office), and apply it: the state before
/// (not yet finished: time-based flags and timeliness are not computed), the
/// event, and the state after or why it would be refused. One fold where
/// `fold` then `check` would take two.
pub fn check_built(
    dossier: &Dossier,
    ctx: &FoldContext<'_>,
    make: impl FnOnce(&DossierState) -> Event,
) -> (DossierState, Event, Result<DossierState, ConflictReason>) {
    let planned = check_planned(dossier, ctx, |before| {
        Ok::<_, std::convert::Infallible>(vec![make(before)])
    });
    let Ok(Planned {
        before,
        mut events,
        outcome,
    }) = planned;
    let event = events.remove(0);
    (before, event, outcome.map_err(|(_, reason)| reason))
}

/// What [`check_planned`] found.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The state before the new events (not finished: time-based flags and
    /// timeliness are not computed).
    pub before: DossierState,
    /// The events `plan` built, in the order they would be appended.
    pub events: Vec<Event>,
    /// The state after all of them, or the first refused one (its index in
    /// `events`) and why.
    pub outcome: Result<DossierState, (usize, ConflictReason)>,
}

/// Fold the log once, let `plan` build the events an officer's command
/// appends from the state so far (the acting office, the next route step,
/// the consultation to answer…), and apply them in order. `plan` may fail
/// (nothing to build from: no next step, no open consultation); its error
/// is returned as is. An empty plan is a programming error and panics.
pub fn check_planned<E>(
    dossier: &Dossier,
    ctx: &FoldContext<'_>,
    plan: impl FnOnce(&DossierState) -> Result<Vec<Event>, E>,
) -> Result<Planned, E> {
    let mut folder = Folder::new(dossier, ctx);
    for (index, stored) in dossier.events.iter().enumerate() {
        folder.step(index, stored);
    }
    let before = folder.state.clone();
    let events = plan(&before)?;
    assert!(!events.is_empty(), "a plan appends at least one event");
    for (i, event) in events.iter().enumerate() {
        if let Err(reason) = folder.try_apply(event) {
            return Ok(Planned {
                before,
                events,
                outcome: Err((i, reason)),
            });
        }
        folder.state.applied.push(true);
    }
    Ok(Planned {
        before,
        events,
        outcome: Ok(folder.finish()),
    })
}

/// The actions `office` may take now, for messages and for the console.
pub fn allowed_actions(
    dossier: &Dossier,
    office: &OfficeId,
    ctx: &FoldContext<'_>,
) -> Vec<ActionKind> {
    let (_, mut allowed) = fold_with_allowed(dossier, ctx, std::slice::from_ref(office));
    allowed.pop().map(|(_, kinds)| kinds).unwrap_or_default()
}

/// The state and, for each of `offices`, the actions it may take now — one
/// fold for both (the dossier page shows both).
///
/// An action is allowed when an event of its kind appended now by that
/// office could be applied: besides the table of who may do what in which
/// status, an apology is allowed only before the due time (D4), so a dossier
/// past its due time does not offer one.
pub fn fold_with_allowed(
    dossier: &Dossier,
    ctx: &FoldContext<'_>,
    offices: &[OfficeId],
) -> (DossierState, Vec<(OfficeId, Vec<ActionKind>)>) {
    let mut folder = Folder::new(dossier, ctx);
    for (index, stored) in dossier.events.iter().enumerate() {
        folder.step(index, stored);
    }
    let allowed = offices
        .iter()
        .map(|office| {
            let kinds = ActionKind::KNOWN
                .into_iter()
                .filter(|kind| folder.permits_now(*kind, office).is_ok())
                .collect();
            (office.clone(), kinds)
        })
        .collect();
    (folder.finish(), allowed)
}

/// The office that decides a dossier on `route`: its lead step, or its
/// last step when none leads; `None` for a dossier without a route.
pub fn deciding_office(route: &[super::schema::RouteStep]) -> Option<&OfficeId> {
    route
        .iter()
        .find(|step| step.lead)
        .or(route.last())
        .map(|step| &step.office)
}

/// The processing time as recorded on the dossier.
#[derive(Debug, Clone, Copy)]
enum ProcessingTime {
    WorkingDays(u32),
    SameDay(NaiveTime),
}

struct Folder<'a> {
    dossier: &'a Dossier,
    ctx: &'a FoldContext<'a>,
    rules: RuleSet,
    processing: Option<ProcessingTime>,
    state: DossierState,
    due_problem: Option<String>,
}

/// Defaults when a dossier names a rule set this node does not know: the
/// 2018 and 2025 defaults agree on these values.
fn fallback_rule_set(id: &str) -> RuleSet {
    RuleSet {
        id: id.to_string(),
        effective_from: chrono::NaiveDate::MIN,
        supplement_clock: SupplementClock::Restart,
        supplement_request_within_days: 3,
        apology_min_working_days_before_due: 1,
    }
}

impl<'a> Folder<'a> {
    fn new(dossier: &'a Dossier, ctx: &'a FoldContext<'a>) -> Self {
        let facts = &dossier.facts;
        let rules = ctx
            .rule_sets
            .get(&facts.rules)
            .cloned()
            .unwrap_or_else(|| fallback_rule_set(&facts.rules));
        let processing = match (
            &facts.procedure.same_day_cutoff,
            facts.procedure.processing_days,
        ) {
            (Some(cutoff), _) => NaiveTime::parse_from_str(cutoff, "%H:%M")
                .ok()
                .map(ProcessingTime::SameDay),
            (None, Some(days)) => u32::try_from(days).ok().map(ProcessingTime::WorkingDays),
            (None, None) => None,
        };
        Folder {
            dossier,
            ctx,
            rules,
            processing,
            state: DossierState::new(),
            due_problem: None,
        }
    }

    fn origin(&self) -> &OfficeId {
        &self.dossier.facts.origin
    }

    fn step(&mut self, index: usize, stored: &StoredEvent) {
        let outcome = match stored {
            StoredEvent::Valid(event) => {
                let outcome = self.try_apply(event).map_err(|reason| Conflict {
                    index,
                    event: Some(event.id.clone()),
                    kind: match &event.action {
                        Action::Unknown { name } => name.clone(),
                        action => action.kind().as_str().to_string(),
                    },
                    office: Some(event.office.clone()),
                    officer: Some(event.officer.clone()),
                    at: Some(event.at),
                    reason,
                });
                // Every entry of the log owns its id, applied or not: a later
                // event reusing it is a duplicate.
                self.state.seen_ids.insert(event.id.clone());
                outcome
            }
            StoredEvent::Malformed { problem, .. } => Err(Conflict {
                index,
                event: None,
                kind: "?".into(),
                office: None,
                officer: None,
                at: None,
                reason: ConflictReason::Malformed {
                    problem: problem.clone(),
                },
            }),
        };
        match outcome {
            Ok(()) => self.state.applied.push(true),
            Err(conflict) => {
                self.state.applied.push(false);
                self.state.conflicts.push(conflict);
            }
        }
    }

    fn due_from(&mut self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let result = match self.processing {
            Some(ProcessingTime::SameDay(cutoff)) => self.ctx.calendar.same_day_due(start, cutoff),
            Some(ProcessingTime::WorkingDays(days)) => {
                self.ctx.calendar.add_working_days(start, days)
            }
            None => {
                self.due_problem = Some("the dossier records no processing time".into());
                return None;
            }
        };
        self.calendar_result(result)
    }

    fn calendar_result<T>(&mut self, result: Result<T, CalendarError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.due_problem = Some(e.to_string());
                None
            }
        }
    }

    fn working_minutes(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<i64> {
        let result = self.ctx.calendar.working_minutes_between(from, to);
        self.calendar_result(result)
    }

    /// Permission rules common to every event of a kind, for `office`, now.
    fn permits(&self, kind: ActionKind, office: &OfficeId) -> Result<(), ConflictReason> {
        use Status::*;
        let status = self.state.status;
        let require_status = |allowed: &[Status]| -> Result<(), ConflictReason> {
            match status {
                Some(s) if allowed.contains(&s) => Ok(()),
                Some(s) if s.is_final() => Err(ConflictReason::FinalStatus { status: s }),
                _ => Err(ConflictReason::NotAllowedInStatus {
                    status,
                    allowed: allowed.to_vec(),
                }),
            }
        };
        let require_new = || -> Result<(), ConflictReason> {
            match status {
                None | Some(Submitted) => Ok(()),
                Some(s) if s.is_final() => Err(ConflictReason::FinalStatus { status: s }),
                _ => Err(ConflictReason::NotAllowedInStatus {
                    status,
                    allowed: vec![Submitted],
                }),
            }
        };
        let require_origin = || -> Result<(), ConflictReason> {
            if office == self.origin() {
                Ok(())
            } else {
                Err(ConflictReason::NotOrigin {
                    origin: self.origin().clone(),
                })
            }
        };
        let require_holder = || -> Result<(), ConflictReason> {
            if self.state.holder.as_ref() == Some(office) {
                Ok(())
            } else {
                Err(ConflictReason::NotHolder {
                    holder: self.state.holder.clone(),
                })
            }
        };
        let require_not_in_transfer = || -> Result<(), ConflictReason> {
            match &self.state.transfer {
                Some(t) => Err(ConflictReason::InTransfer { to: t.to.clone() }),
                None => Ok(()),
            }
        };
        match kind {
            ActionKind::Submitted => {
                if let Some(s) = status.filter(|s| s.is_final()) {
                    return Err(ConflictReason::FinalStatus { status: s });
                }
                if status.is_some() {
                    return Err(ConflictReason::NotAllowedInStatus {
                        status,
                        allowed: vec![],
                    });
                }
                require_origin()
            }
            ActionKind::Received | ActionKind::Refused => {
                require_new()?;
                require_origin()
            }
            ActionKind::Forwarded => {
                require_status(&[Received, Processing])?;
                require_not_in_transfer()?;
                require_holder()
            }
            ActionKind::ForwardCancelled => {
                if let Some(s) = status.filter(|s| s.is_final()) {
                    return Err(ConflictReason::FinalStatus { status: s });
                }
                match &self.state.transfer {
                    None => Err(ConflictReason::NotInTransfer),
                    Some(t) if &t.from != office => Err(ConflictReason::NotTransferSender {
                        from: t.from.clone(),
                    }),
                    Some(_) => Ok(()),
                }
            }
            ActionKind::Accepted => {
                if let Some(s) = status.filter(|s| s.is_final()) {
                    return Err(ConflictReason::FinalStatus { status: s });
                }
                match &self.state.transfer {
                    None => Err(ConflictReason::NotInTransfer),
                    Some(t) if &t.to != office => {
                        Err(ConflictReason::NotTransferRecipient { to: t.to.clone() })
                    }
                    Some(_) => Ok(()),
                }
            }
            ActionKind::Appraised
            | ActionKind::VerificationScheduled
            | ActionKind::Consulted
            | ActionKind::PaymentRequested => {
                require_status(&[Processing])?;
                require_not_in_transfer()?;
                require_holder()
            }
            ActionKind::Approved => {
                require_status(&[Processing])?;
                require_not_in_transfer()?;
                require_holder()?;
                self.require_on_route(office)
            }
            ActionKind::ResultIssued => {
                require_status(&[Processing])?;
                require_not_in_transfer()?;
                require_holder()?;
                self.require_decider(office)?;
                if self.state.approved {
                    Ok(())
                } else {
                    Err(ConflictReason::NotApproved)
                }
            }
            ActionKind::ConsultationAnswered => {
                if let Some(s) = status.filter(|s| s.is_final()) {
                    return Err(ConflictReason::FinalStatus { status: s });
                }
                // Which consultation is checked with the payload.
                if self
                    .state
                    .consultations
                    .iter()
                    .any(|c| c.is_open() && &c.to == office)
                {
                    Ok(())
                } else {
                    match self.state.open_consultations().next() {
                        Some(c) => Err(ConflictReason::NotConsultedOffice { to: c.to.clone() }),
                        None => Err(ConflictReason::NoOpenConsultation),
                    }
                }
            }
            ActionKind::SupplementRequested => {
                require_status(&[Received, Processing])?;
                require_not_in_transfer()?;
                require_holder()
            }
            ActionKind::SupplementReceived => {
                require_status(&[AwaitingSupplement])?;
                require_origin()
            }
            ActionKind::Paid => {
                require_status(&[AwaitingPayment])?;
                if office == self.origin() || self.state.holder.as_ref() == Some(office) {
                    Ok(())
                } else {
                    Err(ConflictReason::NotOrigin {
                        origin: self.origin().clone(),
                    })
                }
            }
            ActionKind::Apologized => {
                require_status(&[Received, Processing, AwaitingSupplement, AwaitingPayment])?;
                require_holder()?;
                if self.state.apology.is_some() {
                    return Err(ConflictReason::AlreadyApologized);
                }
                if self.state.due_at.is_none() {
                    return Err(ConflictReason::NoDueTime);
                }
                Ok(())
            }
            ActionKind::WithdrawalRequested => {
                require_status(&[
                    Submitted,
                    Received,
                    Processing,
                    AwaitingSupplement,
                    AwaitingPayment,
                ])?;
                require_origin()
            }
            ActionKind::Stopped => {
                require_status(&[Processing, WithdrawalRequested])?;
                require_not_in_transfer()?;
                require_holder()
            }
            ActionKind::Returned => {
                require_status(&[Resolved])?;
                match &self.state.result {
                    Some(r) if &r.return_office != office => Err(ConflictReason::NotReturnOffice {
                        return_office: r.return_office.clone(),
                    }),
                    _ => Ok(()),
                }
            }
            ActionKind::Note => Ok(()),
            ActionKind::Unknown => Err(ConflictReason::UnknownKind {
                name: String::new(),
            }),
        }
    }

    /// Only an office of the dossier's route signs a decision (RULES.md
    /// "Routes"): the holder must also be a step of the route written at
    /// receipt. A dossier without a route (written before routes were
    /// recorded) keeps the holder rule alone.
    fn require_on_route(&self, office: &OfficeId) -> Result<(), ConflictReason> {
        let route = &self.dossier.facts.route;
        if route.is_empty() || route.iter().any(|step| &step.office == office) {
            Ok(())
        } else {
            Err(ConflictReason::NotOnRoute {
                route: route.iter().map(|step| step.office.clone()).collect(),
            })
        }
    }

    /// Only the route's deciding agency (its lead step; the last step when
    /// none leads, as `catalogue::resolve_route` decides) issues the result
    /// (RULES.md "Routes", "Results"). No route: the holder rule alone.
    fn require_decider(&self, office: &OfficeId) -> Result<(), ConflictReason> {
        match deciding_office(&self.dossier.facts.route) {
            Some(decider) if decider != office => Err(ConflictReason::NotDecidingOffice {
                decider: decider.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// [`Self::permits`] for an event appended at `ctx.now`: also the rules
    /// that depend only on the time (an apology before the due time, D4).
    fn permits_now(&self, kind: ActionKind, office: &OfficeId) -> Result<(), ConflictReason> {
        self.permits(kind, office)?;
        if kind == ActionKind::Apologized
            && let Some(due) = self.state.due_at
            && self.ctx.now >= due
        {
            return Err(ConflictReason::ApologyAfterDue { due });
        }
        Ok(())
    }

    /// Validate then apply one event; on error the state is untouched.
    fn try_apply(&mut self, event: &Event) -> Result<(), ConflictReason> {
        if let Action::Unknown { name } = &event.action {
            return Err(ConflictReason::UnknownKind { name: name.clone() });
        }
        if self.state.seen_ids.contains(&event.id) {
            return Err(ConflictReason::DuplicateEventId);
        }
        self.permits(event.action.kind(), &event.office)?;
        self.check_payload(event)?;
        self.state.seen_ids.insert(event.id.clone());
        self.apply(event);
        Ok(())
    }

    /// Rules that depend on the event's payload or time.
    fn check_payload(&self, event: &Event) -> Result<(), ConflictReason> {
        match &event.action {
            Action::Apologized { new_due, .. } => {
                let due = self.state.due_at.ok_or(ConflictReason::NoDueTime)?;
                if event.at >= due {
                    return Err(ConflictReason::ApologyAfterDue { due });
                }
                if *new_due <= due {
                    return Err(ConflictReason::ApologyNotLater { due });
                }
                Ok(())
            }
            Action::ConsultationAnswered { consultation, .. } => {
                match self
                    .state
                    .consultations
                    .iter()
                    .find(|c| &c.event == consultation)
                {
                    None => Err(ConflictReason::UnknownConsultation {
                        consultation: consultation.clone(),
                    }),
                    Some(c) if !c.is_open() => Err(ConflictReason::ConsultationClosed {
                        consultation: consultation.clone(),
                    }),
                    Some(c) if c.to != event.office => {
                        Err(ConflictReason::NotConsultedOffice { to: c.to.clone() })
                    }
                    Some(_) => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    fn end(&mut self, at: DateTime<Utc>) {
        if self.state.ended_at.is_none() {
            self.state.ended_at = Some(at);
        }
    }

    fn apply(&mut self, event: &Event) {
        let at = event.at;
        match &event.action {
            Action::Submitted => {
                self.state.status = Some(Status::Submitted);
                self.state.holder = Some(event.office.clone());
            }
            Action::Received => {
                self.state.status = Some(Status::Received);
                self.state.holder = Some(event.office.clone());
                self.state.received_at = Some(at);
                let due = self.due_from(at);
                self.state.due_at = due;
                self.state.original_due_at = due;
            }
            Action::Refused { .. } => {
                self.state.status = Some(Status::Refused);
                self.state.holder = Some(event.office.clone());
                self.end(at);
            }
            Action::Forwarded { to, task, days } => {
                self.state.transfer = Some(Transfer {
                    event: event.id.clone(),
                    from: event.office.clone(),
                    to: to.clone(),
                    task: task.clone(),
                    days: *days,
                    at,
                });
            }
            Action::ForwardCancelled { .. } => {
                self.state.transfer = None;
            }
            Action::Accepted => {
                if let Some(transfer) = self.state.transfer.take() {
                    self.state.holder = Some(transfer.to.clone());
                    self.state.approved = false;
                    self.state.step_due_at = if transfer.days > 0 {
                        let result = self
                            .ctx
                            .calendar
                            .add_working_days(transfer.at, transfer.days);
                        self.calendar_result(result)
                    } else {
                        None
                    };
                    if self.state.status == Some(Status::Received) {
                        self.state.status = Some(Status::Processing);
                    }
                }
            }
            Action::Appraised { .. }
            | Action::VerificationScheduled { .. }
            | Action::Note { .. } => {}
            Action::Consulted {
                to,
                question,
                deadline,
            } => {
                self.state.consultations.push(Consultation {
                    event: event.id.clone(),
                    to: to.clone(),
                    question: question.clone(),
                    deadline: *deadline,
                    opened_at: at,
                    answered_at: None,
                    answer: None,
                });
            }
            Action::ConsultationAnswered {
                consultation,
                answer,
            } => {
                if let Some(c) = self
                    .state
                    .consultations
                    .iter_mut()
                    .find(|c| &c.event == consultation)
                {
                    c.answered_at = Some(at);
                    c.answer = Some(answer.clone());
                }
            }
            Action::SupplementRequested { .. } => {
                self.state.supplement_requests += 1;
                if self.state.supplement_requests == 1 {
                    if let Some(received) = self.state.received_at {
                        let limit = i64::from(self.rules.supplement_request_within_days)
                            * self.ctx.calendar.hours().minutes_per_day();
                        if self
                            .working_minutes(received, at)
                            .is_some_and(|m| m > limit)
                        {
                            self.state.flags.push(Flag::SupplementRequestLate);
                        }
                    }
                } else if !self.state.flags.contains(&Flag::RepeatedSupplementRequest) {
                    self.state.flags.push(Flag::RepeatedSupplementRequest);
                }
                self.state.resume_status = self.state.status;
                self.state.status = Some(Status::AwaitingSupplement);
                self.state.pauses.push(Pause {
                    from: at,
                    until: None,
                });
            }
            Action::SupplementReceived { .. } => {
                let paused_from = self.state.pauses.last().map(|p| p.from);
                if let Some(pause) = self.state.pauses.last_mut() {
                    pause.until = Some(at);
                }
                // Back to 4 with the holder, whatever status the request came from.
                self.state.resume_status = None;
                self.state.status = Some(Status::Processing);
                match self.rules.supplement_clock {
                    SupplementClock::Restart => {
                        // D3: the clock restarts from zero; an earlier apology's date is superseded.
                        self.state.due_at = self.due_from(at);
                    }
                    SupplementClock::Extend => {
                        if let (Some(due), Some(from)) = (self.state.due_at, paused_from) {
                            let waited = self.working_minutes(from, at);
                            self.state.due_at = waited.and_then(|minutes| {
                                let result = self.ctx.calendar.add_working_minutes(due, minutes);
                                self.calendar_result(result)
                            });
                        }
                    }
                }
            }
            Action::PaymentRequested { .. } => {
                self.state.resume_status = self.state.status;
                self.state.status = Some(Status::AwaitingPayment);
            }
            Action::Paid { .. } => {
                self.state.status = self.state.resume_status.take().or(Some(Status::Processing));
            }
            Action::Apologized { reason, new_due } => {
                if let Some(due) = self.state.due_at {
                    let required = i64::from(self.rules.apology_min_working_days_before_due)
                        * self.ctx.calendar.hours().minutes_per_day();
                    let late = self
                        .working_minutes(at, due)
                        .is_some_and(|left| left < required);
                    self.state.apology = Some(Apology {
                        event: event.id.clone(),
                        at,
                        previous_due: due,
                        new_due: *new_due,
                        reason: reason.clone(),
                        late,
                    });
                    self.state.due_at = Some(*new_due);
                }
            }
            Action::WithdrawalRequested { .. } => {
                self.state.status = Some(Status::WithdrawalRequested);
            }
            Action::Stopped { .. } => {
                self.state.status = Some(Status::Stopped);
                if let Some(pause) = self.state.pauses.last_mut().filter(|p| p.until.is_none()) {
                    pause.until = Some(at);
                }
                self.end(at);
            }
            Action::Approved { .. } => {
                self.state.approved = true;
            }
            Action::ResultIssued {
                result,
                attachment,
                return_office,
            } => {
                self.state.status = Some(Status::Resolved);
                self.state.result = Some(ResultInfo {
                    event: event.id.clone(),
                    result: result.clone(),
                    attachment: attachment.clone(),
                    issued_at: at,
                    issued_by: event.office.clone(),
                    return_office: return_office.clone(),
                });
                self.state.holder = Some(return_office.clone());
                self.state.step_due_at = None;
                self.end(at);
            }
            Action::Returned { .. } => {
                self.state.status = Some(Status::Returned);
                self.state.returned_at = Some(at);
                self.end(at);
            }
            Action::Unknown { .. } => {}
        }
    }

    fn finish(mut self) -> DossierState {
        let now = self.ctx.now;
        let calendar = self.ctx.calendar;
        let state = &mut self.state;
        // D6: timeliness.
        if let Some(due) = state.due_at {
            state.timeliness = match state.ended_at {
                // By day, not by hour: finished on the due day at any hour is on time.
                Some(ended) => Some({
                    let (ended_day, due_day) =
                        (calendar.local_date(ended), calendar.local_date(due));
                    if ended_day > due_day || state.flags.contains(&Flag::RepeatedSupplementRequest)
                    {
                        Timeliness::Late
                    } else if ended_day == due_day {
                        Timeliness::OnTime
                    } else {
                        Timeliness::Early
                    }
                }),
                None if !state.is_paused() && now > due => Some(Timeliness::Overdue),
                None => None,
            };
        }
        let late_or_overdue = matches!(
            state.timeliness,
            Some(Timeliness::Late | Timeliness::Overdue)
        );
        if let Some(apology) = &state.apology {
            if apology.late {
                state.flags.push(Flag::ApologyLate);
            }
        } else if late_or_overdue && state.due_at.is_some() {
            state.flags.push(Flag::ApologyMissing);
        }
        // D4: an apology must go out at least a working day before the due time.
        if let (Some(due), None, None) = (state.due_at, state.ended_at, &state.apology)
            && !state.is_paused()
            && now <= due
        {
            let window = i64::from(self.rules.apology_min_working_days_before_due.max(1))
                * calendar.hours().minutes_per_day();
            if calendar
                .working_minutes_between(now, due)
                .is_ok_and(|left| left <= window)
            {
                state.flags.push(Flag::DueSoon);
            }
        }
        if state.ended_at.is_none() {
            for c in state
                .consultations
                .iter()
                .filter(|c| c.is_open() && now > c.deadline)
            {
                state.flags.push(Flag::ConsultationOverdue {
                    consultation: c.event.clone(),
                    to: c.to.clone(),
                });
            }
            if let (Some(step_due), Some(holder)) = (state.step_due_at, &state.holder)
                && now > step_due
                && state.transfer.is_none()
            {
                state.flags.push(Flag::StepOverdue {
                    office: holder.clone(),
                });
            }
        }
        if let Some(problem) = self.due_problem.take() {
            state.flags.push(Flag::DueTimeUnknown { problem });
        }
        self.state
    }
}
