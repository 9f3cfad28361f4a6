//! The national portal export (issue 10, `docs/portal.md`): a dossier's
//! status in the terms of the national public-service portal (Cổng Dịch vụ
//! công quốc gia): the status code 1–10 (`Status::code`, RULES.md), the
//! dossier code, the agency codes (mã định danh) from the office tree, and
//! the dates as local `yyyyMMddHHmmss`, with the field names of the
//! portal's `DongBoHoSoMC` service as public one-stop systems send them.
//! Pure: index row, tree, zone → record.
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

/// One record of the export: a dossier in the terms of the portal's
/// `DongBoHoSoMC` service ("đồng bộ hồ sơ một cửa"), as public one-stop
/// systems send it (docs/portal.md cites them): the same field names, the
/// status code as a string, dates as local `yyyyMMddHHmmss`, empty when
/// not known. The two agency codes are this project's addition (the
/// portal's service carries the sender's code once, in the envelope:
/// [`Envelope::madonvi`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortalRecord {
    /// Mã hồ sơ.
    #[serde(rename = "MaHoSo")]
    pub ma_ho_so: String,
    /// Mã thủ tục hành chính (the national procedure code).
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    /// Tên thủ tục hành chính.
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    /// Chủ hồ sơ (the applicant).
    #[serde(rename = "ChuHoSo")]
    pub chu_ho_so: String,
    /// Ngày tiếp nhận.
    #[serde(rename = "NgayTiepNhan")]
    pub ngay_tiep_nhan: String,
    /// Ngày hẹn trả (the due time in force).
    #[serde(rename = "NgayHenTra")]
    pub ngay_hen_tra: String,
    /// Trạng thái hồ sơ, 1–10, written as a string as the portal's clients do.
    #[serde(rename = "TrangThaiHoSo", serialize_with = "as_text")]
    pub trang_thai_ho_so: u8,
    /// Ngày trả (the result handed to the applicant).
    #[serde(rename = "NgayTra")]
    pub ngay_tra: String,
    /// Ngày kết thúc xử lý (resolved, refused or stopped).
    #[serde(rename = "NgayKetThucXuLy")]
    pub ngay_ket_thuc_xu_ly: String,
    /// Đơn vị xử lý: the name of the office holding the dossier, empty if none.
    #[serde(rename = "DonViXuLy")]
    pub don_vi_xu_ly: String,
    /// Mã đơn vị tiếp nhận: the receiving office's agency code (mã định danh).
    #[serde(rename = "MaDonViTiepNhan")]
    pub ma_don_vi_tiep_nhan: String,
    /// Mã đơn vị xử lý: the holder's agency code, empty if none.
    #[serde(rename = "MaDonViXuLy")]
    pub ma_don_vi_xu_ly: String,
}

fn as_text<S: serde::Serializer>(code: &u8, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(code)
}

/// What one delivery POSTs: the `DongBoHoSoMC` request as the public
/// one-stop systems build it — the service name, `isUpdating` (`"False"` the
/// first time a dossier is sent, `"True"` after), the sending unit's agency
/// code and the records. The portal's session token is added by the
/// province's adapter or proxy, not here (docs/portal.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope<'a> {
    pub service: &'static str,
    #[serde(rename = "isUpdating")]
    pub is_updating: &'static str,
    pub madonvi: &'a str,
    pub data: [&'a PortalRecord; 1],
}

/// The portal's service for creating and updating a dossier.
pub const SERVICE: &str = "DongBoHoSoMC";

impl<'a> Envelope<'a> {
    /// The request carrying `record`; `updating`: the portal has had the dossier before.
    pub fn new(record: &'a PortalRecord, updating: bool) -> Self {
        Envelope {
            service: SERVICE,
            is_updating: if updating { "True" } else { "False" },
            madonvi: &record.ma_don_vi_tiep_nhan,
            data: [record],
        }
    }
}

/// A time as the portal writes it: local `yyyyMMddHHmmss`; empty for none.
pub fn portal_time(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

fn office_of<'t>(
    tree: &'t OfficeTree,
    office: Option<&str>,
) -> Option<&'t lienthong_shared::offices::Office> {
    office
        .and_then(|o| o.parse::<OfficeId>().ok())
        .and_then(|id| tree.resolve(&id))
}

fn agency(tree: &OfficeTree, office: Option<&str>) -> String {
    office_of(tree, office)
        .map(|o| o.agency_code.clone())
        .unwrap_or_default()
}

/// The record of an indexed dossier; `None` before its first status.
pub fn record(row: &IndexRow, tree: &OfficeTree, tz: Tz) -> Option<PortalRecord> {
    let status = row.status?;
    Some(PortalRecord {
        ma_ho_so: row.code.clone(),
        ma_tthc: row.procedure_code.clone(),
        ten_tthc: row.procedure_name.clone(),
        chu_ho_so: row.applicant.clone(),
        ngay_tiep_nhan: portal_time(row.received_at, tz),
        ngay_hen_tra: portal_time(row.due_at, tz),
        trang_thai_ho_so: status.code(),
        ngay_tra: portal_time(row.returned_at, tz),
        ngay_ket_thuc_xu_ly: portal_time(row.ended_at, tz),
        don_vi_xu_ly: office_of(tree, row.holder.as_deref())
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        ma_don_vi_tiep_nhan: agency(tree, Some(&row.origin)),
        ma_don_vi_xu_ly: agency(tree, row.holder.as_deref()),
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
            // The portal has had the dossier if an earlier status was queued.
            let updating = w.reader().portal_has_dossier(&row.key)?;
            let json = serde_json::to_string(&Envelope::new(&record, updating))
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
