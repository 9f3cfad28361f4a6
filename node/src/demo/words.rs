//! The demo's narration (lời dẫn) from a catalogue: each line in the
//! language `LIENTHONG_LANG` picks (Vietnamese unless it says `en`), the
//! other language on the line below it, as the CLI words its output.

use chrono_tz::Tz;
use lienthong_shared::offices::OfficeTree;

use crate::i18n::{Lang, Locale};

crate::catalogue! {
    DemoMsg;
    Title => "Liên Thông — trình diễn một mạng ba cấp trên máy này", "Liên Thông demo — a three-tier network on this machine";
    NodeWord => "nút", "node";
    IsNode => "{dir} là thư mục dữ liệu của một nút; hãy cho bản trình diễn một thư mục trống hoặc chưa có", "{dir} is a node's data directory; give the demo an empty or new directory";
    DataLeft => "Dữ liệu còn lại trong {dir}", "Data left in {dir}";
    NotEmpty => "{dir} không trống; hãy cho bản trình diễn một thư mục trống hoặc chưa có", "{dir} is not empty; give the demo an empty or new directory";
    Received => "Bộ phận một cửa phường Điện Phương tiếp nhận hồ sơ cấp Giấy chứng nhận quyền sử dụng đất lần đầu của Nguyễn Văn An: {code} (Mẫu 01, hẹn trả {due})", "Điện Phương desk receives a first land-use certificate for Nguyễn Văn An: {code} (Form 01, due {due})";
    ForwardedUp => "xác nhận nguồn gốc đất và chuyển lên thị xã Điện Bàn", "confirms the land's origin and forwards it up to thị xã Điện Bàn";
    District => "Điện Bàn nhận hồ sơ qua mạng, tiếp nhận, thẩm định và chuyển Cục Thuế tỉnh", "Điện Bàn receives it over the network, accepts, appraises, and forwards to the provincial tax department";
    Tax => "Cục Thuế (tỉnh) tiếp nhận và đề nghị nộp {amount} phí, lệ phí (trạng thái 6)", "Cục Thuế (province) accepts it and asks for {amount} of fees (status 6)";
    Paid => "công dân nộp tiền tại bộ phận một cửa Điện Phương; biên lai được gửi lên", "the citizen pays at the Điện Phương desk; the receipt travels up";
    Issued => "Sở TN&MT quyết định và cấp Giấy chứng nhận; hồ sơ trở về bộ phận trả kết quả của {office}", "Sở TN&MT decides and issues the certificate; it travels back to the desk of {office}";
    Allowance => "Xã Duy Sơn nhận qua bưu chính hồ sơ trợ cấp xã hội hằng tháng ({code}) và chuyển huyện Duy Xuyên", "Duy Sơn receives a monthly social allowance dossier by post ({code}) and forwards it to Duy Xuyên";
    LinkDown => "… rồi đường truyền của Duy Xuyên bị mất. Huyện vẫn làm việc khi mất kết nối:", "… then Duy Xuyên's link goes down. The district keeps working offline:";
    Offline => "tiếp nhận, phê duyệt, trả kết quả — đều khi mất kết nối; tỉnh vẫn thấy hồ sơ ở trạng thái “{status}”", "accepted, approved, result issued — all offline; the province still sees it as “{status}”";
    LinkBack => "đường truyền trở lại: quyết định về tới bộ phận một cửa Duy Sơn và tỉnh cập nhật kịp", "the link comes back: the decision reaches Duy Sơn's desk and the province catches up";
    Posted => "Duy Sơn gửi quyết định qua bưu chính cho bà Hồ Thị Mai (trạng thái 10)", "Duy Sơn posts the decision to Hồ Thị Mai (status 10)";
    Collected => "Giấy chứng nhận đã về bộ phận một cửa Điện Phương; ông Nguyễn Văn An đến nhận (trạng thái 10)", "The certificate is back at the Điện Phương desk; Nguyễn Văn An collects it (status 10)";
    SameDay => "Điện Minh đăng ký khai sinh trong ngày ({birth}) và tiếp nhận một hồ sơ đăng ký kết hôn ({marriage}) không ai xử lý kịp hạn", "Điện Minh registers a birth the same day ({birth}), and receives a marriage registration ({marriage}) that nobody handles in time";
    ProvinceView => "Số liệu tổng hợp của Trung tâm Phục vụ hành chính công tỉnh lúc {at}:", "The provincial Center's consolidated view at {at}:";
    Sibling => "Duy Trinh, một xã cùng huyện, giữ {n} hồ sơ trong số này: phạm vi chỉ đưa hồ sơ tới các cơ quan liên quan.", "Duy Trinh, a sibling commune, holds {n} of these dossiers: scope keeps them to the offices concerned.";
    KeepRunning => "Mạng vẫn chạy. Thư mục dữ liệu trong {dir}:", "The network keeps running. Data directories under {dir}:";
    Try => "Thử trong một cửa sổ dòng lệnh khác:", "Try, in another terminal:";
    Stop => "Ctrl-C để dừng mạng.", "Ctrl-C stops the network.";
    Consoles => "Bảng điều khiển (mở trong trình duyệt):", "Consoles (open in a browser):";
    SignIn => "Đăng nhập vào bất kỳ bảng nào với mật khẩu {password}, bằng tên:", "Sign in on any of them with password {password} as:";
}

/// Who tells the story: the first language (`LIENTHONG_LANG`), the other
/// beside it, with the network's office names and time zone.
pub struct Narrator {
    pub first: Lang,
    tz: Tz,
    offices: OfficeTree,
}

impl Narrator {
    pub fn new(first: Lang, tz: Tz, offices: OfficeTree) -> Self {
        Narrator { first, tz, offices }
    }

    /// The locale of the first language.
    pub fn locale(&self) -> Locale<'_> {
        Locale::new(self.first, self.tz, &self.offices)
    }

    fn other(&self) -> Lang {
        match self.first {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// One narrated line: `step` (a number, or empty), the words in the
    /// first language, then the other's under them.
    pub fn lines(&self, step: &str, words: impl Fn(&Locale<'_>) -> String) -> String {
        let first = words(&self.locale());
        let other = words(&Locale::new(self.other(), self.tz, &self.offices));
        format!("{step:>4}  {first}\n      {other}")
    }

    /// A step of the story, printed.
    pub fn say(&self, step: &str, words: impl Fn(&Locale<'_>) -> String) {
        println!("{}", self.lines(step, words));
    }

    /// A line under a step (indented further), printed.
    pub fn then(&self, words: impl Fn(&Locale<'_>) -> String) {
        println!("{}", self.lines("", |l| format!("     {}", words(l))));
    }

    /// A plain message in both languages, one per line.
    pub fn both(&self, msg: DemoMsg, args: &[(&str, &str)]) -> String {
        self.lines("", |l| l.f(msg, args))
            .trim_start()
            .replace("\n      ", "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalogue_is_complete() {
        crate::i18n::check_catalogue::<DemoMsg>().unwrap();
    }

    /// Issue 9: the narration is Vietnamese first with English under it,
    /// and English first when LIENTHONG_LANG says so; money and offices
    /// in each language's words.
    #[test]
    fn narration_is_vietnamese_first_with_english_beside() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let vi = Narrator::new(Lang::Vi, tz, network.offices.clone());
        let said = vi.lines("3", |l| {
            l.f(DemoMsg::Tax, &[("amount", &l.money(2_500_000))])
        });
        let (first, second) = said.split_once('\n').unwrap();
        assert!(
            first.starts_with("   3  Cục Thuế (tỉnh) tiếp nhận và đề nghị nộp 2.500.000"),
            "{said}"
        );
        assert!(
            second.starts_with("      Cục Thuế (province) accepts it and asks for"),
            "{said}"
        );
        let en = Narrator::new(Lang::En, tz, network.offices.clone());
        let said = en.lines("", |l| l.t(DemoMsg::Stop).to_string());
        assert_eq!(
            said,
            "      Ctrl-C stops the network.\n      Ctrl-C để dừng mạng."
        );
        assert_eq!(
            vi.both(DemoMsg::Try, &[]),
            "Thử trong một cửa sổ dòng lệnh khác:\nTry, in another terminal:"
        );
    }
}
