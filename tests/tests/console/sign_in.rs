//! Signing in and out in the browser: the desk is closed to a visitor,
//! opens to an officer's password, and closes again on signing out.

use anyhow::Result;
use lienthong::console::auth::SESSION_COOKIE;
use lienthong::console::messages::ConsoleMsg;
use lienthong::i18n::Lang;
use lienthong_tests::browser::Browser;

use super::support::{COMMUNE, Offices, PASSWORD, TestClock, local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_signs_in_sees_the_desk_in_vietnamese_and_signs_out() -> Result<()> {
    let offices = Offices::init(&[COMMUNE], TestClock::at(local(2, 8, 0)))?;
    let console = offices.console(COMMUNE).await?;
    let mut browser = Browser::start("sign_in").await?;

    // A visitor asking for the desk is sent to sign in first.
    browser.goto(&format!("{}desk", console.url())).await?;
    assert_eq!(browser.path().await?, "/sign-in?next=%2Fdesk");
    let text = browser
        .wait_for_text(ConsoleMsg::SignInTitle.text(Lang::Vi))
        .await?;
    // The office's name, with its diacritics, heads the page.
    assert!(text.contains("Điện Phương"), "{text}");
    assert!(
        text.contains("Tên đăng nhập") && text.contains("Mật khẩu"),
        "{text}"
    );
    browser.screenshot("sign-in").await?;
    assert_eq!(browser.cookie(SESSION_COOKIE).await?, None);

    browser.fill("input[name=name]", "hoa").await?;
    browser.fill("input[name=password]", PASSWORD).await?;
    browser
        .click_and_wait("form[action='/sign-in'] button")
        .await?;

    // Back where the officer was going, signed in, in Vietnamese.
    assert_eq!(browser.path().await?, "/desk");
    let text = browser
        .wait_for_text(ConsoleMsg::NavDesk.text(Lang::Vi))
        .await?;
    assert!(text.contains("Trần Thị Hoa"), "{text}");
    assert!(text.contains("Cán bộ một cửa"), "{text}");
    assert!(
        text.contains("Tiếp nhận hồ sơ"),
        "a desk officer may receive: {text}"
    );
    assert!(browser.cookie(SESSION_COOKIE).await?.is_some());
    browser.screenshot("desk").await?;

    // English first, on the officer's word; Vietnamese stays beside it.
    browser.click_and_wait("a.lang").await?;
    assert_eq!(browser.path().await?, "/desk");
    let heading = browser.find("main h1").await?.text().await?;
    assert!(heading.starts_with("Desk"), "{heading}");
    assert!(heading.contains("Bàn làm việc"), "{heading}");
    browser.screenshot("desk-english").await?;
    browser.click_and_wait("a.lang").await?;
    let heading = browser.find("main h1").await?.text().await?;
    assert!(heading.starts_with("Bàn làm việc"), "{heading}");

    // Signing out ends the session: the desk asks for a password again.
    browser
        .click_and_wait("form[action='/sign-out'] button")
        .await?;
    assert!(browser.path().await?.starts_with("/sign-in"));
    assert_eq!(browser.cookie(SESSION_COOKIE).await?, None);
    browser.goto(&format!("{}desk", console.url())).await?;
    assert_eq!(browser.path().await?, "/sign-in?next=%2Fdesk");
    browser.screenshot("signed-out").await?;

    browser.close().await?;
    console.shutdown().await;
    Ok(())
}
