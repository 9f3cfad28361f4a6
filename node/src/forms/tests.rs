//! The printed forms against real dossiers: received, refused, asked for a
//! supplement, apologised for and stopped through the service layer on a
//! node of the shipped three-tier network, in both rule sets.

use std::path::Path;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use lienthong_shared::builtin;
use lienthong_shared::dossier::Action;
use lienthong_shared::dossier::schema::Applicant;

use super::*;
use crate::node::{InitSources, Node};
use crate::service::{self, Intent, NewDossier, NewDue};

pub(crate) const DIEN_PHUONG: &str = "commune:dien-ban/dien-phuong";
/// Marriage registration: one working day, decided at the receiving office.
pub(crate) const ONE_DAY: &str = "1.000894";

/// Local time in Asia/Ho_Chi_Minh.
pub(crate) fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn commune(root: &Path) -> Node {
    Node::init(
        &root.join("dien-phuong"),
        &DIEN_PHUONG.parse().unwrap(),
        InitSources {
            network: (builtin::QUANG_NAM_3TIER, Path::new("network.toml")),
            catalogue: (builtin::CATALOGUE, Path::new("catalogue.toml")),
        },
    )
    .unwrap()
}

fn applicant() -> Applicant {
    Applicant {
        name: "Nguyễn Thị Lan".into(),
        id_number: "049190001234".into(),
        address: "Thôn Thanh Chiêm 1, Điện Phương".into(),
        phone: "0905 123 456".into(),
        ..Applicant::default()
    }
}

/// A dossier received by Hoa at the commune's desk at `at` (a commune
/// deciding it itself: straight into processing).
pub(crate) fn receive(node: &mut Node, at: DateTime<Utc>) -> String {
    let new = NewDossier::at_the_desk(ONE_DAY, applicant());
    service::receive(
        node,
        &DIEN_PHUONG.parse().unwrap(),
        "Trần Thị Hoa",
        at,
        &new,
    )
    .unwrap()
    .code
}

fn act(node: &mut Node, code: &str, at: DateTime<Utc>, intent: Intent) {
    service::act(node, code, None, "Lê Văn Minh", at, &intent).unwrap();
}

/// Form `slug` of dossier `code` as the console and CLI print it.
fn print(node: &mut Node, code: &str, slug: &str, now: DateTime<Utc>) -> Result<String, FormError> {
    let view = service::view(node, code, now).unwrap();
    let authors = service::authors::event_authors(node, &view.row.key).unwrap();
    let input = FormInput {
        dossier: &view.dossier,
        state: &view.state,
        locale: node.locale(Lang::Vi),
        printed_by: Some("Trần Thị Hoa"),
        now,
        authors: &authors,
    };
    render(slug, &input).map(|m| m.into_string())
}

fn rules_of(node: &mut Node, code: &str) -> String {
    service::view(node, code, Utc::now())
        .unwrap()
        .dossier
        .facts
        .rules
}

/// The first inline `<svg>…</svg>` of a page, drawn as a greyscale bitmap
/// (`scale` pixels per unit) from the rectangles of the `qrcode` crate's
/// SVG path, and decoded by `rqrr`.
pub(crate) fn decode_qr(html: &str) -> String {
    let start = html.find("<svg").expect("the page has an SVG");
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let d_at = svg.find(" d=\"").unwrap() + 4;
    let d = &svg[d_at..d_at + svg[d_at..].find('"').unwrap()];
    let scale = 4;
    let mut dark = vec![false; w * h];
    let mut rects = 0;
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        // `{left} {top}h{width}v{height}H{left}V{top}`
        let numbers: Vec<usize> = rect
            .split(|c: char| c == ' ' || c.is_ascii_alphabetic())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (left, top, width, height) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        for y in top..top + height {
            for x in left..left + width {
                dark[y * w + x] = true;
            }
        }
        rects += 1;
    }
    assert!(rects > 50, "a QR code has many dark modules, found {rects}");
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w * scale, h * scale, |x, y| {
        if dark[(y / scale) * w + x / scale] {
            0
        } else {
            255
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    grids[0].decode().expect("the QR code decodes").1
}

#[test]
fn mau_01_carries_the_code_its_qr_the_local_due_time_and_names_not_ids() {
    let root = tempfile::tempdir().unwrap();
    let mut node = commune(root.path());
    // Monday 2 March 2026, 09:00 local (02:00 UTC): the 2025 set.
    let code = receive(&mut node, local(2026, 3, 2, 9, 0));
    assert_eq!(rules_of(&mut node, &code), "2025");
    let view = service::view(&mut node, &code, local(2026, 3, 2, 9, 5)).unwrap();
    let due = view
        .state
        .due_at
        .expect("a one-day procedure has a due time");
    let due_local = due.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    // Precondition: local and UTC differ, so a UTC time would show.
    assert_ne!(due_local.hour(), due.hour());

    let html = print(&mut node, &code, "mau-01", local(2026, 3, 2, 9, 5)).unwrap();
    assert_eq!(decode_qr(&html), code, "the QR code is the dossier code");
    assert!(
        html.contains(&format!("data-code=\"{code}\"")),
        "the code in large type"
    );
    let due_words = format!(
        "{:02} giờ {:02} phút, ngày {}",
        due_local.hour(),
        due_local.minute(),
        due_local.format("%d/%m/%Y")
    );
    assert!(
        html.contains(&due_words),
        "due time {due_words} in local time"
    );
    assert!(
        html.contains("09 giờ 00 phút, ngày 02/03/2026"),
        "received at, local"
    );
    assert!(
        html.contains("GIẤY TIẾP NHẬN HỒ SƠ")
            || html.contains("Giấy tiếp nhận hồ sơ và hẹn trả kết quả")
    );
    assert!(html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert!(html.contains("class=\"tieu-ngu\">Độc lập - Tự do - Hạnh phúc"));
    assert!(html.contains("@page { size: A4"));
    // The issuing office upper-case with its parent above, both by name.
    assert!(
        html.contains("ỦY BAN NHÂN DÂN PHƯỜNG ĐIỆN PHƯƠNG"),
        "issuing office"
    );
    assert!(
        html.contains("ỦY BAN NHÂN DÂN THỊ XÃ ĐIỆN BÀN"),
        "its parent"
    );
    assert!(
        html.contains("Điện Phương, ngày 02 tháng 03 năm 2026"),
        "place and date"
    );
    assert!(
        !html.contains("commune:") && !html.contains("district:"),
        "no office ids"
    );
    assert!(html.contains("Nguyễn Thị Lan") && html.contains("Trần Thị Hoa"));
    // Components with their counts, the fee as money, where to collect.
    let components = &view.dossier.facts.documents;
    assert!(
        !components.is_empty(),
        "precondition: the catalogue lists components"
    );
    for c in components {
        assert!(html.contains(&c.name), "component {}", c.name);
    }
    let fee = node
        .locale(Lang::Vi)
        .money(view.dossier.facts.procedure.fee_vnd);
    assert!(fee.ends_with(" đ") && html.contains(&fee), "fee {fee}");
    assert!(
        html.contains(
            "Đăng ký nhận kết quả tại: Bộ phận Một cửa Ủy ban nhân dân phường Điện Phương"
        )
    );
    assert!(html.contains("1 ngày làm việc"));
}

#[test]
fn the_2025_set_is_numbered_as_the_circular_and_differs_from_2018() {
    let slugs = |set: FormSet| -> Vec<(String, &'static str)> {
        set.forms()
            .iter()
            .map(|f| (f.slug(), f.title().text(Lang::Vi)))
            .collect()
    };
    let s2018 = slugs(FormSet::Circular2018);
    let s2025 = slugs(FormSet::Circular2025);
    assert_eq!(s2018.len(), 6);
    assert_eq!(s2025.len(), 7);
    assert_eq!(
        s2018[3],
        ("mau-04".into(), "Phiếu xin lỗi và hẹn lại ngày trả kết quả")
    );
    assert_eq!(
        s2018[4],
        (
            "mau-05".into(),
            "Phiếu kiểm soát quá trình giải quyết hồ sơ"
        )
    );
    assert_eq!(s2018[5], ("mau-06".into(), "Sổ theo dõi hồ sơ"));
    assert_eq!(
        s2025[3],
        (
            "mau-04".into(),
            "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"
        )
    );
    assert_eq!(
        s2025[4],
        ("mau-05".into(), "Thông báo dừng giải quyết hồ sơ")
    );
    assert_eq!(
        s2025[5],
        (
            "mau-06".into(),
            "Phiếu kiểm soát quá trình giải quyết hồ sơ"
        )
    );
    assert_eq!(s2025[6], ("mau-07".into(), "Sổ theo dõi hồ sơ"));
    for i in 0..3 {
        assert_eq!(s2018[i], s2025[i], "Mẫu 01–03 are the same in both");
    }
    assert_eq!(
        FormSet::Circular2025.find("05").unwrap().kind,
        FormKind::StopNotice
    );
    assert_eq!(
        FormSet::Circular2018.find("mau-5").unwrap().kind,
        FormKind::ControlSheet
    );
    let unknown = FormSet::Circular2018.find("mau-07").unwrap_err();
    let words = unknown.words(Lang::En);
    assert!(
        words.contains("mau-07") && words.contains("mau-06 (Register of dossiers)"),
        "{words}"
    );
    assert!(FormSet::of("2031").is_err());
}

#[test]
fn a_form_the_dossier_does_not_have_yet_is_refused_with_why() {
    let root = tempfile::tempdir().unwrap();
    let mut node = commune(root.path());
    let code = receive(&mut node, local(2026, 3, 2, 9, 0));
    let now = local(2026, 3, 2, 9, 30);
    for (slug, missing) in [
        ("mau-02", Missing::NoSupplementRequest),
        ("mau-03", Missing::NoRefusal),
        ("mau-04", Missing::NoApology),
        ("mau-05", Missing::NotStopped),
    ] {
        match print(&mut node, &code, slug, now) {
            Err(FormError::NotAvailable {
                missing: m,
                ref code,
                ..
            }) => {
                assert_eq!(m, missing, "{slug}");
                assert!(code.contains("-260302-"), "{code}");
            }
            other => panic!("{slug}: expected a refusal, got {other:?}"),
        }
    }
    let register = print(&mut node, &code, "mau-07", now).unwrap_err();
    assert!(matches!(register, FormError::RegisterPerOffice { .. }));
    assert!(register.words(Lang::Vi).contains("/register"));
    // What the index offers agrees: Mẫu 01 and the control sheet only.
    let view = service::view(&mut node, &code, now).unwrap();
    let input = FormInput {
        dossier: &view.dossier,
        state: &view.state,
        locale: node.locale(Lang::Vi),
        printed_by: None,
        now,
        authors: &[],
    };
    let ready: Vec<String> = forms_of(&input)
        .unwrap()
        .into_iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(f, _)| f.slug())
        .collect();
    assert_eq!(ready, ["mau-01", "mau-06"]);
}

#[test]
fn each_notice_prints_after_its_event_in_the_2025_set() {
    let root = tempfile::tempdir().unwrap();
    let mut node = commune(root.path());
    let monday = |h, m| local(2026, 3, 2, h, m);

    let supplement = receive(&mut node, monday(8, 0));
    act(
        &mut node,
        &supplement,
        monday(8, 30),
        Intent::Exact(Action::SupplementRequested {
            items: vec!["Bản sao giấy khai sinh".into(), "Ảnh 4x6".into()],
            reason: "Thiếu giấy tờ".into(),
        }),
    );
    let html = print(&mut node, &supplement, "mau-02", monday(9, 0)).unwrap();
    assert!(html.contains("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"));
    assert!(html.contains("<li>Bản sao giấy khai sinh</li>") && html.contains("<li>Ảnh 4x6</li>"));
    assert!(html.contains("Lý do: Thiếu giấy tờ"));
    assert!(html.contains("Lê Văn Minh"), "the officer who asked");
    assert!(html.contains(&supplement));

    let apology = receive(&mut node, monday(8, 5));
    act(
        &mut node,
        &apology,
        monday(8, 35),
        Intent::Apologize {
            reason: "Chờ xác minh".into(),
            new_due: NewDue::ExtraWorkingDays(2),
        },
    );
    let view = service::view(&mut node, &apology, monday(9, 0)).unwrap();
    let a = view
        .state
        .apology
        .clone()
        .expect("precondition: the apology took effect");
    let html = print(&mut node, &apology, "mau-04", monday(9, 0)).unwrap();
    assert!(html.contains("Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"));
    let l = node.locale(Lang::Vi);
    assert!(
        html.contains(&layout::due_words(&l, a.new_due)),
        "new due time, local"
    );
    assert!(
        html.contains(&layout::due_words(&l, a.previous_due)),
        "the due time it replaces"
    );
    assert!(html.contains("đề nghị gia hạn"));

    let stopped = receive(&mut node, monday(8, 10));
    act(
        &mut node,
        &stopped,
        monday(8, 40),
        Intent::Exact(Action::Stopped {
            reason: "Người nộp đề nghị dừng".into(),
        }),
    );
    let html = print(&mut node, &stopped, "mau-05", monday(9, 0)).unwrap();
    assert!(html.contains("Thông báo dừng giải quyết hồ sơ"));
    assert!(
        html.contains("08 giờ 40 phút, ngày 02/03/2026"),
        "stopped at, local"
    );
    assert!(html.contains("Lý do: Người nộp đề nghị dừng"));

    // A dossier refused at intake: Mẫu 03, and no receipt.
    let new = NewDossier {
        submitted_only: true,
        ..NewDossier::at_the_desk(ONE_DAY, applicant())
    };
    let refused = service::receive(
        &mut node,
        &DIEN_PHUONG.parse().unwrap(),
        "Trần Thị Hoa",
        monday(8, 15),
        &new,
    )
    .unwrap()
    .code;
    act(
        &mut node,
        &refused,
        monday(8, 45),
        Intent::Exact(Action::Refused {
            reason: "Không thuộc thẩm quyền".into(),
        }),
    );
    let html = print(&mut node, &refused, "mau-03", monday(9, 0)).unwrap();
    assert!(html.contains("Phiếu từ chối tiếp nhận giải quyết hồ sơ"));
    assert!(html.contains("Không thuộc thẩm quyền"));
    assert!(matches!(
        print(&mut node, &refused, "mau-01", monday(9, 0)),
        Err(FormError::NotAvailable {
            missing: Missing::NotReceived,
            ..
        })
    ));
}

#[test]
fn a_2018_dossier_prints_the_2018_forms_and_its_control_sheet() {
    let root = tempfile::tempdir().unwrap();
    let mut node = commune(root.path());
    // Monday 2 June 2025, before the 2025 set took effect (1 July 2025).
    let code = receive(&mut node, local(2025, 6, 2, 9, 0));
    assert_eq!(rules_of(&mut node, &code), "2018", "precondition");
    act(
        &mut node,
        &code,
        local(2025, 6, 2, 9, 30),
        Intent::Apologize {
            reason: "Chờ ý kiến".into(),
            new_due: NewDue::ExtraWorkingDays(1),
        },
    );
    let now = local(2025, 6, 2, 10, 0);
    let apology = print(&mut node, &code, "mau-04", now).unwrap();
    assert!(apology.contains("Phiếu xin lỗi và hẹn lại ngày trả kết quả"));
    assert!(apology.contains("xin lỗi ông/bà và sẽ trả kết quả"));
    assert!(apology.contains("Thông tư 01/2018/TT-VPCP"));

    let control = print(&mut node, &code, "mau-05", now).unwrap();
    assert!(control.contains("Phiếu kiểm soát quá trình giải quyết hồ sơ"));
    assert!(
        control.contains("02/06/2025 09:00"),
        "the receipt, local time"
    );
    assert!(
        control.contains("02/06/2025 09:30"),
        "the apology, local time"
    );
    assert!(
        control.contains("Ủy ban nhân dân phường Điện Phương"),
        "office by name"
    );
    assert!(control.contains("Trần Thị Hoa") && control.contains("Lê Văn Minh"));
    assert!(!control.contains("commune:"), "no office ids");
    // Issue 8: each event's verified author node, under its officer; this
    // node signed every event on the sheet.
    let own = node.node_id().to_string();
    let written = format!(
        "Nút ghi (đã xác minh): Ủy ban nhân dân phường Điện Phương ({}…)",
        &own[..crate::service::authors::SHORT_NODE_ID]
    );
    let rows = control.matches("<td class=\"n\">").count();
    assert!(rows >= 2, "the receipt and the apology at least: {control}");
    assert_eq!(control.matches(&written).count(), rows, "{control}");
    // 2018 has no stop notice: Mẫu 06 is the register.
    assert!(matches!(
        print(&mut node, &code, "mau-06", now),
        Err(FormError::RegisterPerOffice { .. })
    ));
}

#[test]
fn the_register_lists_the_period_s_dossiers_from_the_index() {
    let root = tempfile::tempdir().unwrap();
    let mut node = commune(root.path());
    let before = receive(&mut node, local(2026, 3, 2, 9, 0));
    let inside = receive(&mut node, local(2026, 3, 3, 16, 59));
    let after = receive(&mut node, local(2026, 3, 4, 7, 0));
    let office = node.office().clone();
    // 3 March local: 2 March 17:00 UTC to 3 March 17:00 UTC.
    let rows = node
        .store
        .read(|r| {
            r.received_between(
                &[office.to_string(), "commune:dien-ban/dien-minh".to_string()],
                local(2026, 3, 3, 0, 0),
                local(2026, 3, 4, 0, 0),
                10,
            )
        })
        .unwrap();
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, [inside.as_str()]);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let now = local(2026, 3, 5, 8, 0);
    let html = render_register(
        &node.locale(Lang::Vi),
        &Register {
            office: &office,
            set: FormSet::Circular2025,
            from: day,
            to: day,
            rows: &rows,
            truncated: false,
            printed_by: Some("Trần Thị Hoa"),
            now,
        },
    )
    .into_string();
    assert!(
        html.contains("Sổ theo dõi hồ sơ")
            && html.contains("Từ ngày 03/03/2026 đến ngày 03/03/2026")
    );
    assert!(html.contains(&inside) && !html.contains(&before) && !html.contains(&after));
    assert!(html.contains("03/03/2026 16:59"), "received at, local");
    assert!(html.contains("Nguyễn Thị Lan"));
}

#[test]
fn the_numbering_is_the_one_docs_forms_md_records_from_the_circulars() {
    let doc = include_str!("../../../docs/forms.md");
    // The two tables: the 2018 one first, then the 2025 one.
    let split = doc.find("## Rule set 2025").expect("a 2025 section");
    for (section, set) in [
        (&doc[..split], FormSet::Circular2018),
        (&doc[split..], FormSet::Circular2025),
    ] {
        let rows: Vec<(String, String)> = section
            .lines()
            .filter(|l| l.starts_with("| 0"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (format!("mau-{}", cells[1]), cells[2].to_string())
            })
            .collect();
        let built: Vec<(String, String)> = set
            .forms()
            .iter()
            .map(|f| (f.slug(), f.title().text(Lang::Vi).to_string()))
            .collect();
        assert_eq!(rows, built, "{set:?}");
    }
}
