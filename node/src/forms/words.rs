//! The words printed on the forms (Vietnamese: they are official
//! documents; the English beside each is its translation, for reviewers
//! and for the page chrome around a form), and the words of the forms'
//! refusals.

crate::catalogue! {
    FormMsg;
    // ── Titles (Phụ lục of each circular) ────────────────────────────────
    TitleReceipt => "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Receipt of the dossier and appointment for the result";
    TitleSupplement => "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Request to supplement and complete the dossier";
    TitleRefusal => "Phiếu từ chối tiếp nhận giải quyết hồ sơ", "Refusal to accept the dossier for processing";
    TitleApology2018 => "Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Apology and new date for the result";
    TitleApology2025 => "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết", "Apology and request to extend the processing time";
    TitleStopNotice => "Thông báo dừng giải quyết hồ sơ", "Notice that processing of the dossier stopped";
    TitleControlSheet => "Phiếu kiểm soát quá trình giải quyết hồ sơ", "Control sheet of the dossier's processing";
    TitleRegister => "Sổ theo dõi hồ sơ", "Register of dossiers";
    FormNumber => "Mẫu số {n}", "Form {n}";
    Circular2018 => "Thông tư 01/2018/TT-VPCP", "Circular 01/2018/TT-VPCP";
    Circular2025 => "Thông tư 03/2025/TT-VPCP", "Circular 03/2025/TT-VPCP";

    // ── Header ───────────────────────────────────────────────────────────
    NationalTitle => "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM";
    NationalMotto => "Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness";
    Number => "Số: {number}", "No.: {number}";
    NumberBlank => "……………", "……………";
    PlaceDate => "{place}, ngày {day} tháng {month} năm {year}", "{place}, {day}/{month}/{year}";
    DueWords => "{hour} giờ {minute} phút, ngày {date}", "{hour}:{minute}, {date}";
    SignHint => "(Ký và ghi rõ họ tên)", "(Signature and full name)";
    SignHintSeal => "(Ký, ghi rõ họ tên và đóng dấu)", "(Signature, full name and seal)";
    SignApplicant => "NGƯỜI NỘP HỒ SƠ", "APPLICANT";
    SignReceiver => "NGƯỜI TIẾP NHẬN HỒ SƠ", "OFFICER RECEIVING";
    SignGuide => "NGƯỜI HƯỚNG DẪN", "OFFICER GUIDING";
    SignHead => "THỦ TRƯỞNG CƠ QUAN", "HEAD OF THE OFFICE";
    SignMaker => "NGƯỜI LẬP", "PREPARED BY";
    PrintedBy => "In lúc {time} bởi {officer}.", "Printed at {time} by {officer}.";
    PrintedAt => "In lúc {time}.", "Printed at {time}.";
    PrintButton => "In", "Print";
    BackToDossier => "Về hồ sơ", "Back to the dossier";

    // ── Common lines ─────────────────────────────────────────────────────
    Code => "Mã hồ sơ: {code}", "Dossier code: {code}";
    ApplicantOrg => "Tổ chức: {organisation}", "Organisation: {organisation}";
    IdNumber => "Số định danh cá nhân: {id}", "Personal ID number: {id}";
    Address => "Địa chỉ: {address}", "Address: {address}";
    Contact => "Số điện thoại: {phone}   Email: {email}", "Phone: {phone}   Email: {email}";
    Request => "Nội dung yêu cầu giải quyết: {procedure}", "Request: {procedure}";
    ThankYou => "Xin trân trọng cảm ơn!", "Thank you.";
    Dash => "—", "—";

    // ── Mẫu 01 ───────────────────────────────────────────────────────────
    ReceiptDesk => "Bộ phận Một cửa {office}", "One-stop desk of {office}";
    ReceivedFrom => "{desk} tiếp nhận hồ sơ của: {name}", "{desk} received the dossier of: {name}";
    ComponentsHeading => "1. Thành phần hồ sơ nộp gồm:", "1. Components handed in:";
    ComponentNo => "STT", "No.";
    ComponentName => "Tên giấy tờ", "Document";
    ComponentCopies => "Số lượng (bản)", "Copies";
    DossierCount => "2. Số lượng hồ sơ: 01 (bộ)", "2. Number of dossiers: 01 (set)";
    ProcessingTime => "3. Thời gian giải quyết hồ sơ theo quy định là: {days}", "3. Processing time set by the rules: {days}";
    SameDay => "trong ngày (nhận trước {cutoff})", "the same day (received before {cutoff})";
    ReceivedAt => "4. Thời gian nhận hồ sơ: {time}", "4. Received at: {time}";
    DueAt => "5. Thời gian trả kết quả giải quyết hồ sơ: {time}", "5. Result due at: {time}";
    DueChanged => "Thời gian trả kết quả hiện nay (đã điều chỉnh): {time}", "Result now due at (changed since): {time}";
    DueUnknown => "chưa xác định được", "not yet known";
    CollectAt => "6. Đăng ký nhận kết quả tại: {place}", "6. Result to be collected at: {place}";
    CollectPostal => "qua dịch vụ bưu chính công ích, gửi đến: {address}", "by the public postal service, to: {address}";
    CollectOnline => "trực tuyến, trên Cổng Dịch vụ công", "online, on the public service portal";
    Fee => "7. Phí, lệ phí: {fee}", "7. Fees and charges: {fee}";
    RegisterBook => "Vào Sổ theo dõi hồ sơ, Quyển số: ……  Số thứ tự: ……", "Entered in the register, book no.: ……  entry no.: ……";
    QrCaption => "Quét mã để tra cứu hồ sơ", "Scan to look the dossier up";

    // ── Mẫu 02, 03, 04, 05 (2025) ────────────────────────────────────────
    ReceivedOn => "Ngày {date}, {office} tiếp nhận hồ sơ của: {name}", "On {date}, {office} received the dossier of: {name}";
    SupplementAsk => "Sau khi xem xét thành phần hồ sơ, đề nghị ông/bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:", "Having examined the dossier, we ask you to supplement and complete it with:";
    Reason => "Lý do: {reason}", "Reason: {reason}";
    SupplementHelp => "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ với {officer} ({office}) để được hướng dẫn.", "If anything is unclear while completing the dossier, ask {officer} ({office}) for guidance.";
    RefusalText => "Qua xem xét, {office} thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:", "Having examined it, {office} does not accept this dossier for processing, for this reason:";
    RefusalClose => "Xin thông báo để ông/bà được biết và thực hiện.", "We inform you accordingly.";
    ApologyDue => "Thời hạn trả kết quả giải quyết hồ sơ: {time}.", "Result due at: {time}.";
    ApologyLate => "Tuy nhiên đến nay, {office} chưa trả được kết quả giải quyết hồ sơ của ông/bà.", "However, {office} has not yet been able to return the result of your dossier.";
    ApologySorry => "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của ông/bà. {office} xin lỗi ông/bà và sẽ trả kết quả giải quyết hồ sơ cho ông/bà vào: {time}.", "This delay has cost you time, money and effort. {office} apologises and will return the result of your dossier at: {time}.";
    ApologyExtend => "{office} xin lỗi ông/bà về sự chậm trễ này và đề nghị gia hạn thời gian giải quyết hồ sơ đến: {time}.", "{office} apologises for this delay and asks to extend the processing time until: {time}.";
    StopText => "{office} thông báo dừng giải quyết hồ sơ nêu trên kể từ {time}.", "{office} gives notice that processing of the dossier above stopped at {time}.";

    // ── Mẫu 05/06 (control sheet) and 06/07 (register) ──────────────────
    ProcedureLine => "Tên thủ tục hành chính: {procedure}", "Procedure: {procedure}";
    LeadOffice => "Cơ quan chủ trì giải quyết: {office}", "Office deciding: {office}";
    OtherOffices => "Cơ quan phối hợp giải quyết: {offices}", "Offices taking part: {offices}";
    ColOffice => "Tên cơ quan", "Office";
    ColTime => "Thời gian giao, nhận hồ sơ", "Time of handing over, receiving";
    ColWhat => "Nội dung", "What was done";
    ColOfficer => "Người thực hiện", "Officer";
    ColNote => "Ghi chú", "Note";
    WrittenByNode => "Nút ghi (đã xác minh): {node}", "Written by node (verified): {node}";
    WrittenByNobody => "Nút ghi: {why}", "Written by node: {why}";
    HandOver => "Giao hồ sơ cho {office}", "Handed to {office}";
    Outcome => "Kết quả giải quyết hồ sơ: {outcome}", "Outcome: {outcome}";
    OutcomePending => "Kết quả giải quyết hồ sơ: đang giải quyết (hạn {time})", "Outcome: in progress (due {time})";
    Period => "Từ ngày {from} đến ngày {to}", "From {from} to {to}";
    RegCode => "Mã hồ sơ", "Code";
    RegProcedure => "Tên thủ tục hành chính", "Procedure";
    RegApplicant => "Tên tổ chức, cá nhân", "Applicant";
    RegReceived => "Nhận hồ sơ", "Received";
    RegDue => "Hẹn trả kết quả", "Due";
    RegHolder => "Đang ở", "Held by";
    RegReturned => "Trả kết quả", "Returned";
    RegStatus => "Tình trạng", "Status";
    RegSign => "Ký nhận", "Signed for";
    RegDate => "Ngày, tháng, năm", "Dates";
    RegEmpty => "Không có hồ sơ nào được tiếp nhận trong khoảng thời gian này.", "No dossier was received in this period.";
    RegTruncated => "Chỉ in {shown} hồ sơ đầu tiên; hãy chọn khoảng thời gian ngắn hơn để in đủ.", "Only the first {shown} dossiers are printed; choose a shorter period to print them all.";

    // ── Refusals ─────────────────────────────────────────────────────────
    ErrUnknownRuleSet => "Hồ sơ theo bộ quy tắc \"{rules}\" mà phiên bản này không biết biểu mẫu của nó. Hãy cập nhật phần mềm.", "The dossier follows rule set \"{rules}\", whose forms this version does not know. Update the software.";
    ErrUnknownForm => "Không có biểu mẫu \"{form}\" theo {circular}. Các biểu mẫu: {known}.", "There is no form \"{form}\" under {circular}. The forms are: {known}.";
    ErrNotReceived => "Hồ sơ {code} chưa được tiếp nhận (hoặc đã bị từ chối tiếp nhận), nên chưa có {title}.", "Dossier {code} has not been received (or was refused at intake), so there is no {title} for it.";
    ErrNoSupplement => "Hồ sơ {code} chưa có yêu cầu bổ sung nào, nên chưa có {title}. Ghi yêu cầu bổ sung trước, rồi in.", "Dossier {code} has no supplement request, so there is no {title}. Record the request first, then print.";
    ErrNoRefusal => "Hồ sơ {code} không bị từ chối tiếp nhận, nên không có {title}.", "Dossier {code} was not refused, so there is no {title}.";
    ErrNoApology => "Hồ sơ {code} chưa có văn bản xin lỗi được chấp nhận, nên chưa có {title}.", "Dossier {code} has no accepted apology, so there is no {title}.";
    ErrNotStopped => "Hồ sơ {code} không bị dừng giải quyết, nên không có {title}.", "Processing of dossier {code} has not stopped, so there is no {title}.";
    ErrRegisterPerOffice => "{title} là sổ của cả cơ quan, không của một hồ sơ: mở /register để in sổ cho một khoảng thời gian.", "The {title} covers the whole office, not one dossier: open /register to print it for a period.";
    ErrBadDate => "Ngày \"{date}\" không hợp lệ: hãy ghi theo dạng dd/mm/yyyy hoặc yyyy-mm-dd.", "The date \"{date}\" is not valid: write it as dd/mm/yyyy or yyyy-mm-dd.";
    ErrPeriod => "Khoảng thời gian không hợp lệ: ngày bắt đầu {from} sau ngày kết thúc {to}.", "The period is not valid: it starts on {from}, after its end on {to}.";
    ErrQr => "Không tạo được mã QR cho mã hồ sơ {code}: {detail}", "The QR code of dossier code {code} could not be made: {detail}";
    ErrNoBrowser => "Máy này chưa cài trình duyệt Chromium nên không xuất được PDF. Hãy mở biểu mẫu rồi bấm \"In\" và chọn \"Lưu dưới dạng PDF\" trong trình duyệt.", "No Chromium browser is installed on this machine, so no PDF can be made. Open the form, press \"Print\" and choose \"Save as PDF\" in the browser.";
    ErrPdf => "Không xuất được PDF: {detail}. Hãy in từ trình duyệt.", "The PDF could not be made: {detail}. Print from the browser instead.";

    // ── The console's index of forms ────────────────────────────────────
    IndexTitle => "Biểu mẫu của hồ sơ {code}", "Forms of dossier {code}";
    IndexRules => "Theo {circular}", "Under {circular}";
    IndexPdf => "PDF", "PDF";
    IndexRegister => "Mở sổ theo dõi hồ sơ", "Open the register";
    RegisterTitle => "Sổ theo dõi hồ sơ", "Register of dossiers";
    RegisterFrom => "Từ ngày", "From";
    RegisterTo => "Đến ngày", "To";
    RegisterShow => "Xem sổ", "Show the register";
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::FormMsg>().unwrap();
    }
}
