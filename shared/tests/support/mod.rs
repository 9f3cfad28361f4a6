//! Helpers shared by the rule tests (`tests/rules/`) and the merge property
//! test (`tests/merge.rs`): a dossier builder, one constructor per event
//! kind, local-time parsing, and fold contexts over the shipped calendar.
//!
//! Times are written in local time (Asia/Ho_Chi_Minh, +07:00) as
//! `"YYYY-MM-DD HH:MM"` and converted to UTC, as the rules are stated.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::builtin;
use lienthong_shared::calendar::WorkingCalendar;
use lienthong_shared::dossier::fold::{self, ConflictReason, DossierState, FoldContext};
use lienthong_shared::dossier::schema::{
    self, Applicant, Component, Dossier, DossierFacts, ProcedureSnapshot, RouteStep,
};
use lienthong_shared::dossier::{
    Action, ActionKind, AppraisalOutcome, Channel, Event, EventId, Status,
};
use lienthong_shared::offices::OfficeTree;
use lienthong_shared::rule_set::{RuleSet, RuleSets, SupplementClock};

// ── Offices of the shipped three-tier network (configs/networks/quang-nam-3tier.toml)

/// Phường Điện Phương: the receiving office (origin) in most tests.
pub const COMMUNE: &str = "commune:dien-ban/dien-phuong";
/// Xã Điện Minh: a sibling commune under the same district.
pub const SIBLING: &str = "commune:dien-ban/dien-minh";
/// Thị xã Điện Bàn: the district above both communes.
pub const DISTRICT: &str = "district:dien-ban";
/// Phòng LĐ-TBXH Điện Bàn: an agency served by the district's node.
pub const DISTRICT_LABOUR: &str = "district:dien-ban/phong-ldtbxh";
/// The provincial Center (root of the tree).
pub const PROVINCE: &str = "province:quang-nam";
/// Sở Tài nguyên và Môi trường.
pub const LAND: &str = "province:quang-nam/so-tai-nguyen-moi-truong";
/// Sở Xây dựng.
pub const CONSTRUCTION: &str = "province:quang-nam/so-xay-dung";
/// Công an tỉnh: returns its results directly (R2).
pub const POLICE: &str = "province:quang-nam/cong-an-tinh";
/// Another district, and one of its communes.
pub const OTHER_DISTRICT: &str = "district:duy-xuyen";
pub const OTHER_COMMUNE: &str = "commune:duy-xuyen/duy-son";

pub fn office(id: &str) -> OfficeId {
    id.parse()
        .unwrap_or_else(|e| panic!("test office id {id}: {e}"))
}

/// `"2026-02-13 09:00"` in Asia/Ho_Chi_Minh, as UTC.
pub fn at_local(text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|e| panic!("`{text}` is not YYYY-MM-DD HH:MM: {e}"));
    chrono_tz::Asia::Ho_Chi_Minh
        .from_local_datetime(&naive)
        .single()
        .expect("Vietnam has no ambiguous local times")
        .with_timezone(&Utc)
}

/// A local date, `"2026-02-13"`.
pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

// ── Calendar and rule sets

/// The shipped calendar (2025–2027, 07:00–11:30 and 13:30–17:00).
pub fn calendar() -> &'static WorkingCalendar {
    static CALENDAR: OnceLock<WorkingCalendar> = OnceLock::new();
    CALENDAR.get_or_init(WorkingCalendar::builtin)
}

/// The rule sets of the shipped three-tier network ("2018" and "2025",
/// both `supplement_clock = restart`).
pub fn shipped_rule_sets() -> &'static RuleSets {
    static SETS: OnceLock<RuleSets> = OnceLock::new();
    SETS.get_or_init(|| builtin::quang_nam_3tier().rule_sets)
}

/// The office tree of the shipped three-tier network.
pub fn tree() -> &'static OfficeTree {
    static TREE: OnceLock<OfficeTree> = OnceLock::new();
    TREE.get_or_init(|| builtin::quang_nam_3tier().offices)
}

pub fn rule_set(
    id: &str,
    effective_from: &str,
    clock: SupplementClock,
    supplement_within_days: u32,
    apology_min_days: u32,
) -> RuleSet {
    RuleSet {
        id: id.into(),
        effective_from: date(effective_from),
        supplement_clock: clock,
        supplement_request_within_days: supplement_within_days,
        apology_min_working_days_before_due: apology_min_days,
    }
}

/// Two rule sets that disagree on every setting: "2018" restarts the clock
/// after a supplement, allows 3 working days for a supplement request and
/// wants an apology 1 working day ahead; "2025" extends the clock, allows
/// 1 day and wants the apology 2 days ahead.
pub fn contrasting_rule_sets() -> &'static RuleSets {
    static SETS: OnceLock<RuleSets> = OnceLock::new();
    SETS.get_or_init(|| {
        RuleSets::new(vec![
            rule_set("2018", "2018-06-21", SupplementClock::Restart, 3, 1),
            rule_set("2025", "2025-07-01", SupplementClock::Extend, 1, 2),
        ])
        .unwrap()
    })
}

/// Rule sets where both ids extend the clock after a supplement (D3's
/// configurable alternative); otherwise the defaults.
pub fn extend_rule_sets() -> &'static RuleSets {
    static SETS: OnceLock<RuleSets> = OnceLock::new();
    SETS.get_or_init(|| {
        RuleSets::new(vec![
            rule_set("2018", "2018-06-21", SupplementClock::Extend, 3, 1),
            rule_set("2025", "2025-07-01", SupplementClock::Extend, 3, 1),
        ])
        .unwrap()
    })
}

// ── Events

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh event id, unique in the test process.
pub fn fresh_id() -> EventId {
    EventId(format!("ev-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)))
}

/// An event with a fresh id, at a local time.
pub fn event(action: Action, by: &str, at: &str) -> Event {
    event_utc(action, by, at_local(at))
}

pub fn event_utc(action: Action, by: &str, at: DateTime<Utc>) -> Event {
    Event {
        id: fresh_id(),
        at,
        office: office(by),
        officer: format!("cán bộ {by}"),
        action,
    }
}

pub fn submitted() -> Action {
    Action::Submitted
}
pub fn received() -> Action {
    Action::Received
}
pub fn refused() -> Action {
    Action::Refused {
        reason: "không thuộc thẩm quyền".into(),
    }
}
pub fn forwarded(to: &str) -> Action {
    forwarded_for(to, 0)
}
/// Forwarded with a working-day allowance written on the transfer.
pub fn forwarded_for(to: &str, days: u32) -> Action {
    Action::Forwarded {
        to: office(to),
        task: "thẩm định".into(),
        days,
    }
}
pub fn forward_cancelled() -> Action {
    Action::ForwardCancelled {
        reason: "chuyển nhầm".into(),
    }
}
pub fn accepted() -> Action {
    Action::Accepted
}
pub fn appraised() -> Action {
    Action::Appraised {
        outcome: AppraisalOutcome::Ok,
        note: "đủ điều kiện".into(),
    }
}
pub fn verification_scheduled(when: &str) -> Action {
    Action::VerificationScheduled {
        when: at_local(when),
        place: "tại thửa đất".into(),
        who: "chủ hộ".into(),
    }
}
pub fn consulted(to: &str, deadline: &str) -> Action {
    Action::Consulted {
        to: office(to),
        question: "ý kiến về quy hoạch".into(),
        deadline: at_local(deadline),
    }
}
pub fn answered(consultation: &EventId) -> Action {
    Action::ConsultationAnswered {
        consultation: consultation.clone(),
        answer: "thống nhất".into(),
    }
}
pub fn supplement_requested() -> Action {
    Action::SupplementRequested {
        items: vec!["bản sao CCCD".into(), "sơ đồ thửa đất".into()],
        reason: "thiếu thành phần".into(),
    }
}
pub fn supplement_received() -> Action {
    Action::SupplementReceived {
        note: "đã nhận đủ".into(),
    }
}
pub fn payment_requested() -> Action {
    Action::PaymentRequested {
        amount_vnd: 100_000,
        note: "lệ phí".into(),
    }
}
pub fn paid() -> Action {
    Action::Paid {
        amount_vnd: 100_000,
        receipt: "BL-0001".into(),
    }
}
pub fn apologized(new_due: &str) -> Action {
    Action::Apologized {
        reason: "cần xác minh thêm".into(),
        new_due: at_local(new_due),
    }
}
pub fn withdrawal_requested() -> Action {
    Action::WithdrawalRequested {
        reason: "người nộp xin rút".into(),
    }
}
pub fn stopped() -> Action {
    Action::Stopped {
        reason: "người nộp rút hồ sơ".into(),
    }
}
pub fn approved() -> Action {
    Action::Approved {
        note: "đồng ý".into(),
    }
}
pub fn result_issued(return_office: &str) -> Action {
    Action::ResultIssued {
        result: "Giấy chứng nhận".into(),
        attachment: None,
        return_office: office(return_office),
    }
}
pub fn returned() -> Action {
    Action::Returned {
        channel: Channel::Direct,
    }
}
pub fn note() -> Action {
    Action::Note {
        text: "ghi chú".into(),
    }
}

/// One example action of each known kind (payloads naming `other` where
/// an office or time is needed).
pub fn sample_action(kind: ActionKind, other: &str) -> Action {
    match kind {
        ActionKind::Submitted => submitted(),
        ActionKind::Received => received(),
        ActionKind::Refused => refused(),
        ActionKind::Forwarded => forwarded(other),
        ActionKind::ForwardCancelled => forward_cancelled(),
        ActionKind::Accepted => accepted(),
        ActionKind::Appraised => appraised(),
        ActionKind::VerificationScheduled => verification_scheduled("2026-12-01 09:00"),
        ActionKind::Consulted => consulted(other, "2026-12-01 17:00"),
        ActionKind::ConsultationAnswered => answered(&EventId("ev-none".into())),
        ActionKind::SupplementRequested => supplement_requested(),
        ActionKind::SupplementReceived => supplement_received(),
        ActionKind::PaymentRequested => payment_requested(),
        ActionKind::Paid => paid(),
        ActionKind::Apologized => apologized("2026-12-31 17:00"),
        ActionKind::WithdrawalRequested => withdrawal_requested(),
        ActionKind::Stopped => stopped(),
        ActionKind::Approved => approved(),
        ActionKind::ResultIssued => result_issued(other),
        ActionKind::Returned => returned(),
        ActionKind::Note => note(),
        ActionKind::Unknown => Action::Unknown {
            name: "escalated".into(),
        },
    }
}

// ── Dossiers

/// A 5-working-day dossier received at [`COMMUNE`] Mon 2 Mar 2026 09:00
/// (due Mon 9 Mar 09:00) and held by [`DISTRICT`] since 10:00 (status 4).
pub fn at_district() -> Case {
    dossier(Procedure::Days(5)).at_district()
}

/// The procedure's processing time as recorded on the dossier.
#[derive(Debug, Clone, Copy)]
pub enum Procedure {
    /// `processing_days = N` (D1).
    Days(u64),
    /// `same_day_cutoff = "HH:MM"` (D2).
    SameDay(&'static str),
}

/// Facts for a dossier received at `origin` under rule set `rules`.
pub fn facts(procedure: Procedure, origin: &str, rules: &str) -> DossierFacts {
    let (processing_days, same_day_cutoff) = match procedure {
        Procedure::Days(days) => (Some(days), None),
        Procedure::SameDay(cutoff) => (None, Some(cutoff.to_string())),
    };
    DossierFacts {
        id: "0123456789abcdef0123456789abcdef".into(),
        code: "000.01.36.H49-260302-0001".into(),
        rules: rules.into(),
        origin: office(origin),
        channel: Channel::Direct,
        result_delivery: Channel::Direct,
        procedure: ProcedureSnapshot {
            code: "1.000001".into(),
            name: "Thủ tục thử".into(),
            catalogue_version: "2026.1".into(),
            processing_days,
            same_day_cutoff,
            fee_vnd: 0,
        },
        applicant: Applicant {
            name: "Nguyễn Văn An".into(),
            id_number: "049090000001".into(),
            ..Applicant::default()
        },
        route: Vec::new(),
        documents: vec![Component {
            name: "Đơn đề nghị".into(),
            copies: 1,
            attachments: Vec::new(),
        }],
    }
}

/// Start describing a dossier: origin [`COMMUNE`], rules "2025", the
/// shipped rule sets.
pub fn dossier(procedure: Procedure) -> Builder {
    Builder {
        facts: facts(procedure, COMMUNE, "2025"),
        rule_sets: shipped_rule_sets(),
    }
}

pub struct Builder {
    pub facts: DossierFacts,
    rule_sets: &'static RuleSets,
}

impl Builder {
    pub fn origin(mut self, origin: &str) -> Self {
        self.facts.origin = office(origin);
        self
    }

    pub fn rules(mut self, id: &str) -> Self {
        self.facts.rules = id.into();
        self
    }

    pub fn rule_sets(mut self, sets: &'static RuleSets) -> Self {
        self.rule_sets = sets;
        self
    }

    /// Route steps `(office, working days)`, the first one the lead.
    pub fn route(mut self, steps: &[(&str, u64)]) -> Self {
        self.facts.route = steps
            .iter()
            .enumerate()
            .map(|(i, (step, days))| RouteStep {
                office: office(step),
                task: "xử lý".into(),
                days: *days,
                lead: i == 0,
            })
            .collect();
        self
    }

    /// Received at the origin desk at `at` (the first event).
    pub fn received(self, at: &str) -> Case {
        let origin = self.facts.origin.clone();
        self.starting_with(event(received(), origin.as_str(), at))
    }

    /// Filed online at `at` (status 1).
    pub fn submitted(self, at: &str) -> Case {
        let origin = self.facts.origin.clone();
        self.starting_with(event(submitted(), origin.as_str(), at))
    }

    /// Received at the origin desk Mon 2 Mar 2026 09:00, forwarded to the
    /// district at 09:30 and accepted at 10:00: status 4, [`DISTRICT`]
    /// holds it. With `Days(5)` it is due Mon 9 Mar 2026 09:00.
    pub fn at_district(self) -> Case {
        let mut case = self.received("2026-03-02 09:00");
        case.ok(forwarded(DISTRICT), COMMUNE, "2026-03-02 09:30");
        case.ok(accepted(), DISTRICT, "2026-03-02 10:00");
        case
    }

    /// A dossier whose first event is `first`.
    pub fn starting_with(self, first: Event) -> Case {
        let mut doc = Automerge::new().with_actor(ActorId::from(&[1u8; 16][..]));
        let mut tx = doc.transaction();
        schema::create(&mut tx, &self.facts, &first).expect("create the dossier");
        tx.commit();
        Case {
            doc,
            rule_sets: self.rule_sets,
            last_at: first.at,
        }
    }
}

/// One dossier document under test, with the rule sets it is folded with.
pub struct Case {
    pub doc: Automerge,
    pub rule_sets: &'static RuleSets,
    /// Time of the latest event appended here: the default `now`.
    pub last_at: DateTime<Utc>,
}

impl Case {
    pub fn dossier(&self) -> Dossier {
        schema::read(&self.doc).expect("the dossier document reads")
    }

    pub fn ctx(&self, now: DateTime<Utc>) -> FoldContext<'static> {
        FoldContext {
            calendar: calendar(),
            rule_sets: self.rule_sets,
            now,
        }
    }

    /// The state with `now` = the time of the latest event appended.
    pub fn state(&self) -> DossierState {
        self.state_at_utc(self.last_at)
    }

    /// The state judged at local time `now`.
    pub fn state_at(&self, now: &str) -> DossierState {
        self.state_at_utc(at_local(now))
    }

    pub fn state_at_utc(&self, now: DateTime<Utc>) -> DossierState {
        fold::fold(&self.dossier(), &self.ctx(now))
    }

    pub fn status(&self) -> Option<Status> {
        self.state().status
    }

    /// The status code (1–10) now.
    pub fn code(&self) -> u8 {
        self.status().expect("the dossier has a status").code()
    }

    pub fn due(&self) -> DateTime<Utc> {
        self.state().due_at.expect("the dossier has a due time")
    }

    /// Append an event as-is, whatever the fold will make of it.
    pub fn append(&mut self, event: &Event) {
        let mut tx = self.doc.transaction();
        schema::append_event(&mut tx, event).expect("append the event");
        tx.commit();
        self.last_at = self.last_at.max(event.at);
    }

    /// Append `action` by office `by` at local time `at`; returns its id.
    pub fn push(&mut self, action: Action, by: &str, at: &str) -> EventId {
        let event = event(action, by, at);
        self.append(&event);
        event.id
    }

    /// Append and insist the fold applies it; returns its id.
    pub fn ok(&mut self, action: Action, by: &str, at: &str) -> EventId {
        let event = event(action, by, at);
        self.ok_event(&event);
        event.id
    }

    pub fn ok_event(&mut self, event: &Event) {
        self.append(event);
        let state = self.state_at_utc(event.at);
        let last = state.applied.len() - 1;
        assert!(
            state.applied[last],
            "expected `{}` by {} at {} to be applied, got conflict: {}",
            event.action.kind(),
            event.office,
            event.at,
            state
                .conflicts
                .last()
                .map(|c| c.to_string())
                .unwrap_or_default()
        );
    }

    /// Append and insist the fold keeps it as a conflict and that nothing
    /// else in the state changes; returns the reason.
    pub fn conflict(&mut self, action: Action, by: &str, at: &str) -> ConflictReason {
        let event = event(action, by, at);
        self.conflict_event(&event)
    }

    pub fn conflict_event(&mut self, event: &Event) -> ConflictReason {
        let before = self.state_at_utc(event.at);
        let count = self.dossier().events.len();
        self.append(event);
        let dossier = self.dossier();
        assert_eq!(
            dossier.events.len(),
            count + 1,
            "the event is kept in the log"
        );
        let after = fold::fold(&dossier, &self.ctx(event.at));
        assert_eq!(after.applied.len(), count + 1);
        assert!(
            !after.applied[count],
            "expected `{}` by {} at {} to be a conflict, but it was applied",
            event.action.kind(),
            event.office,
            event.at
        );
        let conflict = after.conflicts.last().expect("a conflict is reported");
        assert_eq!(conflict.index, count, "the conflict names the new event");
        assert_eq!(conflict.event.as_ref(), Some(&event.id));
        assert_eq!(conflict.office.as_ref(), Some(&event.office));
        assert_eq!(after.conflicts.len(), before.conflicts.len() + 1);
        assert_eq!(
            comparable(&before),
            comparable(&after),
            "a conflicting `{}` must not change the state",
            event.action.kind()
        );
        conflict.reason.clone()
    }

    /// Append a raw map to the `events` list, bypassing the schema (to
    /// imitate a buggy or newer peer).
    pub fn push_raw(&mut self, fields: &[(&str, ScalarValue)]) {
        let mut tx = self.doc.transaction();
        let events = events_list(&tx);
        let len = tx.length(&events);
        let map = tx.insert_object(&events, len, ObjType::Map).unwrap();
        for (key, value) in fields {
            tx.put(&map, *key, value.clone()).unwrap();
        }
        tx.commit();
    }

    /// Append a bare scalar (not a map) to the `events` list.
    pub fn push_raw_scalar(&mut self, value: ScalarValue) {
        let mut tx = self.doc.transaction();
        let events = events_list(&tx);
        let len = tx.length(&events);
        tx.insert(&events, len, value).unwrap();
        tx.commit();
    }

    /// Another replica of this dossier with its own actor.
    pub fn fork(&self, actor: u8) -> Case {
        Case {
            doc: self.doc.fork().with_actor(ActorId::from(&[actor; 16][..])),
            rule_sets: self.rule_sets,
            last_at: self.last_at,
        }
    }

    /// Merge `other`'s changes into this replica.
    pub fn merge(&mut self, other: &mut Case) {
        self.doc.merge(&mut other.doc).expect("merge");
        self.last_at = self.last_at.max(other.last_at);
    }
}

/// The `events` list object of a dossier document.
pub fn events_list<D: ReadDoc>(doc: &D) -> ObjId {
    match doc.get(ROOT, "events").unwrap() {
        Some((Value::Object(ObjType::List), id)) => id,
        other => panic!("no events list: {other:?}"),
    }
}

/// The `id` field of every entry of the events list, read raw (None for an
/// entry without a string id), in log order.
pub fn raw_event_ids<D: ReadDoc>(doc: &D) -> Vec<Option<String>> {
    let events = events_list(doc);
    (0..doc.length(&events))
        .map(|i| match doc.get(&events, i).unwrap() {
            Some((Value::Object(ObjType::Map), map)) => match doc.get(&map, "id").unwrap() {
                Some((Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Str(text) => Some(text.to_string()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The state without the per-event bookkeeping (`applied`, `conflicts`), as
/// JSON: what a conflicting event must leave unchanged.
pub fn comparable(state: &DossierState) -> serde_json::Value {
    let mut value = serde_json::to_value(state).expect("the state serializes");
    let map = value.as_object_mut().expect("the state is a JSON object");
    map.remove("applied");
    map.remove("conflicts");
    value
}

/// Asserts `reason` is `NotAllowedInStatus` naming `status` and exactly
/// `allowed`, and that its message names them all.
pub fn assert_not_allowed(reason: &ConflictReason, status: Status, allowed: &[Status]) {
    match reason {
        ConflictReason::NotAllowedInStatus {
            status: found,
            allowed: found_allowed,
        } => {
            assert_eq!(*found, Some(status), "{reason}");
            assert_eq!(found_allowed.as_slice(), allowed, "{reason}");
        }
        other => panic!("expected NotAllowedInStatus({status}), got {other:?}: {other}"),
    }
    let text = reason.to_string();
    assert!(
        text.contains(&format!("while the dossier is {}", status.as_str())),
        "message names the current status: {text}"
    );
    for s in allowed {
        assert!(
            text.contains(s.as_str()),
            "message names allowed status {s}: {text}"
        );
    }
}
