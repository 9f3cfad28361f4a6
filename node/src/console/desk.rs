//! The desk (bàn làm việc): the dossiers this node's offices work on, by
//! queue, with their sizes; search by code, applicant name (without
//! diacritics) or ID number; pages by keyset (`store/desk.rs`).
//!
//! Which dossiers each queue holds, for the offices this node serves:
//!
//! | queue | dossiers |
//! |---|---|
//! | mới tiếp nhận | held here, status 1 (filed online, to check) or 2 |
//! | đang xử lý | held here, status 4 (also while in transfer from here) or 7 |
//! | chờ bổ sung | held here, status 5 |
//! | chờ thanh toán | held here, status 6 |
//! | chờ trả kết quả | status 9 held here: the result is issued to this return desk (R1/R2) |
//! | sắp đến hạn | held here, unfinished, clock running, due within [`DUE_SOON_WORKING_DAYS`] working days |
//! | quá hạn | held here, unfinished, clock running, past due |
//! | chờ tiếp nhận chuyển đến | forwarded to an office here, not yet accepted |

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use lienthong_shared::dossier::Status;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Officer;
use super::messages::ConsoleMsg;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::node::Node;
use crate::store::desk::{Cursor, PageRow, SearchRow, Slice, fold};
use crate::store::index::IndexRow;

crate::catalogue! {
    DeskMsg;
    QueueNew => "Mới tiếp nhận", "Newly received";
    QueueProcessing => "Đang xử lý", "In processing";
    QueueSupplement => "Chờ bổ sung", "Awaiting supplement";
    QueuePayment => "Chờ thanh toán", "Awaiting payment";
    QueueReturn => "Chờ trả kết quả", "Result to hand over";
    QueueDueSoon => "Sắp đến hạn", "Due soon";
    QueueOverdue => "Quá hạn", "Overdue";
    QueueIncoming => "Chờ tiếp nhận chuyển đến", "Transferred to us";
    DueSoonNote => "Hạn trả trong {n} ngày làm việc tới.", "Due within the next {n} working days.";
    SearchLabel => "Tìm theo mã hồ sơ, tên người nộp hoặc số CCCD/CMND", "Search by dossier code, applicant name or ID number";
    SearchButton => "Tìm", "Search";
    SearchResults => "Kết quả tìm “{q}”", "Results for “{q}”";
    SearchClear => "Bỏ tìm kiếm", "Clear the search";
    ColCode => "Mã hồ sơ", "Code";
    ColApplicant => "Người nộp", "Applicant";
    ColProcedure => "Thủ tục", "Procedure";
    ColStatus => "Trạng thái", "Status";
    ColHolder => "Nơi đang giữ", "Held by";
    ColDue => "Hạn trả", "Due";
    ColLeft => "Thời gian còn lại", "Time left";
    InTransferTo => "đang chuyển đến {office}", "in transfer to {office}";
    Left => "còn {time}", "{time} left";
    OverdueBy => "quá hạn {time}", "overdue by {time}";
    Paused => "tạm dừng (chờ bổ sung)", "paused (awaiting supplement)";
    DaysHours => "{d} ngày {h} giờ làm việc", "{d} working days {h} h";
    HoursMinutes => "{h} giờ {m} phút làm việc", "{h} h {m} min of working time";
    Empty => "Không có hồ sơ nào.", "No dossiers.";
    NextPage => "Trang sau →", "Next page →";
    PrintForm01 => "In Mẫu 01", "Print Mẫu 01";
    FirstPage => "← Về trang đầu", "← First page";
    UnknownQueue => "Không có hàng đợi “{queue}”. Hãy chọn một hàng đợi ở bàn làm việc.", "There is no queue “{queue}”. Choose one of the desk's queues.";
    BadCursor => "Liên kết trang sau không hợp lệ. Hãy mở lại hàng đợi từ trang đầu.", "The next-page link is not valid. Open the queue again from its first page.";
    CalendarGap => "Lịch làm việc của nút không có ngày hôm nay ({problem}). Hãy cập nhật lịch nghỉ lễ.", "The node's working calendar does not cover today ({problem}). Update the holiday calendar.";
}

/// "Sắp đến hạn": due within this many working days (the task's window).
/// The due-soon notice (`notices.rs`) fires one working day ahead (D4's
/// apology lead time); the desk shows a day earlier, so an officer still has
/// a working day to finish the dossier or prepare Mẫu 04 before it fires.
pub const DUE_SOON_WORKING_DAYS: u32 = 2;

/// How many dossiers one page of a queue shows.
pub const PAGE_SIZE: usize = 50;

/// The longest search text read (longer is cut).
const MAX_QUERY_CHARS: usize = 100;

/// The desk's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    New,
    Processing,
    Supplement,
    Payment,
    Return,
    DueSoon,
    Overdue,
    Incoming,
}

impl Queue {
    pub const ALL: [Queue; 8] = [
        Queue::New,
        Queue::Processing,
        Queue::Supplement,
        Queue::Payment,
        Queue::Return,
        Queue::DueSoon,
        Queue::Overdue,
        Queue::Incoming,
    ];

    /// The queue's name in links (`/desk?queue=overdue`).
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::New => "new",
            Queue::Processing => "processing",
            Queue::Supplement => "supplement",
            Queue::Payment => "payment",
            Queue::Return => "return",
            Queue::DueSoon => "due-soon",
            Queue::Overdue => "overdue",
            Queue::Incoming => "incoming",
        }
    }

    pub fn parse(text: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.as_str() == text)
    }

    fn label(self) -> DeskMsg {
        match self {
            Queue::New => DeskMsg::QueueNew,
            Queue::Processing => DeskMsg::QueueProcessing,
            Queue::Supplement => DeskMsg::QueueSupplement,
            Queue::Payment => DeskMsg::QueuePayment,
            Queue::Return => DeskMsg::QueueReturn,
            Queue::DueSoon => DeskMsg::QueueDueSoon,
            Queue::Overdue => DeskMsg::QueueOverdue,
            Queue::Incoming => DeskMsg::QueueIncoming,
        }
    }

    /// The index ranges holding this queue for `offices` at `now`
    /// (`soon`: the end of the due-soon window).
    pub fn slices(self, offices: &[String], now: DateTime<Utc>, soon: DateTime<Utc>) -> Vec<Slice> {
        let held = |statuses: &[Status]| -> Vec<Slice> {
            offices
                .iter()
                .flat_map(|holder| {
                    statuses.iter().map(|status| Slice::Held {
                        holder: holder.clone(),
                        status: *status,
                    })
                })
                .collect()
        };
        let open = |from: Option<DateTime<Utc>>, before: DateTime<Utc>| -> Vec<Slice> {
            offices
                .iter()
                .map(|holder| Slice::OpenDue {
                    holder: holder.clone(),
                    from,
                    before,
                })
                .collect()
        };
        match self {
            Queue::New => held(&[Status::Submitted, Status::Received]),
            Queue::Processing => held(&[Status::Processing, Status::WithdrawalRequested]),
            Queue::Supplement => held(&[Status::AwaitingSupplement]),
            Queue::Payment => held(&[Status::AwaitingPayment]),
            Queue::Return => held(&[Status::Resolved]),
            // Due exactly now is not yet overdue (D6: after the due time).
            Queue::DueSoon => open(Some(now), soon),
            Queue::Overdue => open(None, now),
            Queue::Incoming => offices
                .iter()
                .map(|office| Slice::TransferTo {
                    office: office.clone(),
                })
                .collect(),
        }
    }
}

/// What a search text looks for: a code has `.` or `-` in it
/// (`000.00.20.H12-260302-0001`), an ID number is digits, anything else is
/// a name.
pub fn search_slice(query: &str) -> Option<Slice> {
    let query = query.trim();
    if query.is_empty() {
        return None;
    }
    if query.contains(['.', '-']) && !query.contains(' ') {
        return Some(Slice::CodePrefix {
            prefix: query.to_uppercase(),
        });
    }
    let digits: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.chars().all(|c| c.is_ascii_digit()) {
        return Some(Slice::IdPrefix { prefix: digits });
    }
    Some(Slice::NameContains {
        folded: fold(query),
    })
}

/// `GET /`: the desk.
pub async fn home() -> Response {
    Redirect::to("/desk").into_response()
}

#[derive(Debug, Deserialize, Default)]
pub struct DeskQuery {
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// `GET /desk?queue=…&q=…&after=…`: one page of a queue (or of a search),
/// the queues' tabs with their sizes.
pub async fn queue(
    State(state): State<AppState>,
    officer: Officer,
    Query(query): Query<DeskQuery>,
) -> Result<Response, ConsoleError> {
    let now = state.now();
    let page = state
        .run(move |node| render(node, &officer, &query, now))
        .await?;
    Ok(page::ok(page))
}

fn render(
    node: &mut Node,
    officer: &Officer,
    query: &DeskQuery,
    now: DateTime<Utc>,
) -> Result<Markup, ConsoleError> {
    let queue = match query.queue.as_deref().filter(|q| !q.is_empty()) {
        None => Queue::New,
        Some(name) => Queue::parse(name).ok_or_else(|| {
            ConsoleError::refused(
                StatusCode::BAD_REQUEST,
                DeskMsg::UnknownQueue,
                &[("queue", &name.chars().take(40).collect::<String>())],
            )
        })?,
    };
    let search: String = query
        .q
        .as_deref()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect();
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            ConsoleError::refused(StatusCode::BAD_REQUEST, DeskMsg::BadCursor, &[])
        })?),
    };
    let soon = node
        .calendar
        .add_working_days(now, DUE_SOON_WORKING_DAYS)
        .map_err(|e| {
            ConsoleError::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                DeskMsg::CalendarGap,
                &[("problem", &e.to_string())],
            )
        })?;
    let offices: Vec<String> = node.served_ids().iter().map(|o| o.to_string()).collect();
    let searched = search_slice(&search);
    let shown: Vec<Slice> = match &searched {
        Some(slice) => vec![slice.clone()],
        None => queue.slices(&offices, now, soon),
    };
    let (counts, rows) = node.store.read(|r| {
        let counts = Queue::ALL
            .iter()
            .map(|q| Ok((*q, r.desk_count(&q.slices(&offices, now, soon))?)))
            .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
        // One more than a page: whether there is a next one.
        let rows = r.desk_page(&shown, after.as_ref(), PAGE_SIZE + 1)?;
        Ok::<_, crate::store::StoreError>((counts, rows))
    })?;
    let ui = Ui::new(node, officer.lang);
    let more = rows.len() > PAGE_SIZE;
    let rows = &rows[..rows.len().min(PAGE_SIZE)];
    let next = more.then(|| {
        let last = &rows[rows.len() - 1].cursor;
        let mut params = vec![("after", last.encode())];
        if searched.is_some() {
            params.push(("q", search.clone()));
        } else {
            params.push(("queue", queue.as_str().to_string()));
        }
        format!(
            "/desk?{}",
            serde_urlencoded::to_string(params).unwrap_or_default()
        )
    });
    let first = if searched.is_some() {
        format!(
            "/desk?{}",
            serde_urlencoded::to_string([("q", search.as_str())]).unwrap_or_default()
        )
    } else {
        format!("/desk?queue={}", queue.as_str())
    };
    let body = html! {
        h1 { (ui.t(ConsoleMsg::NavDesk)) }
        form.search method="get" action="/desk" role="search" {
            label {
                (ui.t(DeskMsg::SearchLabel))
                input type="search" name="q" value=(search) maxlength=(MAX_QUERY_CHARS);
            }
            button type="submit" { (ui.s(DeskMsg::SearchButton)) }
        }
        nav.tabs {
            @for (q, n) in &counts {
                a.current[searched.is_none() && *q == queue] href={ "/desk?queue=" (q.as_str()) } {
                    (ui.s(q.label())) " " span.count { (n) }
                }
            }
        }
        @if searched.is_some() {
            h2 { (ui.f(DeskMsg::SearchResults, &[("q", &search)])) " " a href="/desk" { (ui.s(DeskMsg::SearchClear)) } }
        } @else {
            h2 { (ui.t(queue.label())) }
            @if queue == Queue::DueSoon {
                p.note { (ui.f(DeskMsg::DueSoonNote, &[("n", &DUE_SOON_WORKING_DAYS.to_string())])) }
            }
        }
        @if rows.is_empty() {
            p.empty { (ui.t(DeskMsg::Empty)) }
        } @else {
            table.queue {
                thead {
                    tr {
                        th { (ui.s(DeskMsg::ColCode)) }
                        th { (ui.s(DeskMsg::ColApplicant)) }
                        th { (ui.s(DeskMsg::ColProcedure)) }
                        th { (ui.s(DeskMsg::ColStatus)) }
                        th { (ui.s(DeskMsg::ColHolder)) }
                        th { (ui.s(DeskMsg::ColDue)) }
                        th { (ui.s(DeskMsg::ColLeft)) }
                    }
                }
                tbody {
                    @for PageRow { row, .. } in rows {
                        (row_markup(&ui, node, &offices, row, now))
                    }
                }
            }
        }
        nav.pages {
            @if after.is_some() {
                a href=(first) { (ui.s(DeskMsg::FirstPage)) }
            }
            @if let Some(next) = next {
                " " a.next rel="next" href=(next) { (ui.s(DeskMsg::NextPage)) }
            }
        }
    };
    Ok(page::shell(
        &ui,
        node,
        Some(officer),
        ui.s(ConsoleMsg::NavDesk),
        body,
    ))
}

fn row_markup(
    ui: &Ui<'_>,
    node: &Node,
    served: &[String],
    row: &IndexRow,
    now: DateTime<Utc>,
) -> Markup {
    let overdue = row.is_overdue(now);
    // The receipt (Mẫu 01) is the receiving desk's to print and reprint.
    let receipt = served.contains(&row.origin) && row.status != Some(Status::Submitted);
    html! {
        tr.overdue[overdue] {
            td {
                a href={ "/dossiers/" (row.code) } { (row.code) }
                @if receipt {
                    br; small { a.print href={ "/dossiers/" (row.code) "/forms/mau-01" } { (ui.s(DeskMsg::PrintForm01)) } }
                }
            }
            td { (row.applicant) }
            td { (row.procedure_name) }
            td { (ui.l.status_opt(row.status)) }
            td {
                @if let Some(holder) = &row.holder { (ui.l.office_str(holder)) }
                @if let Some(to) = &row.transfer_to {
                    br; small { (ui.l.f(DeskMsg::InTransferTo, &[("office", &ui.l.office_str(to))])) }
                }
            }
            td { (ui.l.datetime_opt(row.due_at)) }
            td.left { (time_left(ui, node, row, now)) }
        }
    }
}

/// Working time left before the due time, or how far past it; the
/// timeliness of a finished dossier; "paused" while awaiting a supplement.
fn time_left(ui: &Ui<'_>, node: &Node, row: &IndexRow, now: DateTime<Utc>) -> String {
    if row.ended_at.is_some() {
        return row
            .timeliness
            .map_or_else(String::new, |t| ui.l.timeliness(t).to_string());
    }
    if row.status == Some(Status::AwaitingSupplement) {
        return ui.l.t(DeskMsg::Paused).to_string();
    }
    let Some(due) = row.due_at else {
        return String::new();
    };
    let (from, to, msg) = if now > due {
        (due, now, DeskMsg::OverdueBy)
    } else {
        (now, due, DeskMsg::Left)
    };
    let Ok(minutes) = node.calendar.working_minutes_between(from, to) else {
        return "—".into();
    };
    let per_day = node.calendar.hours().minutes_per_day().max(1);
    let time = if minutes >= per_day {
        ui.l.f(
            DeskMsg::DaysHours,
            &[
                ("d", &(minutes / per_day).to_string()),
                ("h", &(minutes % per_day / 60).to_string()),
            ],
        )
    } else {
        ui.l.f(
            DeskMsg::HoursMinutes,
            &[
                ("h", &(minutes / 60).to_string()),
                ("m", &(minutes % 60).to_string()),
            ],
        )
    };
    ui.l.f(msg, &[("time", &time)])
}

/// Write the search rows (folded name, ID number) of dossiers indexed by a
/// build before migration 8, reading each one's applicant from its
/// document; a document that does not load gets its indexed name and no ID
/// number. Run when the console starts; nothing to do on later starts.
pub fn backfill_search(node: &mut Node) -> Result<usize, ConsoleError> {
    let mut written = 0;
    loop {
        let missing = node.store.read(|r| r.unsearchable(500))?;
        if missing.is_empty() {
            return Ok(written);
        }
        let mut found = Vec::with_capacity(missing.len());
        for row in missing {
            let (name, id) = match crate::service::load(node, &row.key) {
                Ok((_, dossier)) => {
                    let a = &dossier.facts.applicant;
                    (
                        format!("{} {}", a.name, a.organisation),
                        a.id_number.clone(),
                    )
                }
                Err(_) => (row.applicant.clone(), String::new()),
            };
            found.push((row, name, id));
        }
        written += found.len();
        node.store.write(|w| {
            for (row, name, id) in &found {
                let search = SearchRow {
                    code: &row.code,
                    due_at: row.due_at,
                    name,
                    id_number: id,
                };
                w.upsert_search(&row.key, &search)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<DeskMsg>().unwrap();
    }

    #[test]
    fn queues_parse_from_their_link_names() {
        for q in Queue::ALL {
            assert_eq!(Queue::parse(q.as_str()), Some(q));
        }
        assert_eq!(Queue::parse("all"), None);
    }

    #[test]
    fn a_search_reads_codes_id_numbers_and_names() {
        assert!(matches!(
            search_slice("000.00.20.h12-260302"),
            Some(Slice::CodePrefix { prefix }) if prefix == "000.00.20.H12-260302"
        ));
        assert!(matches!(
            search_slice(" 0492 0100 1234 "),
            Some(Slice::IdPrefix { prefix }) if prefix == "049201001234"
        ));
        assert!(matches!(
            search_slice("Nguyễn Văn"),
            Some(Slice::NameContains { folded }) if folded == "nguyen van"
        ));
        assert!(search_slice("   ").is_none());
    }
}
