//! Deadline and result notices: the pure part of the node's scheduler
//! (DESIGN "Deadlines and the scheduler"), and the outbox they go to.
//!
//! At a moment `now` a dossier held by an office this node serves may need:
//!
//! - [`NoticeKind::DueSoon`]: due within one working day (the rule set's
//!   apology lead time), clock running, no apology yet — Form 04 must go out
//!   now if it will be late (D4). For the holder's officers.
//! - [`NoticeKind::Overdue`]: unfinished, clock running, past the due time
//!   (D6). For the applicant: the office apologises for the delay.
//! - [`NoticeKind::ConsultationOverdue`]: a consultation past its deadline
//!   without an answer, to be reported to the Center (D5). For officers.
//! - [`NoticeKind::ResultReady`]: the result is at this node's return desk
//!   (status 9, R1–R3). For the applicant: come and collect it (or it goes
//!   by post).
//!
//! - [`NoticeKind::SupplementRequested`]: the dossier waits for the
//!   applicant to complete it (status 5, Form 02): what to bring and why.
//! - [`NoticeKind::Refused`]: not accepted at intake (status 3, Form 03),
//!   with the reason. For the applicant.
//! - [`NoticeKind::Stopped`]: processing stopped (status 8), with the
//!   reason. For the applicant.
//!
//! These three are derived from the fold like the others, so queueing them
//! is idempotent and needs no hook where events are written. Refusals and
//! stops older than [`FINAL_NOTICE_WINDOW`] are not queued: a node upgraded
//! with years of finished dossiers does not message their applicants.
//!
//! Only the node serving the dossier's holder queues its notices, so an
//! applicant hears once, not from every node on the dossier's way. Each
//! notice is queued once: the outbox is unique on (dossier, kind, key), the
//! key naming what the notice is about (the due time in force, the
//! consultation, the result). A new due time (after a supplement restarts
//! the clock) makes a new notice.
//!
//! The candidates come from the index; only their documents are loaded (for
//! the applicant's contact and the consultations). Nothing here sends an SMS
//! or an e-mail: the daemon's gateway (`crate::gateway`) delivers the outbox
//! and sets `sent_at`.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use lienthong_shared::OfficeId;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::{self, DossierState, Flag};
use lienthong_shared::dossier::schema::{self, Dossier, StoredEvent};
use lienthong_shared::dossier::{Action, Channel, DossierFacts, Status};
use lienthong_shared::offices::OfficeTree;
use lienthong_shared::rule_set::RuleSets;
use serde::Serialize;

use crate::node::Node;
use crate::store::documents::{DocKey, hex};
use crate::store::index::IndexRow;
use crate::store::outbox::{OutboxRow, QueuedRow};
use crate::store::{Reader, StoreError, Writer};

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    DueSoon,
    Overdue,
    ConsultationOverdue,
    ResultReady,
    SupplementRequested,
    Refused,
    Stopped,
}

/// How long after a refusal or a stop its notice may still be queued.
pub const FINAL_NOTICE_WINDOW: chrono::Duration = chrono::Duration::days(7);

impl NoticeKind {
    pub const ALL: [NoticeKind; 7] = [
        NoticeKind::DueSoon,
        NoticeKind::Overdue,
        NoticeKind::ConsultationOverdue,
        NoticeKind::ResultReady,
        NoticeKind::SupplementRequested,
        NoticeKind::Refused,
        NoticeKind::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DueSoon => "due_soon",
            NoticeKind::Overdue => "overdue",
            NoticeKind::ConsultationOverdue => "consultation_overdue",
            NoticeKind::ResultReady => "result_ready",
            NoticeKind::SupplementRequested => "supplement_requested",
            NoticeKind::Refused => "refused",
            NoticeKind::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Who the message is written for.
    pub fn audience(self) -> Audience {
        match self {
            NoticeKind::Overdue
            | NoticeKind::ResultReady
            | NoticeKind::SupplementRequested
            | NoticeKind::Refused
            | NoticeKind::Stopped => Audience::Applicant,
            NoticeKind::DueSoon | NoticeKind::ConsultationOverdue => Audience::Office,
        }
    }
}

/// Who a notice is written for. Every notice carries the applicant's
/// contact; an office notice is for the officers (who may call them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Applicant,
    Office,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Applicant => "applicant",
            Audience::Office => "office",
        }
    }
}

/// One notice, before it is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The dossier's id (hex).
    pub dossier: String,
    /// The dossier code (mã hồ sơ).
    pub code: String,
    pub kind: NoticeKind,
    /// What it is about, unique per dossier and kind (a time or an event id).
    pub key: String,
    /// The office it comes from: the dossier's holder.
    pub office: String,
    pub audience: Audience,
    pub applicant: String,
    pub phone: String,
    pub email: String,
    /// The text, in Vietnamese.
    pub message: String,
}

/// A time as a notice key: UTC, to the millisecond (as the index stores it).
fn time_key(t: DateTime<Utc>) -> String {
    DateTime::from_timestamp_millis(t.timestamp_millis())
        .unwrap_or(t)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The latest due time that is "within one working day" of `now` by any
/// rule set (D4: the apology lead time, at least one working day). `None`
/// when `now` is outside the calendar: no due-soon notice can be judged.
pub fn due_soon_horizon(
    calendar: &WorkingCalendar,
    rule_sets: &RuleSets,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let days = rule_sets
        .iter()
        .map(|r| r.apology_min_working_days_before_due.max(1))
        .max()
        .unwrap_or(1);
    calendar
        .add_working_minutes(now, i64::from(days) * calendar.hours().minutes_per_day())
        .ok()
}

/// The kinds of notice an indexed dossier may need at `now`, judged from
/// the index alone (no document loaded). A superset: [`notices_for`] on the
/// folded document decides. `served` tells whether this node serves an office.
pub fn candidate_kinds(
    row: &IndexRow,
    served: &dyn Fn(&str) -> bool,
    now: DateTime<Utc>,
    due_soon_until: Option<DateTime<Utc>>,
) -> Vec<NoticeKind> {
    let mut kinds = Vec::new();
    if !row.holder.as_deref().is_some_and(served) {
        return kinds;
    }
    let running = row.ended_at.is_none() && row.status != Some(Status::AwaitingSupplement);
    if let (true, Some(due)) = (running, row.due_at) {
        if now > due {
            kinds.push(NoticeKind::Overdue);
        } else if due_soon_until.is_some_and(|until| due <= until) {
            kinds.push(NoticeKind::DueSoon);
        }
    }
    if row.ended_at.is_none() && row.open_consultations > 0 {
        kinds.push(NoticeKind::ConsultationOverdue);
    }
    match row.status {
        Some(Status::Resolved) => kinds.push(NoticeKind::ResultReady),
        Some(Status::AwaitingSupplement) if row.supplement_requests > 0 => {
            kinds.push(NoticeKind::SupplementRequested)
        }
        Some(status @ (Status::Refused | Status::Stopped))
            if row.ended_at.is_some_and(|t| t >= now - FINAL_NOTICE_WINDOW) =>
        {
            kinds.push(if status == Status::Refused {
                NoticeKind::Refused
            } else {
                NoticeKind::Stopped
            })
        }
        _ => {}
    }
    kinds
}

/// The key a notice of `kind` would have, from the index; `None` when only
/// the document knows (consultations).
pub fn index_key(row: &IndexRow, kind: NoticeKind) -> Option<String> {
    match kind {
        NoticeKind::DueSoon | NoticeKind::Overdue => row.due_at.map(time_key),
        NoticeKind::ResultReady | NoticeKind::Refused | NoticeKind::Stopped => {
            row.ended_at.map(time_key)
        }
        NoticeKind::SupplementRequested => Some(supplement_key(row.supplement_requests)),
        NoticeKind::ConsultationOverdue => None,
    }
}

/// The key of the `n`-th supplement request's notice (the fold's count).
fn supplement_key(n: u32) -> String {
    format!("supplement-{n}")
}

/// Local time as Vietnamese text: `09:30 ngày 13/02/2026`.
fn vi_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%H:%M ngày %d/%m/%Y")
        .to_string()
}

fn office_name(tree: &OfficeTree, id: &OfficeId) -> String {
    tree.resolve(id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// The last applied event of the log that `pick` recognises.
fn last_applied<'a, T>(
    dossier: &'a Dossier,
    state: &DossierState,
    pick: impl Fn(&'a Action) -> Option<T>,
) -> Option<T> {
    dossier
        .events
        .iter()
        .zip(&state.applied)
        .rev()
        .filter(|(_, applied)| **applied)
        .find_map(|(stored, _)| match stored {
            StoredEvent::Valid(event) => pick(&event.action),
            StoredEvent::Malformed { .. } => None,
        })
}

/// The notices a dossier needs at `now`: a pure function of the dossier and
/// its state folded at `now`, the office tree (for names), the time zone,
/// and which offices this node serves.
pub fn notices_for(
    id: &str,
    dossier: &Dossier,
    state: &DossierState,
    tree: &OfficeTree,
    tz: Tz,
    served: &dyn Fn(&OfficeId) -> bool,
    now: DateTime<Utc>,
) -> Vec<Notice> {
    let facts: &DossierFacts = &dossier.facts;
    let mut notices = Vec::new();
    let Some(holder) = state.holder.as_ref().filter(|h| served(h)) else {
        return notices;
    };
    let from = office_name(tree, holder);
    let a = &facts.applicant;
    let who = if a.organisation.is_empty() {
        format!("Ông/Bà {}", a.name)
    } else {
        a.organisation.clone()
    };
    let what = format!("hồ sơ số {} ({})", facts.code, facts.procedure.name);
    let mut notice = |kind: NoticeKind, key: String, message: String| {
        notices.push(Notice {
            dossier: id.to_string(),
            code: facts.code.clone(),
            kind,
            key,
            office: holder.to_string(),
            audience: kind.audience(),
            applicant: a.name.clone(),
            phone: a.phone.clone(),
            email: a.email.clone(),
            message,
        })
    };
    if let Some(due) = state.due_at {
        if state.flags.contains(&Flag::DueSoon) {
            notice(
                NoticeKind::DueSoon,
                time_key(due),
                format!(
                    "Sắp đến hạn: {what} của {who} phải trả kết quả lúc {}. Nếu không giải quyết kịp, {from} cần gửi ngay Phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04) cho người nộp hồ sơ.",
                    vi_time(due, tz)
                ),
            );
        }
        if state.is_overdue() {
            notice(
                NoticeKind::Overdue,
                time_key(due),
                format!(
                    "{from} trân trọng thông báo: {what} của {who} đã quá hạn trả kết quả (hẹn {}). Chúng tôi thành thật xin lỗi vì sự chậm trễ và sẽ thông báo thời hạn trả kết quả mới.",
                    vi_time(due, tz)
                ),
            );
        }
    }
    for flag in &state.flags {
        if let Flag::ConsultationOverdue { consultation, to } = flag {
            let deadline = state
                .consultations
                .iter()
                .find(|c| &c.event == consultation)
                .map(|c| format!(" (hạn {})", vi_time(c.deadline, tz)))
                .unwrap_or_default();
            notice(
                NoticeKind::ConsultationOverdue,
                consultation.0.clone(),
                format!(
                    "Quá hạn lấy ý kiến: {} chưa trả lời {from} về {what}{deadline}. Báo cáo {} để đôn đốc.",
                    office_name(tree, to),
                    tree.root().name
                ),
            );
        }
    }
    if state.status == Some(Status::Resolved)
        && let Some(ended) = state.ended_at
    {
        let how = if facts.result_delivery == Channel::Postal {
            "Kết quả sẽ được gửi đến Ông/Bà qua dịch vụ bưu chính công ích.".to_string()
        } else {
            format!(
                "Mời Ông/Bà đến {from} để nhận kết quả, mang theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả."
            )
        };
        notice(
            NoticeKind::ResultReady,
            time_key(ended),
            format!("{from} thông báo: {what} của {who} đã có kết quả. {how}"),
        );
    }
    if state.status == Some(Status::AwaitingSupplement)
        && state.supplement_requests > 0
        && let Some((items, reason)) = last_applied(dossier, state, |a| match a {
            Action::SupplementRequested { items, reason } => Some((items, reason)),
            _ => None,
        })
    {
        let items = if items.is_empty() {
            String::new()
        } else {
            format!(" Cần bổ sung: {}.", items.join("; "))
        };
        notice(
            NoticeKind::SupplementRequested,
            supplement_key(state.supplement_requests),
            format!(
                "{from} đề nghị {who} bổ sung, hoàn thiện {what} (Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ — Mẫu 02).{items} Lý do: {reason}. Thời hạn giải quyết tạm dừng cho đến khi nhận đủ hồ sơ bổ sung."
            ),
        );
    }
    let fresh = state.ended_at.filter(|t| *t >= now - FINAL_NOTICE_WINDOW);
    if let (Some(ended), Some(Status::Refused)) = (fresh, state.status) {
        let reason = last_applied(dossier, state, |a| match a {
            Action::Refused { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default();
        notice(
            NoticeKind::Refused,
            time_key(ended),
            format!(
                "{from} thông báo: {what} của {who} không được tiếp nhận (Phiếu từ chối tiếp nhận giải quyết hồ sơ — Mẫu 03). Lý do: {reason}."
            ),
        );
    }
    if let (Some(ended), Some(Status::Stopped)) = (fresh, state.status) {
        let reason = last_applied(dossier, state, |a| match a {
            Action::Stopped { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default();
        notice(
            NoticeKind::Stopped,
            time_key(ended),
            format!("{from} thông báo: việc giải quyết {what} của {who} đã dừng. Lý do: {reason}."),
        );
    }
    notices
}

/// What one run of [`queue`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    pub now: DateTime<Utc>,
    /// Notices added to the outbox by this run (not those already there).
    pub queued: Vec<Notice>,
    /// Dossiers whose index row made them candidates.
    pub candidates: usize,
    /// Documents loaded to decide (candidates not settled by the outbox).
    pub loaded: usize,
}

/// Put a notice in the outbox unless it is there already; true if added.
pub fn enqueue(
    w: &Writer<'_>,
    key: &DocKey,
    notice: &Notice,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    w.enqueue_notice(
        &OutboxRow {
            doc_id: *key,
            code: notice.code.clone(),
            kind: notice.kind.as_str().to_string(),
            key: notice.key.clone(),
            office: notice.office.clone(),
            audience: notice.audience.as_str().to_string(),
            applicant: notice.applicant.clone(),
            phone: notice.phone.clone(),
            email: notice.email.clone(),
            message: notice.message.clone(),
        },
        now,
    )
}

/// Compute the notices due at `now` for the dossiers this node holds and
/// queue the new ones, in one transaction. Loads only the documents of
/// candidates not already settled by the outbox.
pub fn queue(node: &mut Node, now: DateTime<Utc>) -> Result<Queued, StoreError> {
    let served_ids: Vec<OfficeId> = node.served_offices().iter().map(|o| o.id.clone()).collect();
    let served_text: Vec<String> = served_ids.iter().map(|o| o.to_string()).collect();
    let (store, ctx, tree) = node.split(now);
    let tz = ctx.calendar.timezone();
    let until = due_soon_horizon(ctx.calendar, ctx.rule_sets, now);
    let served = |office: &str| served_text.iter().any(|s| s == office);
    let served_id = |office: &OfficeId| served_ids.contains(office);
    store.write(|w| {
        let r = w.reader();
        let rows = r.notice_candidates(
            &served_text,
            until.unwrap_or(now).max(now),
            now - FINAL_NOTICE_WINDOW,
        )?;
        let mut result = Queued {
            now,
            queued: Vec::new(),
            candidates: rows.len(),
            loaded: 0,
        };
        for row in &rows {
            let mut open = false;
            for kind in candidate_kinds(row, &served, now, until) {
                open |= match index_key(row, kind) {
                    Some(what) => !r.is_queued(&row.key, kind.as_str(), &what)?,
                    None => true,
                };
            }
            if !open {
                continue;
            }
            let span = tracing::info_span!("dossier", code = %row.code);
            let _entered = span.enter();
            let doc = match r.load_document(&row.key) {
                Ok(Some((_, doc))) => doc,
                Ok(None) => continue,
                // Damaged (quarantined where it is loaded for a peer or
                // `show`): no notice from it, and the others still go.
                Err(StoreError::CorruptDocument { doc, problem }) => {
                    tracing::warn!(%doc, %problem, "notices: unreadable stored dossier");
                    continue;
                }
                Err(e) => return Err(e),
            };
            result.loaded += 1;
            let dossier = match schema::read(&doc) {
                Ok(dossier) => dossier,
                Err(e) => {
                    tracing::warn!(error = %e, "notices: unreadable dossier");
                    continue;
                }
            };
            let state = fold::fold(&dossier, &ctx);
            for notice in notices_for(&hex(&row.key), &dossier, &state, tree, tz, &served_id, now) {
                if enqueue(w, &row.key, &notice, now)? {
                    result.queued.push(notice);
                }
            }
        }
        Ok(result)
    })
}

/// One entry of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    #[serde(flatten)]
    pub notice: Notice,
    pub created_at: DateTime<Utc>,
    /// When the gateway delivered it; `None` while waiting.
    pub sent_at: Option<DateTime<Utc>>,
    /// Failed tries so far.
    pub attempts: u32,
    /// After a failure, when the gateway tries again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last try failed.
    pub last_error: Option<String>,
}

/// Where a notice is on its way to the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting for its first try.
    Pending,
    /// Tried and failed; tried again at `next_attempt_at`.
    Failed,
    Delivered,
}

impl OutboxEntry {
    pub fn delivery(&self) -> Delivery {
        match (self.sent_at, self.attempts) {
            (Some(_), _) => Delivery::Delivered,
            (None, 0) => Delivery::Pending,
            (None, _) => Delivery::Failed,
        }
    }
}

/// An outbox row as an entry.
pub fn entry(queued: QueuedRow) -> OutboxEntry {
    let row = queued.row;
    OutboxEntry {
        id: queued.id,
        notice: Notice {
            dossier: hex(&row.doc_id),
            code: row.code,
            kind: NoticeKind::parse(&row.kind).unwrap_or(NoticeKind::Overdue),
            key: row.key,
            office: row.office,
            audience: if row.audience == "office" {
                Audience::Office
            } else {
                Audience::Applicant
            },
            applicant: row.applicant,
            phone: row.phone,
            email: row.email,
            message: row.message,
        },
        created_at: queued.created_at.unwrap_or_default(),
        sent_at: queued.sent_at,
        attempts: queued.attempts,
        next_attempt_at: queued.next_attempt_at,
        last_error: queued.last_error,
    }
}

/// The outbox in queue order; with `limit`, the latest `limit` entries.
pub fn outbox(r: &Reader<'_>, limit: Option<usize>) -> Result<Vec<OutboxEntry>, StoreError> {
    Ok(r.outbox(limit)?.into_iter().map(entry).collect())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn row(status: Status, due: Option<DateTime<Utc>>) -> IndexRow {
        IndexRow {
            key: [7; 16],
            code: "000.01.36.H49-260302-0001".into(),
            procedure_code: "1.000894".into(),
            procedure_name: "Đăng ký kết hôn".into(),
            applicant: "Nguyễn Văn An".into(),
            origin: "commune:dien-ban/dien-phuong".into(),
            holder: Some("commune:dien-ban/dien-phuong".into()),
            transfer_to: None,
            status: Some(status),
            received_at: Some(t(2, 2)),
            due_at: due,
            ended_at: None,
            returned_at: None,
            timeliness: None,
            conflicts: 0,
            supplement_requests: 0,
            open_consultations: 0,
            rules: "2025".into(),
        }
    }

    fn here(office: &str) -> bool {
        office == "commune:dien-ban/dien-phuong"
    }

    #[test]
    fn candidates_from_the_index_alone() {
        let now = t(3, 3);
        let soon = Some(t(4, 3));
        let kinds = |row: &IndexRow| candidate_kinds(row, &here, now, soon);
        // Past due and running: overdue; due before the horizon: due soon.
        assert_eq!(
            kinds(&row(Status::Processing, Some(t(3, 2)))),
            [NoticeKind::Overdue]
        );
        assert_eq!(
            kinds(&row(Status::Received, Some(t(4, 2)))),
            [NoticeKind::DueSoon]
        );
        assert!(kinds(&row(Status::Processing, Some(t(5, 2)))).is_empty());
        // The clock is stopped while the applicant completes the dossier.
        assert!(kinds(&row(Status::AwaitingSupplement, Some(t(3, 2)))).is_empty());
        // Outside the calendar no due-soon can be judged; overdue still can.
        assert!(
            candidate_kinds(&row(Status::Received, Some(t(4, 2))), &here, now, None).is_empty()
        );
        // A result at this desk; a finished dossier needs nothing about its deadline.
        let mut resolved = row(Status::Resolved, Some(t(3, 2)));
        resolved.ended_at = Some(t(3, 1));
        assert_eq!(kinds(&resolved), [NoticeKind::ResultReady]);
        // Open consultations need a look at the document.
        let mut consulting = row(Status::Processing, Some(t(9, 2)));
        consulting.open_consultations = 1;
        assert_eq!(kinds(&consulting), [NoticeKind::ConsultationOverdue]);
        // Held elsewhere: another node's business.
        let mut elsewhere = row(Status::Processing, Some(t(3, 2)));
        elsewhere.holder = Some("district:dien-ban".into());
        assert!(kinds(&elsewhere).is_empty());
    }

    #[test]
    fn keys_are_the_due_time_or_result_to_the_millisecond() {
        let mut r = row(
            Status::Processing,
            Some(t(3, 2) + chrono::Duration::nanoseconds(1_500_000)),
        );
        assert_eq!(
            index_key(&r, NoticeKind::Overdue).as_deref(),
            Some("2026-03-03T02:00:00.001Z")
        );
        assert_eq!(
            index_key(&r, NoticeKind::DueSoon),
            index_key(&r, NoticeKind::Overdue)
        );
        assert_eq!(index_key(&r, NoticeKind::ConsultationOverdue), None);
        r.ended_at = Some(t(3, 4));
        assert_eq!(
            index_key(&r, NoticeKind::ResultReady).as_deref(),
            Some("2026-03-03T04:00:00.000Z")
        );
    }

    #[test]
    fn kinds_round_trip_and_have_an_audience() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().into())
            );
        }
        assert_eq!(NoticeKind::Overdue.audience(), Audience::Applicant);
        assert_eq!(NoticeKind::ResultReady.audience(), Audience::Applicant);
        assert_eq!(NoticeKind::DueSoon.audience(), Audience::Office);
        assert_eq!(NoticeKind::ConsultationOverdue.audience(), Audience::Office);
    }

    #[test]
    fn the_due_soon_horizon_is_one_working_day() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let calendar = WorkingCalendar::builtin();
        // Friday 6 March 2026, 16:00 local: one working day later is Monday 16:00.
        let friday = chrono_tz::Asia::Ho_Chi_Minh
            .with_ymd_and_hms(2026, 3, 6, 16, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let horizon = due_soon_horizon(&calendar, &network.rule_sets, friday).unwrap();
        assert_eq!(
            horizon
                .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                .to_rfc3339(),
            "2026-03-09T16:00:00+07:00"
        );
    }
}
