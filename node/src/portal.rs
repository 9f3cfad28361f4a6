//! The national portal export (issue 10, `docs/portal.md`): a dossier's
//! status in the terms of the national public-service portal (Cổng Dịch vụ
//! công quốc gia): the status code 1–10 (`Status::code`, RULES.md), the
//! dossier code, the agency codes (mã định danh) from the office tree, and
//! the dates as local `yyyyMMddHHmmss`. Pure: index row, tree, zone → record.
//!
//! `lienthong export --format portal --from … --to …` writes one record
//! per dossier received, ended or returned in the period, with its status at
//! the time of the export. The daemon keeps the export queue (each status a
//! dossier reaches, once: [`queue_changes`]) and delivers it to
//! `[portal] endpoint` with the gateway's mechanics ([`deliver_due`]).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lienthong_shared::OfficeId;
use lienthong_shared::offices::OfficeTree;
use serde::Serialize;

use crate::gateway::{self, Pass, webhook::Webhook};
use crate::store::index::IndexRow;
use crate::store::{Reader, Store, StoreError};

/// One record of the export. Field names follow the portal's Vietnamese
/// identifiers as public one-stop systems use them (assumed; docs/portal.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortalRecord {
    /// Mã hồ sơ.
    pub ma_ho_so: String,
    /// Mã thủ tục hành chính.
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    /// Tên thủ tục.
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    /// Trạng thái hồ sơ, 1–10.
    pub trang_thai_ho_so: u8,
    /// Mã đơn vị tiếp nhận (the receiving office's agency code).
    pub ma_don_vi_tiep_nhan: String,
    /// Mã đơn vị đang xử lý (the holder's agency code), empty if none.
    pub ma_don_vi_xu_ly: String,
    /// Ngày tiếp nhận.
    pub ngay_tiep_nhan: String,
    /// Ngày hẹn trả.
    pub ngay_hen_tra: String,
    /// Ngày kết thúc xử lý (resolved, refused or stopped).
    pub ngay_ket_thuc_xu_ly: String,
    /// Ngày trả kết quả.
    pub ngay_tra_ket_qua: String,
    /// Chủ hồ sơ.
    pub chu_ho_so: String,
}

/// A time as the portal writes it: local `yyyyMMddHHmmss`; empty for none.
pub fn portal_time(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

fn agency(tree: &OfficeTree, office: Option<&str>) -> String {
    office
        .and_then(|o| o.parse::<OfficeId>().ok())
        .and_then(|id| tree.resolve(&id).map(|o| o.agency_code.clone()))
        .unwrap_or_default()
}

/// The record of an indexed dossier; `None` before its first status.
pub fn record(row: &IndexRow, tree: &OfficeTree, tz: Tz) -> Option<PortalRecord> {
    let status = row.status?;
    Some(PortalRecord {
        ma_ho_so: row.code.clone(),
        ma_tthc: row.procedure_code.clone(),
        ten_tthc: row.procedure_name.clone(),
        trang_thai_ho_so: status.code(),
        ma_don_vi_tiep_nhan: agency(tree, Some(&row.origin)),
        ma_don_vi_xu_ly: agency(tree, row.holder.as_deref()),
        ngay_tiep_nhan: portal_time(row.received_at, tz),
        ngay_hen_tra: portal_time(row.due_at, tz),
        ngay_ket_thuc_xu_ly: portal_time(row.ended_at, tz),
        ngay_tra_ket_qua: portal_time(row.returned_at, tz),
        chu_ho_so: row.applicant.clone(),
    })
}

/// The records of the dossiers received, ended or returned in `[from, to)`.
pub fn export(
    r: &Reader<'_>,
    tree: &OfficeTree,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PortalRecord>, StoreError> {
    Ok(r.portal_rows(from, to)?
        .iter()
        .filter_map(|row| record(row, tree, tz))
        .collect())
}

/// Records queued in one pass, at most (the rest in the next pass).
pub const QUEUE_BATCH: usize = 500;

/// Queue a record for every dossier whose current status has none yet: each
/// status a dossier reaches is reported once (unique on dossier and status).
pub fn queue_changes(
    store: &mut Store,
    tree: &OfficeTree,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    store.write(|w| {
        let rows = w.reader().portal_unqueued(QUEUE_BATCH)?;
        let mut queued = 0;
        for row in &rows {
            let Some(record) = record(row, tree, tz) else {
                continue;
            };
            let json = serde_json::to_string(&record)
                .map_err(|e| StoreError::Invalid(format!("portal record as JSON: {e}")))?;
            if w.queue_portal_record(&row.key, record.trang_thai_ho_so, &json, now)? {
                queued += 1;
            }
        }
        Ok(queued)
    })
}

/// Deliver the queued records due at `now` to the portal's endpoint, once
/// each at least; the `Idempotency-Key` names the dossier and the status.
pub fn deliver_due(
    store: &mut Store,
    endpoint: &Webhook,
    max_backoff: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Pass, StoreError> {
    let rows = store.read_now(|r| r.portal_deliverable(now, gateway::BATCH))?;
    let mut pass = Pass::default();
    for row in rows {
        let key = gateway::idempotency_key(&row.doc_id, "portal", &row.status.to_string());
        let span = tracing::info_span!("portal_record", id = row.id, status = row.status);
        let _entered = span.enter();
        match endpoint.deliver(row.record.as_bytes(), &key) {
            Ok(()) => {
                store.write(|w| w.mark_portal_delivered(row.id, now))?;
                tracing::debug!("portal record delivered");
                pass.delivered += 1;
            }
            Err(error) => {
                let wait = gateway::backoff(row.id, row.attempts.saturating_add(1), max_backoff);
                let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                tracing::warn!(%error, retry_at = %next, "portal record not delivered");
                store.write(|w| w.mark_portal_failed(row.id, &error, next))?;
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}
