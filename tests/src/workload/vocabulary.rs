//! The workload's fixed vocabulary, in the exact order of `workload.mjs`
//! (the order matters: every `pick` is `list[draw % len]`).
//!
//! All strings are NFC, as in the JavaScript source.

/// A district and its four communes `(slug, name)`.
#[derive(Clone, Copy, Debug)]
pub struct District {
    pub slug: &'static str,
    pub name: &'static str,
    pub communes: [(&'static str, &'static str); 4],
}

/// The 6 districts × 4 communes; commune `c` (flattened, `0..24`) is
/// `DISTRICTS[c / 4].communes[c % 4]` and has office code `H49.(10 + c)`.
pub const DISTRICTS: [District; 6] = [
    District {
        slug: "tam-ky",
        name: "thành phố Tam Kỳ",
        communes: [
            ("an-my", "phường An Mỹ"),
            ("an-son", "phường An Sơn"),
            ("hoa-huong", "phường Hòa Hương"),
            ("tan-thanh", "phường Tân Thạnh"),
        ],
    },
    District {
        slug: "hoi-an",
        name: "thành phố Hội An",
        communes: [
            ("minh-an", "phường Minh An"),
            ("son-phong", "phường Sơn Phong"),
            ("cam-pho", "phường Cẩm Phô"),
            ("cam-chau", "phường Cẩm Châu"),
        ],
    },
    District {
        slug: "dien-ban",
        name: "thị xã Điện Bàn",
        communes: [
            ("dien-phuong", "phường Điện Phương"),
            ("dien-minh", "phường Điện Minh"),
            ("dien-an", "phường Điện An"),
            ("dien-nam-bac", "phường Điện Nam Bắc"),
        ],
    },
    District {
        slug: "dai-loc",
        name: "huyện Đại Lộc",
        communes: [
            ("ai-nghia", "thị trấn Ái Nghĩa"),
            ("dai-hiep", "xã Đại Hiệp"),
            ("dai-hoa", "xã Đại Hòa"),
            ("dai-dong", "xã Đại Đồng"),
        ],
    },
    District {
        slug: "thang-binh",
        name: "huyện Thăng Bình",
        communes: [
            ("ha-lam", "thị trấn Hà Lam"),
            ("binh-trieu", "xã Bình Triều"),
            ("binh-minh", "xã Bình Minh"),
            ("binh-dao", "xã Bình Đào"),
        ],
    },
    District {
        slug: "nui-thanh",
        name: "huyện Núi Thành",
        communes: [
            ("nui-thanh", "thị trấn Núi Thành"),
            ("tam-hiep", "xã Tam Hiệp"),
            ("tam-giang", "xã Tam Giang"),
            ("tam-quang", "xã Tam Quang"),
        ],
    },
];

/// Number of communes (`COMMUNES.length` in the JS).
pub const COMMUNE_COUNT: usize = 24;

/// An administrative procedure: code, name, processing time in calendar
/// days, and the slug of the province department that decides it.
#[derive(Clone, Copy, Debug)]
pub struct Procedure {
    pub code: &'static str,
    pub days: u32,
    pub dept: &'static str,
    pub name: &'static str,
}

pub const PROCEDURES: [Procedure; 8] = [
    Procedure {
        code: "1.004227",
        days: 30,
        dept: "so-tai-nguyen-moi-truong",
        name: "Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận lần đầu",
    },
    Procedure {
        code: "1.003003",
        days: 15,
        dept: "so-tai-nguyen-moi-truong",
        name: "Đăng ký biến động quyền sử dụng đất do chuyển nhượng, tặng cho",
    },
    Procedure {
        code: "1.009994",
        days: 20,
        dept: "so-xay-dung",
        name: "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
    },
    Procedure {
        code: "2.001035",
        days: 10,
        dept: "so-tu-phap",
        name: "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
    },
    Procedure {
        code: "1.001612",
        days: 7,
        dept: "so-tu-phap",
        name: "Đăng ký lại khai sinh có yếu tố nước ngoài",
    },
    Procedure {
        code: "1.000894",
        days: 12,
        dept: "so-lao-dong-thuong-binh-xa-hoi",
        name: "Giải quyết trợ cấp xã hội hằng tháng đối với người cao tuổi",
    },
    Procedure {
        code: "2.000282",
        days: 15,
        dept: "so-ke-hoach-dau-tu",
        name: "Đăng ký thành lập hợp tác xã, cấp giấy chứng nhận đăng ký",
    },
    Procedure {
        code: "1.010812",
        days: 20,
        dept: "so-nong-nghiep-phat-trien-nong-thon",
        name: "Hỗ trợ khôi phục sản xuất nông nghiệp vùng bị thiệt hại do thiên tai",
    },
];

pub const FAMILY: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý",
];
pub const MIDDLE: [&str; 8] = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang"];
pub const GIVEN: [&str; 24] = [
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh",
    "Lan", "Long", "Mai", "Nam", "Phúc", "Quân", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến",
];
pub const STREETS: [&str; 8] = [
    "Phan Châu Trinh",
    "Hùng Vương",
    "Trần Cao Vân",
    "Lê Lợi",
    "Nguyễn Duy Hiệu",
    "Huỳnh Thúc Kháng",
    "Bạch Đằng",
    "Quang Trung",
];
pub const PHONE_PREFIX: [&str; 10] = [
    "090", "091", "093", "094", "096", "097", "098", "032", "035", "077",
];
pub const CHANNELS: [&str; 3] = ["direct", "postal", "online"];

/// Where an event happens: index into `[commune, district, province dept]`.
pub const AT_COMMUNE: usize = 0;
pub const AT_DISTRICT: usize = 1;
pub const AT_PROVINCE: usize = 2;

/// One planned history event: its kind, where it happens, and the status
/// the dossier has after it.
#[derive(Clone, Copy, Debug)]
pub struct PlannedEvent {
    pub kind: &'static str,
    pub at: usize,
    pub status: &'static str,
}

/// The 8 history events, in this fixed order (`EVENT_PLAN`).
pub const EVENT_PLAN: [PlannedEvent; 8] = [
    PlannedEvent {
        kind: "receive",
        at: AT_COMMUNE,
        status: "received",
    },
    PlannedEvent {
        kind: "forward",
        at: AT_COMMUNE,
        status: "forwarded",
    },
    PlannedEvent {
        kind: "accept",
        at: AT_DISTRICT,
        status: "processing",
    },
    PlannedEvent {
        kind: "forward",
        at: AT_DISTRICT,
        status: "forwarded",
    },
    PlannedEvent {
        kind: "accept",
        at: AT_PROVINCE,
        status: "processing",
    },
    PlannedEvent {
        kind: "approve",
        at: AT_PROVINCE,
        status: "approved",
    },
    PlannedEvent {
        kind: "return_result",
        at: AT_PROVINCE,
        status: "returned",
    },
    PlannedEvent {
        kind: "result_received",
        at: AT_COMMUNE,
        status: "result_ready",
    },
];

/// The phase-2 event's kind (pushed at the commune; status and holder untouched).
pub const EXTRA_EVENT_KIND: &str = "notify_applicant";
/// Where the phase-2 event happens.
pub const EXTRA_EVENT_AT: usize = AT_COMMUNE;

/// Three notes per event kind, in index order.
pub const NOTES: [(&str, [&str; 3]); 7] = [
    (
        "receive",
        [
            "Tiếp nhận hồ sơ trực tiếp, thành phần đầy đủ, đã cấp giấy biên nhận.",
            "Hồ sơ hợp lệ, đã kiểm tra bản chính và cấp phiếu hẹn trả kết quả.",
            "Nhận hồ sơ qua bưu chính công ích, đã quét và số hóa thành phần.",
        ],
    ),
    (
        "forward",
        [
            "Chuyển hồ sơ lên cấp trên giải quyết theo quy trình liên thông.",
            "Đã chuyển hồ sơ giấy kèm phiếu kiểm soát quá trình giải quyết.",
            "Chuyển hồ sơ điện tử, bản giấy gửi theo đường bưu chính công ích.",
        ],
    ),
    (
        "accept",
        [
            "Tiếp nhận hồ sơ liên thông, phân công chuyên viên thụ lý ngay.",
            "Đã nhận đủ hồ sơ chuyển đến, kiểm tra thời hạn còn lại hợp lệ.",
            "Nhận hồ sơ từ cấp dưới chuyển lên, giao phòng chuyên môn xử lý.",
        ],
    ),
    (
        "approve",
        [
            "Lãnh đạo đã ký duyệt kết quả giải quyết thủ tục hành chính.",
            "Thẩm định đạt yêu cầu, trình ký và phê duyệt kết quả đúng hạn.",
            "Đã phê duyệt, đóng dấu kết quả, chuẩn bị trả về nơi tiếp nhận.",
        ],
    ),
    (
        "return_result",
        [
            "Trả kết quả về bộ phận một cửa nơi tiếp nhận hồ sơ ban đầu.",
            "Chuyển kết quả về cấp xã qua đường văn thư và hệ thống điện tử.",
            "Gửi trả kết quả kèm phiếu kiểm soát đã ghi đầy đủ các bước.",
        ],
    ),
    (
        "result_received",
        [
            "Bộ phận một cửa đã nhận kết quả, chờ công dân đến nhận trực tiếp.",
            "Đã nhận kết quả từ cấp trên, vào sổ theo dõi và báo cho công dân.",
            "Kết quả đã về, kiểm tra khớp với giấy biên nhận, sẵn sàng trả.",
        ],
    ),
    (
        "notify_applicant",
        [
            "Đã nhắn tin thông báo cho công dân đến nhận kết quả tại một cửa.",
            "Gọi điện thoại báo công dân mang giấy biên nhận đến nhận kết quả.",
            "Gửi thư điện tử và tin nhắn báo kết quả đã sẵn sàng để trả.",
        ],
    ),
];

/// The three notes of an event kind.
///
/// # Panics
/// If `kind` is not one of the workload's event kinds.
pub fn notes_for(kind: &str) -> &'static [&'static str; 3] {
    NOTES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, n)| n)
        .unwrap_or_else(|| panic!("no notes for event kind {kind:?}"))
}
