//! Refusals: each gets a page saying what is wrong, and each changes
//! nothing — no session opened, nothing written to the store.

use anyhow::Result;
use lienthong::console::auth::SESSION_COOKIE;
use lienthong::console::messages::ConsoleMsg;
use lienthong::i18n::Lang;
use lienthong_tests::browser::Browser;

use super::http::{Http, blocking};
use super::support::{COMMUNE, Offices, PASSWORD, TestClock, local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_gets_a_clear_page_and_no_session() -> Result<()> {
    let offices = Offices::init(&[COMMUNE], TestClock::at(local(2, 8, 0)))?;
    let console = offices.console(COMMUNE).await?;
    let mut browser = Browser::start("wrong_password").await?;

    browser.goto(&format!("{}sign-in", console.url())).await?;
    browser.fill("input[name=name]", "hoa").await?;
    browser
        .fill("input[name=password]", "không-phải-mật-khẩu")
        .await?;
    browser
        .click_and_wait("form[action='/sign-in'] button")
        .await?;
    let text = browser
        .wait_for_text(ConsoleMsg::SignInBad.text(Lang::Vi))
        .await?;
    assert!(
        text.contains(ConsoleMsg::SignInBad.text(Lang::En)),
        "{text}"
    );
    browser.screenshot("wrong-password").await?;
    assert_eq!(browser.cookie(SESSION_COOKIE).await?, None);
    // Still not signed in: the desk sends the browser back to sign in.
    browser.goto(&format!("{}desk", console.url())).await?;
    assert!(browser.path().await?.starts_with("/sign-in"));

    // The same over plain HTTP: 401, no cookie; an unknown name alike.
    let base = console.url();
    let answers = blocking(move || {
        let http = Http::new(&base);
        Ok([
            http.post(
                "/sign-in",
                &[("name", "hoa"), ("password", "sai-mat-khau-roi")],
            )?,
            http.post("/sign-in", &[("name", "nobody"), ("password", PASSWORD)])?,
        ])
    })
    .await?;
    for answer in &answers {
        assert_eq!(answer.status, 401, "{answer:?}");
        assert!(
            !answer
                .set_cookie
                .iter()
                .any(|c| c.starts_with(SESSION_COOKIE)),
            "{answer:?}"
        );
        assert!(answer.body.contains(ConsoleMsg::SignInBad.text(Lang::Vi)));
    }

    browser.close().await?;
    console.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() -> Result<()> {
    let offices = Offices::init(&[COMMUNE], TestClock::at(local(2, 8, 0)))?;
    let console = offices.console(COMMUNE).await?;
    let mut browser = Browser::start("csrf").await?;

    browser.goto(&format!("{}sign-in", console.url())).await?;
    browser.fill("input[name=name]", "hoa").await?;
    browser.fill("input[name=password]", PASSWORD).await?;
    browser
        .click_and_wait("form[action='/sign-in'] button")
        .await?;
    assert_eq!(browser.path().await?, "/desk");

    // A forged sign-out: the form without its token.
    browser
        .client()
        .execute(
            "document.querySelector(\"form[action='/sign-out'] input[name=csrf]\").remove();",
            vec![],
        )
        .await?;
    browser
        .click_and_wait("form[action='/sign-out'] button")
        .await?;
    let text = browser
        .wait_for_text(ConsoleMsg::ErrorCsrf.text(Lang::Vi))
        .await?;
    assert!(
        text.contains(ConsoleMsg::ErrorNothingChanged.text(Lang::Vi)),
        "{text}"
    );
    browser.screenshot("csrf-refused").await?;
    // Nothing changed: the session is still open.
    browser.goto(&format!("{}desk", console.url())).await?;
    assert_eq!(browser.path().await?, "/desk");

    // Over plain HTTP: a missing and a wrong token are both 403, and the
    // session survives them; the right token signs out.
    let base = console.url();
    blocking(move || {
        let mut http = Http::new(&base);
        http.sign_in("hoa", PASSWORD)?;
        let csrf = http.csrf()?;
        for form in [vec![], vec![("csrf", "forged-token")]] {
            let answer = http.post("/sign-out", &form)?;
            assert_eq!(answer.status, 403, "{answer:?}");
            assert!(answer.body.contains(ConsoleMsg::ErrorCsrf.text(Lang::Vi)));
            assert_eq!(http.get("/desk")?.status, 200, "the session survives");
        }
        let answer = http.post("/sign-out", &[("csrf", &csrf)])?;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(http.get("/desk")?.status, 303, "signed out now");
        Ok(())
    })
    .await?;

    browser.close().await?;
    console.shutdown().await;
    Ok(())
}
