//! The message catalogue: every word an officer reads, Vietnamese first,
//! English beside it. A message is a key; `{name}` marks a value filled in
//! when the message is used (`Locale::f`). The compiler checks every key
//! used exists and has both languages; a test checks both languages name
//! the same values.

/// Declare a message enum: `catalogue! { Name; Key => "vi", "en"; … }`.
/// The main catalogue is [`Msg`]; a part of the node with many words of
/// its own (the console's pages, the printed forms) declares its own enum
/// with this macro in its own file, and [`Locale`](super::Locale) reads
/// any of them through [`Message`].
#[macro_export]
macro_rules! catalogue {
    ($name:ident; $( $(#[$doc:meta])* $key:ident => $vi:literal, $en:literal; )*) => {
        /// Messages of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$doc])* $key, )*
        }

        impl $name {
            /// Every message, for the catalogue's own checks.
            pub const ALL: &'static [$name] = &[$($name::$key),*];

            /// The message's text in `lang`, placeholders unfilled.
            pub fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                match (self, lang) {
                    $( ($name::$key, $crate::i18n::Lang::Vi) => $vi, ($name::$key, $crate::i18n::Lang::En) => $en, )*
                }
            }
        }

        impl $crate::i18n::Message for $name {
            fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                $name::text(self, lang)
            }

            fn all() -> &'static [Self] {
                $name::ALL
            }
        }
    };
}

catalogue! {
    Msg;
    // ── Statuses (national portal codes 1–10) ────────────────────────────
    StatusSubmitted => "Mới nộp", "submitted";
    StatusReceived => "Đã tiếp nhận", "received";
    StatusRefused => "Từ chối tiếp nhận", "refused";
    StatusProcessing => "Đang xử lý", "processing";
    StatusAwaitingSupplement => "Chờ bổ sung", "awaiting supplement";
    StatusAwaitingPayment => "Chờ thực hiện nghĩa vụ tài chính", "awaiting payment";
    StatusWithdrawalRequested => "Xin rút hồ sơ", "withdrawal requested";
    StatusStopped => "Dừng xử lý", "stopped";
    StatusResolved => "Đã có kết quả", "resolved";
    StatusReturned => "Đã trả kết quả", "returned";
    StatusNone => "Chưa tiếp nhận", "not yet received";

    // ── Timeliness (D6) ──────────────────────────────────────────────────
    TimelinessEarly => "Sớm hạn", "early";
    TimelinessOnTime => "Đúng hạn", "on time";
    TimelinessLate => "Trễ hạn", "late";
    TimelinessOverdue => "Quá hạn", "overdue";

    // ── Channels, outcomes ───────────────────────────────────────────────
    ChannelDirect => "trực tiếp", "in person";
    ChannelPostal => "qua bưu chính", "by post";
    ChannelOnline => "trực tuyến", "online";
    OutcomeOk => "hợp lệ", "in order";
    OutcomeNeedsSupplement => "cần bổ sung", "needs a supplement";
    OutcomeNotEligible => "không đủ điều kiện", "not eligible";

    // ── What an officer can do (buttons, command names in prose) ─────────
    KindSubmitted => "Nộp hồ sơ", "submit";
    KindReceived => "Tiếp nhận", "receive";
    KindRefused => "Từ chối tiếp nhận", "refuse";
    KindForwarded => "Chuyển xử lý", "forward";
    KindForwardCancelled => "Thu hồi hồ sơ đã chuyển", "cancel the transfer";
    KindAccepted => "Nhận hồ sơ", "accept";
    KindAppraised => "Thẩm định", "appraise";
    KindVerificationScheduled => "Hẹn thẩm tra, xác minh", "schedule a verification";
    KindConsulted => "Lấy ý kiến", "consult";
    KindConsultationAnswered => "Trả lời xin ý kiến", "answer the consultation";
    KindSupplementRequested => "Yêu cầu bổ sung", "request a supplement";
    KindSupplementReceived => "Nhận hồ sơ bổ sung", "record the supplement";
    KindPaymentRequested => "Yêu cầu nộp phí, lệ phí", "request payment";
    KindPaid => "Xác nhận đã nộp", "record the payment";
    KindApologized => "Xin lỗi, hẹn lại ngày trả", "apologise";
    KindWithdrawalRequested => "Xin rút hồ sơ", "withdraw";
    KindStopped => "Dừng xử lý", "stop";
    KindApproved => "Phê duyệt", "approve";
    KindResultIssued => "Ban hành kết quả", "issue the result";
    KindReturned => "Trả kết quả", "return the result";
    KindNote => "Ghi chú", "add a note";
    KindUnknown => "Không rõ", "unknown";

    // ── Timeline lines ───────────────────────────────────────────────────
    EvSubmitted => "Nộp hồ sơ trực tuyến hoặc qua bưu chính", "submitted online or by post";
    EvReceived => "Tiếp nhận hồ sơ (Mẫu 01)", "received at the desk (Form 01)";
    EvRefused => "Từ chối tiếp nhận (Mẫu 03): {reason}", "refused at intake (Form 03): {reason}";
    EvForwarded => "Chuyển {to} xử lý: {task} ({days})", "forwarded to {to}: {task} ({days})";
    EvForwardCancelled => "Thu hồi hồ sơ đã chuyển: {reason}", "transfer cancelled: {reason}";
    EvAccepted => "Nhận hồ sơ để xử lý", "transfer accepted";
    EvAppraised => "Thẩm định: {outcome}{note}", "appraised: {outcome}{note}";
    EvVerificationScheduled => "Hẹn thẩm tra, xác minh lúc {when} tại {place}{who}", "verification scheduled {when} at {place}{who}";
    EvConsulted => "Lấy ý kiến {to} (hạn trả lời {deadline}): {question}", "consulted {to} (answer by {deadline}): {question}";
    EvConsultationAnswered => "Trả lời xin ý kiến: {answer}", "consultation answered: {answer}";
    EvSupplementRequested => "Yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02): {items} — {reason}", "supplement requested (Form 02): {items} — {reason}";
    EvSupplementReceived => "Nhận hồ sơ bổ sung{note}", "supplement received{note}";
    EvPaymentRequested => "Yêu cầu nộp {amount}{note}", "payment requested: {amount}{note}";
    EvPaid => "Đã nộp {amount}{receipt}", "paid {amount}{receipt}";
    EvApologized => "Xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04): hẹn mới {new_due} — {reason}", "apology (Form 04), new due {new_due}: {reason}";
    EvWithdrawalRequested => "Người nộp xin rút hồ sơ{reason}", "withdrawal requested{reason}";
    EvStopped => "Dừng xử lý: {reason}", "processing stopped: {reason}";
    EvApproved => "Phê duyệt{note}", "approved{note}";
    EvResultIssued => "Ban hành kết quả: {result} — trả tại {return_office}", "result issued: {result} — returned at {return_office}";
    EvReturned => "Trả kết quả cho người nộp ({channel})", "result returned ({channel})";
    EvNote => "Ghi chú: {text}", "note: {text}";
    EvUnknown => "Sự kiện loại `{name}` không rõ", "unknown event kind `{name}`";

    // ── Quantities ───────────────────────────────────────────────────────
    WorkingDaysOne => "{n} ngày làm việc", "{n} working day";
    WorkingDaysMany => "{n} ngày làm việc", "{n} working days";
    SameDay => "trong ngày, nhận trước {cutoff}", "same day, received before {cutoff}";
    NoProcessingTime => "không có thời hạn giải quyết", "no processing time";

    // ── Why an action is refused (the fold's conflict reasons) ───────────
    WhyNotHolder => "chỉ cơ quan đang giữ hồ sơ ({holder}) được làm việc này", "only the holder ({holder}) may do this";
    WhyNobodyHolds => "chưa có cơ quan nào giữ hồ sơ", "nobody holds this dossier yet";
    WhyNotOrigin => "chỉ bộ phận một cửa nơi tiếp nhận ({origin}) được làm việc này", "only the receiving office's desk ({origin}) may do this";
    WhyNotInStatus => "không được làm khi hồ sơ {status}; chỉ được khi hồ sơ {allowed}", "not allowed while the dossier is {status}; allowed only when {allowed}";
    WhyNew => "mới", "it is new";
    WhyNewOrSubmitted => "mới hoặc mới nộp", "it is new or submitted";
    WhyFinal => "hồ sơ đã kết thúc ({status}): chỉ được thêm ghi chú", "the dossier is {status}, a final status: only notes may be added";
    WhyInTransfer => "hồ sơ đang chuyển đến {to}: không ai được xử lý cho đến khi {to} nhận (hoặc bên chuyển thu hồi)", "the dossier is in transfer to {to}: nobody may process it until {to} accepts (or the sender cancels)";
    WhyNotInTransfer => "hồ sơ không đang được chuyển", "the dossier is not in transfer";
    WhyNotRecipient => "chỉ {to}, nơi được chuyển đến, được nhận hồ sơ", "only {to}, the office it was forwarded to, may accept it";
    WhyNotSender => "chỉ {from}, bên đã chuyển, được thu hồi", "only {from}, the sender, may cancel the transfer";
    WhyAlreadyApologized => "hồ sơ đã có Phiếu xin lỗi (Mẫu 04); mỗi hồ sơ chỉ một lần (D4)", "an apology (Form 04) was already issued; at most one per dossier (D4)";
    WhyApologyAfterDue => "đã quá hạn trả kết quả {due}; phiếu xin lỗi phải ban hành trước hạn (D4)", "the due time {due} has passed; an apology must be issued before it (D4)";
    WhyApologyNotLater => "ngày hẹn mới phải sau ngày hẹn hiện tại ({due})", "the new due time must be after the current one ({due})";
    WhyNoDueTime => "hồ sơ chưa có ngày hẹn trả", "the dossier has no due time";
    WhyNotApproved => "kết quả phải được phê duyệt trước khi ban hành", "the decision must be approved by the holder before the result is issued";
    WhyUnknownConsultation => "hồ sơ không có yêu cầu lấy ý kiến {consultation}", "no consultation {consultation} in this dossier";
    WhyNoOpenConsultation => "không có yêu cầu lấy ý kiến nào đang chờ trả lời", "no consultation is waiting for an answer on this dossier";
    WhyConsultationClosed => "yêu cầu lấy ý kiến {consultation} đã được trả lời", "consultation {consultation} was already answered";
    WhyNotConsulted => "chỉ cơ quan được lấy ý kiến ({to}) được trả lời", "only the consulted office ({to}) may answer";
    WhyNotReturnOffice => "kết quả được trả tại bộ phận một cửa của {return_office} (R1/R2)", "the result is returned by {return_office}'s desk (R1/R2)";
    WhyDuplicate => "một sự kiện trước đó có cùng mã", "an earlier event has the same id";
    WhyUnknownKind => "sự kiện loại `{name}` không rõ (do phiên bản mới hơn ghi?): được giữ nhưng không áp dụng", "unknown event kind `{name}` (written by a newer version?); kept but not applied";
    WhyMalformed => "sự kiện không đọc được: {problem}", "unreadable event: {problem}";

    // ── Refusals and other errors of officer commands ────────────────────
    Refused => "Không thực hiện được «{action}»: {reason}. Hồ sơ {code} {status}{holder}{allowed}", "`{action}` refused: {reason}. The dossier {code} is {status}{holder}{allowed}";
    InTransferTo => "{status} (đang chuyển đến {to})", "{status} (in transfer to {to})";
    HeldBy => ", do {holder} giữ", ", held by {holder}";
    AllowedNow => "; tại đây hiện được: {list}", "; allowed here now: {list}";
    OnlyNotes => "; nơi này hiện chỉ được thêm ghi chú", "; this node may only add notes to it now";
    ErrUnknownDossier => "không có hồ sơ «{query}» tại nơi này; kiểm tra lại mã hồ sơ (lienthong list liệt kê hồ sơ tại đây)", "no dossier `{query}` on this node; check the code (lienthong list shows the dossiers here)";
    ErrAmbiguousDossier => "«{query}» khớp nhiều hồ sơ ({matches}); hãy dùng mã đầy đủ", "`{query}` matches several dossiers ({matches}); use the full id";
    ErrUnknownProcedure => "không có thủ tục «{code}»; {hint}", "unknown procedure `{code}`; {hint}";
    ErrUnknownOffice => "cơ quan {office} không có trong sơ đồ cơ quan của mạng", "office {office} is not in this network's office tree";
    ErrNotServedHere => "nút này phục vụ {served}; không thể làm thay {office}", "this node serves {served}; it cannot act as {office}";
    ErrNoNextStep => "hồ sơ {code} không còn bước nào sau {holder} trên quy trình; chỉ rõ nơi chuyển đến bằng --to OFFICE", "{code} has no further step on its route after {holder}; say where with --to OFFICE";
    ErrNoOpenConsultation => "hồ sơ {code} không có yêu cầu lấy ý kiến nào gửi nơi này", "{code} has no open consultation addressed to this node";
    ErrSeveralConsultations => "hồ sơ {code} có {n} yêu cầu lấy ý kiến gửi nơi này; chọn một bằng --consultation ({ids})", "{code} has {n} open consultations for this node; choose one with --consultation ({ids})";
    ErrNoDueTime => "hồ sơ {code} chưa có ngày hẹn trả để dời", "{code} has no due time to move";
    ErrUnknownAttachment => "hồ sơ không có tệp đính kèm {hash}; đính kèm trước bằng `lienthong attach`", "no attachment {hash} in this dossier; add it first with `lienthong attach`";
    ErrKeptChanging => "hồ sơ liên tục thay đổi trong khi lệnh chạy (đang nhận thay đổi từ nơi khác); hãy chạy lại", "the dossier kept changing while this command ran (changes arriving from peers); run it again";

    // ── Flags ────────────────────────────────────────────────────────────
    FlagSupplementRequestLate => "Yêu cầu bổ sung gửi muộn hơn quy định sau khi tiếp nhận (D3)", "the supplement request went out later than allowed after receipt (D3)";
    FlagRepeatedSupplement => "Yêu cầu bổ sung nhiều lần: hồ sơ tính là trễ hạn (D3)", "more than one supplement request: the dossier counts as late (D3)";
    FlagApologyLate => "Phiếu xin lỗi ban hành chưa đủ một ngày làm việc trước hạn (D4)", "the apology went out less than a working day before the due time (D4)";
    FlagApologyMissing => "Quá hạn mà chưa có Phiếu xin lỗi (D4)", "overdue with no apology issued (D4)";
    FlagDueSoon => "Sắp đến hạn: nếu sẽ trễ, phải ban hành Phiếu xin lỗi ngay (D4)", "due within a working day: if it will be late, apologise now (D4)";
    FlagConsultationOverdue => "Yêu cầu lấy ý kiến gửi {to} đã quá hạn trả lời (D5)", "the consultation of {to} is past its deadline (D5)";
    FlagStepOverdue => "{office} đã quá thời hạn của bước mình", "{office} is past its own step's allowance";
    FlagDueTimeUnknown => "Không tính được ngày hẹn trả: {problem}", "the due time cannot be computed: {problem}";

    // ── The dossier as the CLI and the console show it ───────────────────
    FieldDossier => "Hồ sơ", "Dossier";
    FieldProcedure => "Thủ tục", "Procedure";
    FieldApplicant => "Người nộp", "Applicant";
    FieldOrigin => "Nơi tiếp nhận", "Received at";
    FieldStatus => "Trạng thái", "Status";
    FieldHolder => "Đang giữ", "Holder";
    FieldTransfer => "Đang chuyển", "Transfer";
    FieldReceived => "Tiếp nhận lúc", "Received";
    FieldDue => "Hẹn trả", "Due";
    FieldStepDue => "Hạn bước", "Step due";
    FieldApology => "Xin lỗi", "Apology";
    FieldPaused => "Tạm dừng", "Paused";
    FieldResult => "Kết quả", "Result";
    FieldRoute => "Quy trình", "Route";
    FieldDocuments => "Thành phần", "Documents";
    FieldConsulted => "Lấy ý kiến", "Consulted";
    FieldFlag => "Lưu ý", "Flag";
    FieldTimeline => "Quá trình xử lý", "Timeline";
    FieldFee => "Phí, lệ phí", "Fee";
    QuarantinedSince => "CÁCH LY từ {since}: {problem}", "QUARANTINED since {since}: {problem}";
    QuarantineExplained => "Nút này giữ nguyên hồ sơ nhưng không gửi cho nút khác; quản trị viên cần sửa hoặc thay thế.", "This node keeps the dossier as it is but does not send it to peers; an operator must repair or replace it.";
    QuarantineNoHistory => "Không đọc được tài liệu của hồ sơ nên không thể hiển thị quá trình xử lý.", "Its document cannot be read, so its history cannot be shown.";
    CatalogueVersion => "danh mục {version}", "catalogue {version}";
    ColTime => "thời gian", "time";
    ColOffice => "cơ quan", "office";
    ColOfficer => "cán bộ", "officer";
    ColEvent => "nội dung", "event";
    OriginLine => "{office} ({channel}, nhận kết quả {result_by}), quy định {rules}", "{office} ({channel}, result {result_by}), rules {rules}";
    TransferLine => "từ {from} đến {to} từ {at} — {task} ({days})", "from {from} to {to} since {at} — {task} ({days})";
    Form01Said => " (Mẫu 01 hẹn {due})", " (Form 01 said {due})";
    ApologyLine => "{at} (Mẫu 04): hẹn mới {new_due}{late} — {reason}", "{at} (Form 04): new due {new_due}{late} — {reason}";
    ApologyLateMark => ", muộn", ", late";
    WaitingForApplicant => "(chờ người nộp bổ sung)", "(waiting for the applicant)";
    ResultWaiting => "{result} — ban hành {at} bởi {by}, đang chờ trả tại {desk}", "{result} — issued {at} by {by}, waiting at {desk}'s desk to be returned";
    ResultReturned => "{result} — ban hành {at} bởi {by}, đã trả tại {desk} lúc {returned}", "{result} — issued {at} by {by}, returned at {desk}'s desk {returned}";
    LeadMark => " (chủ trì)", " (lead)";
    ConsultedLine => "{to} trước {deadline}: {question} — {answer}", "{to} by {deadline}: {question} — {answer}";
    NoAnswerYet => "(chưa trả lời)", "(no answer yet)";
    AnsweredWith => "trả lời: {answer}", "answered: {answer}";
    NotApplied => "✗ ", "✗ ";
    Copies => "{n} bản", "×{n}";
    Bytes => "{n} byte", "{n} bytes";

    ConflictsHeader => "Xung đột ({n}): được giữ trong lịch sử nhưng không áp dụng; cán bộ cần xử lý", "Conflicts ({n}): kept in the history, not applied; an officer should resolve them";
    ConflictLine => "sự kiện #{index} «{kind}» của {office}: {reason}", "event #{index} `{kind}` by {office}: {reason}";
    Unreadable => "✗ không đọc được: {problem}", "✗ unreadable: {problem}";
    ColCode => "mã hồ sơ", "code";
    ColProcedure => "thủ tục", "procedure";
    ColApplicant => "người nộp", "applicant";
    ColStatus => "trạng thái", "status";
    ColHolder => "đang giữ", "holder";
    ColReceived => "tiếp nhận", "received";
    ColDue => "hẹn trả", "due";
    OverdueMark => "QUÁ HẠN", "OVERDUE";
    ConflictsMark => "{n} xung đột", "{n} conflict(s)";
    DossierCount => "{n} hồ sơ", "{n} dossier(s)";

    AllowedFor => "{office} hiện được: {list}", "{office} may now: {list}";
    NothingAllowedHere => "Nơi này hiện chỉ được thêm ghi chú vào hồ sơ.", "This node may only add notes to it now.";

    // ── The consolidated report ──────────────────────────────────────────
    ReportByOrigin => "Hồ sơ theo nơi tiếp nhận tại {office}, quá hạn tính đến {now}", "Dossiers by receiving office at {office}, overdue judged at {now}";
    ReportByHolder => "Hồ sơ theo nơi đang giữ tại {office}, quá hạn tính đến {now}", "Dossiers by holding office at {office}, overdue judged at {now}";
    ReportPeriod => "; tiếp nhận từ {from} đến {to}", "; received from {from} until {to}";
    ReportFromStart => "đầu kỳ", "the start";
    ReportUntilNow => "nay", "now";
    RepOffice => "cơ quan", "office";
    RepReceived => "tiếp nhận", "received";
    RepInProgress => "đang xử lý", "in progress";
    RepSupplement => "chờ bổ sung", "supplement";
    RepResolved => "có kết quả", "resolved";
    RepReturned => "đã trả", "returned";
    RepRefused => "từ chối", "refused";
    RepStopped => "dừng", "stopped";
    RepOverdue => "quá hạn", "overdue";
    RepEarly => "sớm hạn", "early";
    RepOnTime => "đúng hạn", "on time";
    RepLate => "trễ hạn", "late";
    RepOnTimePercent => "% đúng hạn", "on time %";
    RepOwn => " (tại chỗ)", " (own)";
    RepTotal => "Tổng cộng", "Tổng cộng (total)";
    RepLegend => "Σ = cơ quan và mọi cơ quan cấp dưới; (tại chỗ) = riêng cơ quan đó; % đúng hạn = (sớm hạn + đúng hạn) / đã giải quyết.", "Σ = the office and every office below it; (own) = the office itself; on time % = (early + on time) / finished.";
    RepSubmitted => "{n} hồ sơ nộp trực tuyến hoặc qua bưu chính chưa được tiếp nhận tại bộ phận một cửa (không tính ở trên).", "{n} dossier(s) filed online or by post are not yet taken in at a desk (not counted above).";

    // ── The notices outbox ───────────────────────────────────────────────
    NoticesQueued => "Đã xếp {n} thông báo mới lúc {now} ({candidates} hồ sơ cần xét, {loaded} hồ sơ đã đọc). Lệnh này không gửi gì: cổng SMS/thư điện tử đọc hộp thư đi.", "Queued {n} new notice(s) at {now} ({candidates} candidate dossier(s), {loaded} loaded). Nothing is sent from here: an SMS/e-mail gateway reads the outbox.";
    OutboxEmpty => "Hộp thư đi trống.", "The outbox is empty.";
    NoticeDueSoon => "sắp đến hạn", "due soon";
    NoticeOverdue => "quá hạn", "overdue";
    NoticeConsultationOverdue => "lấy ý kiến quá hạn", "consultation overdue";
    NoticeResultReady => "có kết quả", "result ready";
    ToApplicant => "người nộp", "applicant";
    ToOfficers => "cán bộ", "officers";
    NoContact => "không có số điện thoại hay thư điện tử", "no phone or e-mail on file";
    NotSent => "chưa gửi", "not sent";
    SentAt => "đã gửi {at}", "sent {at}";
    NoticeLine => "#{id} {at} {code} {kind} → {to} ({applicant}; {contact}) từ {office} [{sent}]", "#{id} {at} {code} {kind} → {to} ({applicant}; {contact}) from {office} [{sent}]";
    NoticesListed => "{n} thông báo, {waiting} chưa gửi.", "{n} notice(s) listed, {waiting} not sent.";

    // ── Officer commands' output ─────────────────────────────────────────
    Form01Title => "Mẫu 01 — Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Form 01 — Giấy tiếp nhận hồ sơ và hẹn trả kết quả";
    StatusLine => "trạng thái {status}", "status {status}";
    HeldByLine => ", do {holder} giữ", ", held by {holder}";
    InTransferLine => ", đang chuyển đến {to}", ", in transfer to {to}";
    DueLine => "hẹn trả {due}", "due {due}";
}
