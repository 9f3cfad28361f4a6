//! The sync page (`GET /sync`), like Syncthing's: this node, then each
//! peer — office name, node id, link state, last sync, changes and
//! attachment bytes waiting each way, refusals with their reasons, limits
//! in force — attachments arriving and quarantined documents. The figures
//! are [`crate::service::status::node_status`]'s, as `lienthong status`
//! prints them.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::auth::Officer;
use super::page::{self, Ui};
use super::{AppState, ConsoleError};
use crate::i18n::Locale;
use crate::service::status::{NodeStatus, human_bytes, node_status};
use crate::service::sync_refusals;
use crate::store::limits::LimitKind;

crate::catalogue! {
    SyncMsg;
    Title => "Đồng bộ", "Sync";
    ThisNode => "Nút này", "This node";
    NodeId => "Mã nút", "Node id";
    Daemon => "Tiến trình đồng bộ", "Sync daemon";
    Running => "đang chạy, nghe tại {listen}", "running, listening on {listen}";
    NotRunning => "không chạy — khởi động bằng lệnh: lienthong run", "not running — start it with: lienthong run";
    Store => "Kho dữ liệu", "Store";
    StoreLine => "{n} hồ sơ, nhật ký đến số {seq}", "{n} dossiers, feed at {seq}";
    Disk => "Ổ đĩa", "Disk";
    DiskLine => "còn trống {free}, ngưỡng tối thiểu {floor}", "{free} free, floor {floor}";
    UnderFloor => "DƯỚI NGƯỠNG: không nhận gì từ các nút khác cho đến khi giải phóng dung lượng.", "UNDER THE FLOOR: nothing is accepted from peers until space is freed.";
    Peers => "Các nút kết nối", "Peers";
    NoPeers => "Chưa ghim nút nào (lệnh lienthong peer add).", "No peer pinned (lienthong peer add).";
    ColPeer => "Nút", "Peer";
    ColRole => "Quan hệ", "Role";
    ColLink => "Kết nối", "Link";
    ColLastSync => "Đồng bộ lần cuối", "Last sync";
    ColToSend => "Thay đổi chờ gửi", "Changes to send";
    ColToReceive => "Thay đổi chờ nhận", "Changes to receive";
    ColFilesOut => "Tệp chờ gửi", "Attachments out";
    ColFilesIn => "Tệp chờ nhận", "Attachments in";
    ColLastError => "Lỗi gần nhất", "Last error";
    Connected => "đang kết nối", "connected";
    Down => "mất kết nối", "down";
    Never => "chưa bao giờ", "never";
    RolePeerParent => "cấp trên", "parent";
    RolePeerChild => "cấp dưới", "child";
    RolePeerExtra => "kết nối thêm", "extra";
    LimitLine => "{office} chạm giới hạn {kind} từ {since} ({state}); hôm nay {docs} tài liệu mới, {bytes}", "{office} hit the limit {kind} since {since} ({state}); today {docs} new documents, {bytes}";
    LimitLifted => "đã gỡ lúc {at}", "lifted {at}";
    LimitUntil => "còn hiệu lực đến {at}", "in force until {at}";
    LimitDisk => "còn hiệu lực đến khi giải phóng ổ đĩa", "in force until disk space is freed";
    LimitDirectory => "còn hiệu lực đến khi danh bạ nút của tỉnh thay đổi", "in force until the province's node directory changes";
    LimitDocumentsPerDay => "số tài liệu mới mỗi ngày", "new documents per day";
    LimitBytesPerDay => "dung lượng nhận mỗi ngày", "bytes received per day";
    LimitDiskFloor => "dung lượng trống tối thiểu của ổ đĩa", "the disk's free-space floor";
    LimitNodeDirectory => "nút không có trong danh bạ nút của tỉnh", "a node not in the province's node directory";
    Transfers => "Tệp đang nhận", "Attachments arriving";
    TransferLine => "{hash}…: {got} / {size} ({percent}%)", "{hash}…: {got} of {size} ({percent}%)";
    Quarantine => "Tài liệu bị cách ly (giữ nguyên, không gửi đi)", "Quarantined documents (kept as they are, not sent on)";
    QuarantineLine => "{code} từ {since}: {problem}", "{code} since {since}: {problem}";
    NoCode => "(không có mã)", "(no code)";
}

/// The limit a peer ran into, in words (never the stored name).
pub fn limit_kind(l: &Locale<'_>, kind: LimitKind) -> &'static str {
    l.t(match kind {
        LimitKind::DocumentsPerDay => SyncMsg::LimitDocumentsPerDay,
        LimitKind::BytesPerDay => SyncMsg::LimitBytesPerDay,
        LimitKind::DiskFloor => SyncMsg::LimitDiskFloor,
        LimitKind::Directory => SyncMsg::LimitNodeDirectory,
    })
}

/// A peer's place in the tree, in words (`parent`, `child`, `extra`).
pub fn peer_role(l: &Locale<'_>, role: &str) -> String {
    match role {
        "parent" => l.t(SyncMsg::RolePeerParent).into(),
        "child" => l.t(SyncMsg::RolePeerChild).into(),
        "extra" => l.t(SyncMsg::RolePeerExtra).into(),
        other => other.into(),
    }
}

/// `GET /sync`.
pub async fn page(
    State(state): State<AppState>,
    officer: Officer,
) -> Result<Response, ConsoleError> {
    let now = state.now();
    let page = state
        .run(move |node| {
            let status = node_status(node, now)?;
            let ui = Ui::new(node, officer.lang);
            let body = render(&ui, &status);
            Ok(page::shell(
                &ui,
                node,
                Some(&officer),
                ui.s(SyncMsg::Title),
                body,
            ))
        })
        .await?;
    Ok(page::ok(page))
}

fn render(ui: &Ui<'_>, s: &NodeStatus) -> maud::Markup {
    let l = &ui.l;
    let office = |id: &str| l.office_str(id);
    html! {
        h1 { (ui.t(SyncMsg::Title)) }
        section.this-node {
            h2 { (ui.t(SyncMsg::ThisNode)) }
            dl {
                dt { (ui.t(SyncMsg::NodeId)) } dd { code { (s.node_id) } }
                dt { (ui.t(SyncMsg::Daemon)) }
                dd {
                    @if s.daemon_running { (ui.f(SyncMsg::Running, &[("listen", &s.listen)])) }
                    @else { (ui.t(SyncMsg::NotRunning)) }
                }
                dt { (ui.t(SyncMsg::Store)) }
                dd { (ui.f(SyncMsg::StoreLine, &[("n", &s.dossiers.to_string()), ("seq", &s.feed_seq.to_string())])) }
                dt { (ui.t(SyncMsg::Disk)) }
                dd {
                    (ui.f(SyncMsg::DiskLine, &[("free", &s.disk.free_bytes.map_or("?".into(), human_bytes)), ("floor", &human_bytes(s.disk.floor_bytes))]))
                    @if s.disk.under_floor { " " strong.problem { (ui.t(SyncMsg::UnderFloor)) } }
                }
            }
        }
        section.peers {
            h2 { (ui.t(SyncMsg::Peers)) }
            @if s.peers.is_empty() {
                p { (ui.t(SyncMsg::NoPeers)) }
            } @else {
                table.peers {
                    thead { tr {
                        th { (ui.t(SyncMsg::ColPeer)) } th { (ui.t(SyncMsg::ColRole)) } th { (ui.t(SyncMsg::ColLink)) }
                        th { (ui.t(SyncMsg::ColLastSync)) } th { (ui.t(SyncMsg::ColToSend)) } th { (ui.t(SyncMsg::ColToReceive)) }
                        th { (ui.t(SyncMsg::ColFilesOut)) } th { (ui.t(SyncMsg::ColFilesIn)) } th { (ui.t(SyncMsg::ColLastError)) }
                    } }
                    tbody {
                        @for p in &s.peers {
                            tr.peer {
                                td { strong { (office(&p.office)) } br; code.other title=(p.node_id) { (&p.node_id[..p.node_id.len().min(13)]) } }
                                td { (ui.pair(&peer_role(l, &p.role), &peer_role(&ui.other, &p.role))) }
                                td class=(if p.connected { "up" } else { "down" }) {
                                    @if p.connected { (ui.t(SyncMsg::Connected)) } @else { (ui.t(SyncMsg::Down)) }
                                }
                                td { @match p.last_success { Some(at) => (l.datetime(at)), None => (ui.t(SyncMsg::Never)) } }
                                td { (p.waiting_to_send) }
                                td { (p.waiting_to_receive) }
                                td { (human_bytes(p.attachment_bytes_to_send)) }
                                td { (human_bytes(p.attachment_bytes_to_receive)) }
                                td {
                                    @if let Some(e) = &p.last_error {
                                        @if let Some(at) = p.last_error_at { (l.datetime(at)) " " }
                                        (e)
                                    }
                                }
                            }
                        }
                    }
                }
                @for p in &s.peers {
                    @if p.refused > 0 {
                        @let reason = p.last_refusal.as_deref().unwrap_or("");
                        @let say = |l: &Locale<'_>| sync_refusals::line(l, p.refused, &l.office_str(&p.office), &l.datetime_opt(p.last_refusal_at), reason);
                        p.refusal { (ui.pair(&say(&ui.l), &say(&ui.other))) }
                        @if !reason.is_empty() {
                            p.refusal-detail { small { (sync_refusals::detail(l, reason)) } }
                        }
                    }
                    @if let Some(limit) = &p.limit {
                        @let state = match (limit.lifted_at, limit.until) {
                            (Some(at), _) => l.f(SyncMsg::LimitLifted, &[("at", &l.datetime(at))]),
                            (None, Some(at)) => l.f(SyncMsg::LimitUntil, &[("at", &l.datetime(at))]),
                            (None, None) if limit.kind == crate::store::limits::LimitKind::Directory => l.t(SyncMsg::LimitDirectory).to_string(),
                            (None, None) => l.t(SyncMsg::LimitDisk).to_string(),
                        };
                        p.limit { (l.f(SyncMsg::LimitLine, &[
                            ("office", &office(&p.office)),
                            ("kind", limit_kind(l, limit.kind)),
                            ("since", &l.datetime(limit.since)),
                            ("state", &state),
                            ("docs", &p.today.documents.to_string()),
                            ("bytes", &human_bytes(p.today.bytes)),
                        ])) }
                    }
                }
            }
        }
        @if !s.transfers.is_empty() {
            section.transfers {
                h2 { (ui.t(SyncMsg::Transfers)) }
                ul {
                    @for t in &s.transfers {
                        li {
                            progress max=(t.size) value=(t.received_bytes) {}
                            " " (l.f(SyncMsg::TransferLine, &[
                                ("hash", &t.attachment.chars().take(12).collect::<String>()),
                                ("got", &human_bytes(t.received_bytes)),
                                ("size", &human_bytes(t.size)),
                                ("percent", &t.percent.to_string()),
                            ]))
                        }
                    }
                }
            }
        }
        @if !s.quarantined.is_empty() {
            section.quarantine {
                h2 { (ui.t(SyncMsg::Quarantine)) }
                ul {
                    @for q in &s.quarantined {
                        li { (l.f(SyncMsg::QuarantineLine, &[
                            ("code", q.code.as_deref().unwrap_or(l.t(SyncMsg::NoCode))),
                            ("since", &l.datetime(q.since)),
                            ("problem", &q.problem),
                        ])) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::SyncMsg>().unwrap();
    }
}
