//! The national portal export (issue 10, `docs/portal.md`): a dossier's
//! status in the terms of the national public-service portal (Cổng Dịch vụ
//! công quốc gia): the status code 1–10 (`Status::code`, RULES.md), the
//! dossier code, the agency codes (mã định danh) from the office tree, and
//! the dates as local `yyyyMMddHHmmss`. Pure: index row, tree, zone → record.
//!
//! What is built: `lienthong export --format portal --from … --to …`, one
//! record per dossier received, ended or returned in the period, with its
//! status at the time of the export. Not built yet: the province's export
//! queue delivered to `[portal] endpoint` (see docs/portal.md).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lienthong_shared::OfficeId;
use lienthong_shared::offices::OfficeTree;
use serde::Serialize;

use crate::store::index::IndexRow;
use crate::store::{Reader, StoreError};

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
