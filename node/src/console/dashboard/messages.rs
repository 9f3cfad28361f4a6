//! The dashboard's words (and the JSON API's error messages).

crate::catalogue! {
    DashMsg;
    Title => "Tổng hợp tình hình giải quyết hồ sơ", "Dossier processing overview";
    Scope => "Số liệu của mọi đơn vị có hồ sơ lưu tại nút này, tính đến {now}.", "Figures for every office whose dossiers this node holds, as of {now}.";
    PeriodAll => "Mọi thời gian", "All time";
    PeriodShown => "Hồ sơ tiếp nhận từ {from} đến {to}", "Dossiers received from {from} to {to}";
    PeriodFrom => "Từ ngày", "From";
    PeriodTo => "Đến ngày", "To";
    PeriodApply => "Lọc", "Filter";
    PeriodClear => "Bỏ lọc", "Clear";
    ExportCsv => "Tải về CSV", "Download CSV";
    BadDate => "Ngày «{value}» không hợp lệ: hãy dùng dạng năm-tháng-ngày, ví dụ 2026-03-02.", "The date “{value}” is not valid: use year-month-day, e.g. 2026-03-02.";
    BadPeriod => "Ngày bắt đầu ({from}) sau ngày kết thúc ({to}): hãy đổi lại.", "The start ({from}) is after the end ({to}): swap them.";

    // ── The tree's columns ──────────────────────────────────────────────
    ColOffice => "Đơn vị", "Office";
    ColReceived => "Tiếp nhận", "Received";
    ColInProgress => "Đang xử lý", "In progress";
    ColSupplement => "Chờ bổ sung", "Awaiting supplement";
    ColResolved => "Có kết quả", "Resolved";
    ColReturned => "Đã trả", "Returned";
    ColRefused => "Từ chối", "Refused";
    ColStopped => "Dừng xử lý", "Stopped";
    ColEarly => "Sớm hạn", "Early";
    ColOnTime => "Đúng hạn", "On time";
    ColLate => "Trễ hạn", "Late";
    ColOverdue => "Quá hạn", "Overdue";
    ColOnTimeShare => "Tỷ lệ đúng hạn", "On time share";
    ColFresh => "Dữ liệu nhận lúc", "Data arrived";
    Total => "Toàn bộ", "All offices";
    OwnDesk => "Tại bộ phận một cửa của đơn vị", "At the office's own desk";
    Unknown => "(không có trong sơ đồ đơn vị của nút này)", "(not in this node's office tree)";
    FreshHere => "tại nút này", "on this node";
    FreshNever => "chưa nhận", "none yet";
    Timeliness => "Đúng hạn theo D6: hồ sơ hoàn thành trong ngày hẹn trả, ở bất kỳ giờ nào, là đúng hạn.", "Timeliness by D6: a dossier finished on its due day, at any hour, is on time.";

    // ── Overdue ─────────────────────────────────────────────────────────
    OverdueTitle => "Hồ sơ quá hạn", "Overdue dossiers";
    OverdueNone => "Không có hồ sơ quá hạn.", "No dossier is overdue.";
    OverdueShown => "Hiển thị {shown} trên {total} hồ sơ quá hạn, trễ nhiều nhất trước.", "Showing {shown} of {total} overdue dossiers, the latest first.";
    ColCode => "Mã hồ sơ", "Code";
    ColProcedure => "Thủ tục", "Procedure";
    ColOrigin => "Nơi tiếp nhận", "Received at";
    ColHolder => "Đang ở", "Held by";
    ColDue => "Hẹn trả", "Due";
    ColLateBy => "Quá hạn", "Late by";
    LateBy => "{days} ngày {hours} giờ", "{days} d {hours} h";

    // ── Charts ──────────────────────────────────────────────────────────
    ChartLocalities => "Tiếp nhận và hoàn thành theo địa bàn", "Received and finished per locality";
    ChartWeeks => "Tiếp nhận và hoàn thành theo tuần (12 tuần gần nhất)", "Received and finished per week (last 12 weeks)";
    LegendReceived => "Tiếp nhận", "Received";
    LegendFinished => "Hoàn thành", "Finished";
    WeekOf => "Tuần từ {date}", "Week of {date}";
    ChartEmpty => "Chưa có số liệu để vẽ.", "Nothing to draw yet.";

    // ── The JSON API's errors ───────────────────────────────────────────
    ApiNoToken => "Thiếu mã truy cập: gửi tiêu đề Authorization: Bearer <mã> do quản trị viên cấp (lienthong api-token add).", "No access token: send the header Authorization: Bearer <token> that an administrator issued (lienthong api-token add).";
    ApiBadToken => "Mã truy cập không đúng hoặc đã bị thu hồi: xin quản trị viên cấp mã mới.", "The access token is wrong or revoked: ask an administrator for a new one.";
    ApiRole => "Mã truy cập «{name}» có vai trò {role}, không được làm việc này: {what}.", "The token “{name}” has the role {role}, which may not do this: {what}.";
    ApiBadRequest => "Yêu cầu không hợp lệ: {detail}", "The request is not valid: {detail}";
    ApiTooLarge => "Nội dung yêu cầu quá lớn (tối đa {max} byte).", "The request body is too large (at most {max} bytes).";
    ApiNotFound => "Không có địa chỉ API này: xem docs/api.md.", "There is no such API address: see docs/api.md.";
    ApiInternal => "Lỗi của hệ thống: {detail}. Hãy báo quản trị viên.", "A system error: {detail}. Tell the administrator.";
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::DashMsg>().unwrap();
    }
}
