//! `lienthong status`: this node and each peer link, in the words of the
//! console's sync page (one catalogue, local times, offices by name).

use anyhow::Result;
use chrono::Utc;
use clap::Args;

use super::args::DataArgs;
use super::render;
use std::fmt::Write as _;

use crate::console::sync::{self, SyncMsg};
use crate::i18n::{Lang, Locale};
use crate::node::Node;
use crate::service::status::{NodeStatus, PeerStatus, human_bytes, node_status};
use crate::service::sync_refusals;
use crate::store::quarantine::Quarantined;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn status(args: &StatusArgs) -> Result<()> {
    let mut node = Node::open(&args.data.data)?;
    let status = node_status(&mut node, Utc::now())?;
    if args.json {
        return render::print_json(&status);
    }
    let l = node.locale(Lang::from_env());
    print!("{}", render_status(&l, &status));
    Ok(())
}

/// What `lienthong status` prints: every word from the catalogue the
/// console's sync page uses ([`SyncMsg`]), in the officer's language;
/// offices by name, times local.
pub fn render_status(l: &Locale, status: &NodeStatus) -> String {
    let mut out = String::new();
    let label = |msg: SyncMsg| format!("{:<20}", l.t(msg));
    let _ = writeln!(
        out,
        "{}{}",
        label(SyncMsg::ThisNode),
        l.office_str(&status.office)
    );
    let _ = writeln!(out, "{}{}", label(SyncMsg::NodeId), status.node_id);
    let daemon = if status.daemon_running {
        format!(
            "{} (pid {})",
            l.f(SyncMsg::Running, &[("listen", &status.listen)]),
            status.daemon_pid.unwrap_or(0)
        )
    } else {
        l.t(SyncMsg::NotRunning).to_string()
    };
    let _ = writeln!(out, "{}{daemon}", label(SyncMsg::Daemon));
    let _ = writeln!(
        out,
        "{}{}",
        label(SyncMsg::Store),
        l.f(
            SyncMsg::StoreLine,
            &[
                ("n", &status.dossiers.to_string()),
                ("seq", &status.feed_seq.to_string())
            ]
        )
    );
    let disk = l.f(
        SyncMsg::DiskLine,
        &[
            (
                "free",
                &status.disk.free_bytes.map_or("?".into(), human_bytes),
            ),
            ("floor", &human_bytes(status.disk.floor_bytes)),
        ],
    );
    let under = if status.disk.under_floor {
        format!(" — {}", l.t(SyncMsg::UnderFloor))
    } else {
        String::new()
    };
    let _ = writeln!(out, "{}{disk}{under}", label(SyncMsg::Disk));
    write_quarantine(&mut out, &status.quarantined, l);
    if status.peers.is_empty() {
        let _ = writeln!(out, "{}{}", label(SyncMsg::Peers), l.t(SyncMsg::NoPeers));
        return out;
    }
    let mut table = render::table(&[
        l.t(SyncMsg::ColPeer),
        l.t(SyncMsg::ColRole),
        l.t(SyncMsg::ColLink),
        l.t(SyncMsg::ColLastSync),
        l.t(SyncMsg::ColToSend),
        l.t(SyncMsg::ColToReceive),
        l.t(SyncMsg::ColFilesOut),
        l.t(SyncMsg::ColFilesIn),
        l.t(SyncMsg::ColLastError),
    ]);
    for p in &status.peers {
        table.add_row(vec![
            format!(
                "{}\n{}",
                l.office_str(&p.office),
                &p.node_id[..p.node_id.len().min(13)]
            ),
            sync::peer_role(l, &p.role),
            l.t(if p.connected {
                SyncMsg::Connected
            } else {
                SyncMsg::Down
            })
            .to_string(),
            p.last_success
                .map_or_else(|| l.t(SyncMsg::Never).to_string(), |at| l.datetime(at)),
            p.waiting_to_send.to_string(),
            p.waiting_to_receive.to_string(),
            human_bytes(p.attachment_bytes_to_send),
            human_bytes(p.attachment_bytes_to_receive),
            match (&p.last_error, p.last_error_at) {
                (Some(e), Some(at)) => format!("{} {e}", l.datetime(at)),
                (Some(e), None) => e.clone(),
                _ => String::new(),
            },
        ]);
    }
    let _ = writeln!(out, "{table}");
    for p in &status.peers {
        write_peer_limits(&mut out, p, l);
    }
    if !status.transfers.is_empty() {
        let _ = writeln!(out, "{}", l.t(SyncMsg::Transfers));
    }
    for t in &status.transfers {
        let _ = writeln!(
            out,
            "  {}",
            l.f(
                SyncMsg::TransferLine,
                &[
                    ("hash", &t.attachment.chars().take(12).collect::<String>()),
                    ("got", &human_bytes(t.received_bytes)),
                    ("size", &human_bytes(t.size)),
                    ("percent", &t.percent.to_string()),
                ]
            )
        );
    }
    out
}

fn write_quarantine(out: &mut String, list: &[Quarantined], l: &Locale) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", l.t(SyncMsg::Quarantine));
    for q in list {
        let _ = writeln!(
            out,
            "  {}",
            l.f(
                SyncMsg::QuarantineLine,
                &[
                    ("code", q.code.as_deref().unwrap_or(l.t(SyncMsg::NoCode))),
                    ("since", &l.datetime(q.since)),
                    ("problem", &q.problem),
                ]
            )
        );
    }
}

/// Refusals and limits of one peer, when there is anything to say.
fn write_peer_limits(out: &mut String, p: &PeerStatus, l: &Locale) {
    let office = l.office_str(&p.office);
    if p.refused > 0 {
        let reason = p.last_refusal.as_deref().unwrap_or("");
        let at = l.datetime_opt(p.last_refusal_at);
        let _ = writeln!(
            out,
            "{}",
            sync_refusals::line(l, p.refused, &office, &at, reason)
        );
        if !reason.is_empty() {
            let _ = writeln!(out, "    {}", sync_refusals::detail(l, reason));
        }
    }
    if let Some(limit) = &p.limit {
        let state = match (limit.lifted_at, limit.until) {
            (Some(at), _) => l.f(SyncMsg::LimitLifted, &[("at", &l.datetime(at))]),
            (None, Some(at)) => l.f(SyncMsg::LimitUntil, &[("at", &l.datetime(at))]),
            (None, None) if limit.kind == crate::store::limits::LimitKind::Directory => {
                l.t(SyncMsg::LimitDirectory).to_string()
            }
            (None, None) => l.t(SyncMsg::LimitDisk).to_string(),
        };
        let _ = writeln!(
            out,
            "{}",
            l.f(
                SyncMsg::LimitLine,
                &[
                    ("office", &office),
                    ("kind", sync::limit_kind(l, limit.kind)),
                    ("since", &l.datetime(limit.since)),
                    ("state", &state),
                    ("docs", &p.today.documents.to_string()),
                    ("bytes", &human_bytes(p.today.bytes)),
                ]
            )
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::status::{Disk, Transfer};
    use crate::store::limits::{LimitKind, PeerDay, PeerLimit};
    use chrono::{TimeZone, Utc};

    /// 2 March 2026, `hour`:`minute` in Asia/Ho_Chi_Minh.
    fn local(hour: u32, minute: u32) -> chrono::DateTime<Utc> {
        chrono_tz::Asia::Ho_Chi_Minh
            .with_ymd_and_hms(2026, 3, 2, hour, minute, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn status() -> NodeStatus {
        NodeStatus {
            node_id: "a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
            office: "district:dien-ban".into(),
            office_name: "Ủy ban nhân dân thị xã Điện Bàn".into(),
            listen: "0.0.0.0:7470".into(),
            daemon_running: true,
            daemon_pid: Some(4242),
            feed_seq: 17,
            dossiers: 3,
            peers: vec![PeerStatus {
                role: "child".into(),
                office: "commune:dien-ban/dien-phuong".into(),
                node_id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
                address: None,
                connected: false,
                last_contact: Some(local(9, 0)),
                last_success: Some(local(9, 0)),
                last_error: None,
                last_error_at: None,
                waiting_to_send: 2,
                waiting_to_receive: 1,
                incoming_checkpoint: 0,
                outgoing_checkpoint: 0,
                attachment_bytes_to_send: 2048,
                attachment_bytes_to_receive: 0,
                attachment_bytes_held_there: 0,
                refused: 1,
                last_refusal: Some("dossier H01-0001 is not in the scope of this node".into()),
                last_refusal_at: Some(local(9, 5)),
                today: PeerDay {
                    documents: 500,
                    bytes: 1024,
                },
                limit: Some(PeerLimit {
                    kind: LimitKind::DocumentsPerDay,
                    reason: "500 new documents today".into(),
                    since: local(9, 10),
                    until: Some(local(23, 59)),
                    hold: 0,
                    lifted_at: None,
                }),
            }],
            transfers: vec![Transfer {
                attachment: "ab".repeat(32),
                received_bytes: 1024,
                size: 4096,
                percent: 25.0,
            }],
            disk: Disk {
                free_bytes: Some(10 << 30),
                floor_bytes: 1 << 30,
                under_floor: false,
            },
            quarantined: Vec::new(),
        }
    }

    /// Issue 9: the CLI speaks the console's catalogue — offices by name,
    /// local times, no raw names — in Vietnamese, and in English when asked.
    #[test]
    fn status_is_worded_from_the_catalogue_with_names_and_local_times() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let vi = render_status(&Locale::new(Lang::Vi, tz, &network.offices), &status());
        for expected in [
            "Nút này",
            "Ủy ban nhân dân thị xã Điện Bàn",
            "đang chạy, nghe tại 0.0.0.0:7470 (pid 4242)",
            "3 hồ sơ",
            "Điện Phương",
            "cấp dưới",
            "mất kết nối",
            "02/03/2026 09:00",
            "Đã từ chối 1 tài liệu",
            // The refusal's class and what to do, the English text labelled.
            "Hồ sơ không thuộc phạm vi của cơ quan này",
            "liên hệ cán bộ vận hành của cơ quan gửi",
            "Chi tiết kỹ thuật (tiếng Anh): dossier H01-0001 is not in the scope of this node",
            "số tài liệu mới mỗi ngày",
            "còn hiệu lực đến 02/03/2026 23:59",
            "Tệp đang nhận",
        ] {
            assert!(vi.contains(expected), "{expected:?} in:\n{vi}");
        }
        for raw in [
            "commune:",
            "district:",
            "documents_per_day",
            "child",
            "UTC",
            "02:00",
            "Daemon",
            "running",
        ] {
            assert!(!vi.contains(raw), "{raw:?} in:\n{vi}");
        }
        let en = render_status(&Locale::new(Lang::En, tz, &network.offices), &status());
        for expected in [
            "This node",
            "down",
            "child",
            "new documents per day",
            "02/03/2026 09:00",
            "The dossier is not this office's",
            "Technical detail: dossier H01-0001",
        ] {
            assert!(en.contains(expected), "{expected:?} in:\n{en}");
        }
        assert!(
            !en.contains("documents_per_day") && !en.contains("commune:"),
            "{en}"
        );
    }
}
