//! The dossier page's own words (facts, actions, attachments).

crate::catalogue! {
    DossierMsg;
    Title => "Hồ sơ {code}", "Dossier {code}";
    Done => "Đã ghi: {what}.", "Recorded: {what}.";
    Uploaded => "Đã đính kèm tệp {name}.", "Attached {name}.";
    Facts => "Thông tin hồ sơ", "Facts";
    Components => "Thành phần hồ sơ", "Components";
    FeeNone => "Không thu phí", "No fee";
    TimeLimit => "Thời hạn giải quyết", "Time limit";
    Channel => "Hình thức nộp", "Submitted by";
    ResultBy => "Nhận kết quả", "Result by";
    LeftDays => "còn {days} ngày {h} giờ {m} phút làm việc", "{days} working days {h} h {m} min left";
    LeftHours => "còn {h} giờ {m} phút làm việc", "{h} h {m} min of working time left";
    Overdue => "quá hạn từ {due}", "overdue since {due}";
    Conflicts => "Sự kiện không được áp dụng (xung đột)", "Events not applied (conflicts)";
    ConflictsExplained => "Các sự kiện dưới đây được giữ lại nhưng không làm thay đổi hồ sơ: văn phòng ghi chúng không được phép làm việc đó vào lúc đó.", "The events below are kept but do not change the dossier: the office that wrote them was not allowed to do so then.";
    Flags => "Cảnh báo", "Warnings";
    Quarantined => "Hồ sơ này bị cách ly từ {since}: {problem}. Bản lưu được giữ nguyên, không gửi đi.", "This dossier is quarantined since {since}: {problem}. The stored copy is kept as it is and not sent on.";

    // ── Attachments ─────────────────────────────────────────────────────
    Attachments => "Tệp đính kèm", "Attachments";
    NoAttachments => "Chưa có tệp đính kèm.", "No attachments yet.";
    AttHere => "có trên nút này", "on this node";
    AttArriving => "đang nhận: {got} / {size} ({percent}%)", "arriving: {got} of {size} ({percent}%)";
    AttMissing => "chưa về nút này; sẽ đến ở lần đồng bộ tới với nút có tệp", "not on this node yet; it comes with the next sync with a node that holds it";
    AttDownload => "Tải về", "Download";
    AttUpload => "Đính kèm tệp", "Attach a file";
    AttComponent => "Thuộc thành phần", "Component";
    AttFile => "Tệp", "File";
    AttLimit => "Tối đa {size} mỗi tệp.", "At most {size} per file.";
    AttTooLarge => "Tệp lớn hơn giới hạn {limit} của nút này. Hãy quét lại với độ phân giải thấp hơn hoặc chia nhỏ tệp.", "The file is larger than this node's limit of {limit}. Scan it again at a lower resolution or split it.";
    AttNoFile => "Chưa chọn tệp nào (hoặc tệp rỗng). Hãy chọn tệp rồi gửi lại.", "No file was chosen (or it is empty). Choose a file and send again.";
    AttNotHere => "Tệp {name} chưa có đủ trên nút này ({got} / {size}). Hãy chờ đồng bộ xong.", "{name} is not complete on this node ({got} of {size}). Wait for the sync to finish.";
    AttUploadFailed => "Không nhận được tệp: {detail}. Hãy gửi lại.", "The file did not arrive: {detail}. Send it again.";
    Bytes => "{n} byte", "{n} bytes";

    // ── Printed forms ────────────────────────────────────────────────────
    Forms => "Biểu mẫu in", "Printed forms";
    FormsAll => "Tất cả biểu mẫu của hồ sơ", "All the dossier's forms";

    // ── Actions ──────────────────────────────────────────────────────────
    Actions => "Việc có thể làm", "What can be done";
    ActionsFor => "Với tư cách {office}", "As {office}";
    NothingAllowed => "Theo quy định, nút này hiện không có việc gì với hồ sơ (ngoài ghi chú).", "By the rules this node has nothing to do on the dossier now (notes aside).";
    OtherRole => "Cần vai trò khác: {list}", "Needs another role: {list}";
    Submit => "Ghi nhận", "Record";
    FieldTo => "Chuyển đến", "To office";
    FieldTask => "Nhiệm vụ", "Task";
    FieldDays => "Số ngày làm việc", "Working days";
    FieldDaysDefault => "để trống: theo quy trình", "empty: the route's";
    FieldReason => "Lý do", "Reason";
    FieldNote => "Ghi chú", "Note";
    FieldOutcome => "Kết quả thẩm định", "Appraisal outcome";
    FieldWhen => "Thời gian", "When";
    FieldPlace => "Địa điểm", "Place";
    FieldWho => "Người thực hiện", "Who";
    FieldQuestion => "Nội dung xin ý kiến", "Question";
    FieldConsultation => "Yêu cầu xin ý kiến", "Consultation";
    FieldAnswer => "Ý kiến trả lời", "Answer";
    FieldItems => "Giấy tờ cần bổ sung (mỗi dòng một mục)", "Missing items (one per line)";
    FieldAmount => "Số tiền (đồng)", "Amount (đồng)";
    FieldReceipt => "Số biên lai", "Receipt number";
    FieldNewDue => "Ngày hẹn mới", "New due time";
    FieldExtraDays => "hoặc thêm số ngày làm việc", "or extra working days";
    FieldResult => "Kết quả", "Result";
    FieldResultFile => "Tệp kết quả (đã đính kèm)", "Result file (attached)";
    FieldNone => "— không —", "— none —";
    FieldChannel => "Cách trả", "Handed over";
    FieldText => "Nội dung", "Text";
    NextStep => "bước tiếp theo của quy trình", "the route's next step";
    RouteGroup => "Theo quy trình", "On the route";
    AllOffices => "Các cơ quan khác", "Other offices";
    Missing => "Thiếu thông tin: {field}. Hãy điền rồi gửi lại.", "Missing: {field}. Fill it in and send again.";
    BadNumber => "{field} phải là một số nguyên không âm (nhận được: {value}).", "{field} must be a whole number, not negative (got: {value}).";
    BadTime => "{field}: không đọc được thời gian {value}. Hãy nhập dạng dd/mm/yyyy HH:MM.", "{field}: cannot read the time {value}. Enter it as dd/mm/yyyy HH:MM.";
    BadChoice => "{field}: lựa chọn không hợp lệ ({value}).", "{field}: not a valid choice ({value}).";
    UnknownAction => "Không có việc {value}.", "There is no action {value}.";
    Outcome => "Hợp lệ", "Eligible";
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::DossierMsg>().unwrap();
    }
}
