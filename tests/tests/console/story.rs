//! One dossier's story in the browser, over three real nodes (province,
//! district, commune of the Quảng Nam network) syncing over real QUIC:
//! received at the commune's desk, Mẫu 01 printed with its code, its due
//! time in local time and a QR code of the code; forwarded; accepted,
//! approved and issued at the district's console; returned at the
//! commune's; counted as returned on the province's dashboard.
//!
//! The procedure is 1.001612, Đăng ký thành lập hộ kinh doanh: the commune
//! checks and forwards, the district decides (its route's lead step).

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use chrono::Timelike;
use lienthong::node::Node;
use lienthong_shared::dossier::Status;
use lienthong_tests::browser::Browser;

use super::support::{
    COMMUNE, DISTRICT, Offices, PROVINCE, TestClock, act, decode_qr, local, office, row, sign_in,
};

/// How long a change may take to travel commune → district → province.
const SYNC_DEADLINE: Duration = Duration::from_secs(60);

const PROCEDURE: &str = "1.001612";

/// Poll `id`'s store until `check` holds for the dossier `code`.
async fn wait_for(
    offices: &Offices,
    id: &str,
    code: &str,
    what: &str,
    check: impl Fn(&lienthong::store::index::IndexRow) -> bool,
) -> Result<()> {
    let start = std::time::Instant::now();
    offices
        .net
        .wait_until(&office(id), what, SYNC_DEADLINE, |node: &mut Node| {
            row(node, code).is_ok_and(|r| check(&r))
        })
        .await
        .with_context(|| format!("waiting for {code}: {what}"))?;
    println!("{what}: after {:?}", start.elapsed());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dossier_goes_from_the_commune_desk_through_the_district_to_the_dashboard() -> Result<()>
{
    let clock = TestClock::at(local(2, 8, 0));
    let mut offices = Offices::init(&[PROVINCE, DISTRICT, COMMUNE], clock.clone())?;
    offices.net.start_all().await?;
    let commune = offices.console(COMMUNE).await?;
    let district = offices.console(DISTRICT).await?;
    let province = offices.console(PROVINCE).await?;
    let mut browser = Browser::start("story").await?;

    // ── 1. The commune's desk receives the dossier through the form. ──
    clock.set(local(2, 8, 30));
    sign_in(&browser, &commune.url(), "hoa").await?;
    browser.screenshot("commune-desk").await?;
    browser.goto(&format!("{}receive", commune.url())).await?;
    let text = browser.wait_for_text("Tiếp nhận hồ sơ").await?;
    ensure!(text.contains("Điện Phương"), "{text}");
    browser.fill("input[name=find]", "hộ kinh doanh").await?;
    browser
        .click_and_wait("form[action='/receive'] button.secondary")
        .await?;
    browser
        .wait_for_text("Đăng ký thành lập hộ kinh doanh")
        .await?;
    browser.screenshot("receive-pick").await?;
    browser
        .click_and_wait(&format!("a[href='/receive?procedure={PROCEDURE}']"))
        .await?;
    browser.fill("input[name=name]", "Nguyễn Văn An").await?;
    browser
        .fill("input[name=id_number]", "049084001234")
        .await?;
    browser.fill("input[name=phone]", "0905123456").await?;
    browser
        .fill("input[name=address]", "Thôn Thanh Quýt, phường Điện Phương")
        .await?;
    // The fee reads as money, in đồng.
    let text = browser.text().await?;
    ensure!(text.contains("100.000 đ"), "the fee: {text}");
    browser.screenshot_full("receive-form").await?;
    browser
        .click_and_wait("form.receive button[type=submit]")
        .await?;
    let path = browser.path().await?;
    let code = path
        .strip_prefix("/dossiers/")
        .and_then(|rest| rest.split('?').next())
        .with_context(|| format!("receiving did not open the dossier's page: {path}"))?
        .to_string();
    let text = browser.wait_for_text(&code).await?;
    ensure!(text.contains("Nguyễn Văn An"), "{text}");
    browser.screenshot_full("dossier-received").await?;

    // The store holds it as the form said, recorded by the signed-in officer.
    let received = row(&mut offices.open(COMMUNE)?, &code)?;
    ensure!(received.procedure_code == PROCEDURE, "{received:?}");
    ensure!(received.applicant == "Nguyễn Văn An", "{received:?}");
    ensure!(
        received.received_at == Some(local(2, 8, 30)),
        "{received:?}"
    );
    let due = received
        .due_at
        .context("a received dossier has a due time")?;

    // ── 2. Mẫu 01: the code, the due time in local time, a QR of the code. ──
    // Through the dossier's list of forms (Quảng Nam's three tiers follow
    // the 2025 rules: Thông tư 03/2025/TT-VPCP, whose Mẫu 01 is the receipt).
    browser
        .click_and_wait(&format!("a[href='/dossiers/{code}/forms']"))
        .await?;
    browser.screenshot_full("forms").await?;
    browser
        .click_and_wait(&format!("a.form[href='/dossiers/{code}/forms/mau-01']"))
        .await?;
    // The title is set in capitals by the print stylesheet.
    let text = browser
        .wait_for_text("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
        .await?;
    ensure!(
        text.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        "{text}"
    );
    ensure!(text.contains(&code), "Mẫu 01 lacks the code {code}: {text}");
    let local_due = due.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let due_words = format!(
        "{:02} giờ {:02} phút, ngày {}",
        local_due.hour(),
        local_due.minute(),
        local_due.format("%d/%m/%Y")
    );
    ensure!(
        text.contains(&due_words),
        "Mẫu 01 lacks the due time in local time ({due_words}): {text}"
    );
    let utc_words = format!("{:02} giờ {:02} phút", due.hour(), due.minute());
    ensure!(
        due.hour() != local_due.hour() && !text.contains(&utc_words),
        "Mẫu 01 shows the due time in UTC ({utc_words}): {text}"
    );
    browser.screenshot_full("mau-01").await?;
    let qr_png = browser.find("div.qr").await?.screenshot().await?;
    std::fs::write(browser.screenshot_dir().join("mau-01-qr.png"), &qr_png)?;
    let decoded = decode_qr(&qr_png)?;
    ensure!(
        decoded == [code.clone()],
        "the QR code on Mẫu 01 reads {decoded:?}, not {code}"
    );

    // ── 3. Forward to the district, the route's next step. ──
    clock.set(local(2, 9, 0));
    browser
        .goto(&format!("{}dossiers/{code}", commune.url()))
        .await?;
    act(&browser, &code, "forwarded", &[]).await?;
    let path = browser.path().await?;
    ensure!(
        path.ends_with("?done=forwarded"),
        "forwarding ended on {path}"
    );
    browser.screenshot_full("forwarded").await?;
    let district_id = office(DISTRICT);
    wait_for(
        &offices,
        DISTRICT,
        &code,
        "in transfer to the district",
        |r| r.transfer_to.as_deref() == Some(district_id.as_str()),
    )
    .await?;

    // ── 4. The district accepts, approves and issues. ──
    clock.set(local(2, 14, 0));
    sign_in(&browser, &district.url(), "binh").await?;
    browser.screenshot("district-desk").await?;
    browser
        .goto(&format!("{}dossiers/{code}", district.url()))
        .await?;
    browser.wait_for_text("Nguyễn Văn An").await?;
    act(&browser, &code, "accepted", &[]).await?;
    browser.screenshot_full("district-accepted").await?;

    clock.set(local(3, 10, 0));
    sign_in(&browser, &district.url(), "cuong").await?;
    browser
        .goto(&format!("{}dossiers/{code}", district.url()))
        .await?;
    act(
        &browser,
        &code,
        "approved",
        &[("textarea[name=note]", "Đủ điều kiện đăng ký")],
    )
    .await?;
    clock.set(local(3, 10, 30));
    act(
        &browser,
        &code,
        "result_issued",
        &[(
            "textarea[name=result]",
            "Giấy chứng nhận đăng ký hộ kinh doanh số 40A8001234",
        )],
    )
    .await?;
    browser.screenshot_full("district-issued").await?;
    // The timeline names who did what: the officers signed in.
    let text = browser.text().await?;
    for officer in ["Trần Thị Hoa", "Lê Văn Bình", "Phạm Quốc Cường"] {
        ensure!(
            text.contains(officer),
            "the timeline lacks {officer}: {text}"
        );
    }
    let issued = row(&mut offices.open(DISTRICT)?, &code)?;
    ensure!(issued.status == Some(Status::Resolved), "{issued:?}");

    // ── 5. The commune's desk returns the result. ──
    wait_for(
        &offices,
        COMMUNE,
        &code,
        "the result back at the commune",
        |r| r.status == Some(Status::Resolved),
    )
    .await?;
    clock.set(local(4, 9, 0));
    sign_in(&browser, &commune.url(), "hoa").await?;
    browser
        .goto(&format!("{}dossiers/{code}", commune.url()))
        .await?;
    act(&browser, &code, "returned", &[]).await?;
    browser.screenshot_full("commune-returned").await?;
    let returned = row(&mut offices.open(COMMUNE)?, &code)?;
    ensure!(returned.status == Some(Status::Returned), "{returned:?}");

    // ── 6. The province's dashboard counts it returned. ──
    wait_for(
        &offices,
        PROVINCE,
        &code,
        "returned, at the province",
        |r| r.status == Some(Status::Returned),
    )
    .await?;
    sign_in(&browser, &province.url(), "cuong").await?;
    browser
        .goto(&format!("{}dashboard", province.url()))
        .await?;
    browser.wait_for_text("Đã trả").await?;
    let line = format!("div.line[data-office='{COMMUNE}']");
    let returned_here = browser
        .find(&format!("{line} span[data-col='returned']"))
        .await?
        .text()
        .await?;
    let early = browser
        .find(&format!("{line} span[data-col='early']"))
        .await?
        .text()
        .await?;
    browser.screenshot_full("province-dashboard").await?;
    ensure!(
        returned_here.trim() == "1",
        "the dashboard counts {returned_here:?} returned at the commune"
    );
    // Issued a day and a half into three working days: early (D6).
    ensure!(early.trim() == "1", "the dashboard counts {early:?} early");

    browser.close().await?;
    for console in [commune, district, province] {
        console.shutdown().await;
    }
    offices.net.stop_all().await;
    Ok(())
}
