//! Refusals: each gets a page saying what is wrong, and each changes
//! nothing — no session opened, nothing written to the store.

use anyhow::{Context, Result, ensure};
use lienthong::console::auth::SESSION_COOKIE;
use lienthong::console::messages::ConsoleMsg;
use lienthong::i18n::Lang;
use lienthong::service::{self, Intent, NewDossier};
use lienthong_shared::dossier::schema::Applicant;
use lienthong_tests::browser::Browser;
use serde_json::json;

use super::http::{Http, blocking};
use super::support::{
    COMMUNE, Footprint, Offices, PASSWORD, TestClock, act, local, office, sign_in,
};

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

    // Over plain HTTP: a missing and a wrong token are both 403 and write
    // nothing — not a note on a dossier, not a new dossier — and the
    // session survives them; the right token signs out.
    let code = receive_one(&offices)?;
    let before = Footprint::of(&mut offices.open(COMMUNE)?)?;
    let base = console.url();
    blocking(move || {
        let mut http = Http::new(&base);
        http.sign_in("hoa", PASSWORD)?;
        let csrf = http.csrf()?;
        let note = format!("/dossiers/{code}/actions/note");
        for token in [None, Some("forged-token")] {
            let mut form = vec![("office", COMMUNE), ("text", "ghi chú giả mạo")];
            form.extend(token.map(|t| ("csrf", t)));
            let answer = http.post(&note, &form)?;
            assert_eq!(answer.status, 403, "{answer:?}");
            assert!(
                answer
                    .body
                    .contains(ConsoleMsg::ErrorNothingChanged.text(Lang::Vi))
            );
            let mut form = vec![
                ("procedure", "1.001612"),
                ("name", "Người Giả Mạo"),
                ("component", "0"),
            ];
            form.extend(token.map(|t| ("csrf", t)));
            assert_eq!(http.post("/receive", &form)?.status, 403);
        }
        for form in [vec![], vec![("csrf", "forged-token")]] {
            let answer = http.post("/sign-out", &form)?;
            assert_eq!(answer.status, 403, "{answer:?}");
            assert!(answer.body.contains(ConsoleMsg::ErrorCsrf.text(Lang::Vi)));
            assert_eq!(http.get("/desk")?.status, 200, "the session survives");
        }
        let answer = http.post("/sign-out", &[("csrf", &csrf)])?;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(answer.location.as_deref(), Some("/sign-in"));
        assert_eq!(http.get("/desk")?.status, 303, "signed out now");
        Ok(())
    })
    .await?;
    assert_eq!(Footprint::of(&mut offices.open(COMMUNE)?)?, before);

    browser.close().await?;
    console.shutdown().await;
    Ok(())
}

/// A dossier of 1.001612 (đăng ký hộ kinh doanh) received at the commune's
/// desk: in processing there, its next step the district.
fn receive_one(offices: &Offices) -> Result<String> {
    let mut node = offices.open(COMMUNE)?;
    let applicant = Applicant {
        name: "Nguyễn Thị Lan".into(),
        id_number: "049190005678".into(),
        address: "Thôn Thanh Quýt, phường Điện Phương".into(),
        phone: "0905000111".into(),
        email: String::new(),
        organisation: String::new(),
    };
    let recorded = service::receive(
        &mut node,
        &office(COMMUNE),
        "Trần Thị Hoa",
        offices.clock.now(),
        &NewDossier::at_the_desk("1.001612", applicant),
    )?;
    Ok(recorded.code)
}

/// Submit, from the page the browser shows, a form it does not offer:
/// what a tampered page or a bookmarked request would post.
const FORGE: &str = "const [action, fields] = arguments;
const form = document.createElement('form');
form.method = 'post';
form.action = action;
for (const [name, value] of Object.entries(fields)) {
  const input = document.createElement('input');
  input.type = 'hidden'; input.name = name; input.value = value;
  form.appendChild(input);
}
document.body.appendChild(form);
form.submit();";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_officer_trying_to_approve_is_refused_and_nothing_is_written() -> Result<()> {
    let offices = Offices::init(&[COMMUNE], TestClock::at(local(2, 8, 0)))?;
    let code = receive_one(&offices)?;
    let before = Footprint::of(&mut offices.open(COMMUNE)?)?;
    ensure!(before.events(&code).is_some(), "{before:?}");
    let console = offices.console(COMMUNE).await?;
    let mut browser = Browser::start("role_refused").await?;

    sign_in(&browser, &console.url(), "hoa").await?;
    browser
        .goto(&format!("{}dossiers/{code}", console.url()))
        .await?;
    browser.wait_for_text("Nguyễn Thị Lan").await?;
    // The page offers a desk officer no approval...
    let approve = format!("form[action='/dossiers/{code}/actions/approved']");
    ensure!(browser.find_all(&approve).await?.is_empty());
    // ...but what the page holds back, a forged form still posts.
    let csrf = browser
        .find("input[name=csrf]")
        .await?
        .attr("value")
        .await?
        .context("a csrf field without a value")?;
    let html = browser.find("html").await?;
    browser
        .client()
        .execute(
            FORGE,
            vec![
                json!(format!("/dossiers/{code}/actions/approved")),
                json!({ "csrf": csrf, "office": COMMUNE, "note": "duyệt" }),
            ],
        )
        .await?;
    browser.wait_until_stale(&html).await?;
    let text = browser.wait_for_text("Cán bộ một cửa").await?;
    ensure!(
        text.contains(ConsoleMsg::ErrorNothingChanged.text(Lang::Vi)),
        "{text}"
    );
    ensure!(text.contains("Vai trò"), "{text}");
    browser.screenshot("role-refused").await?;
    ensure!(Footprint::of(&mut offices.open(COMMUNE)?)? == before);

    // The same over plain HTTP: 403.
    let base = console.url();
    let path = format!("/dossiers/{code}/actions/approved");
    let answer = blocking(move || {
        let mut http = Http::new(&base);
        http.sign_in("hoa", PASSWORD)?;
        let csrf = http.csrf()?;
        http.post(&path, &[("csrf", &csrf), ("office", COMMUNE)])
    })
    .await?;
    ensure!(answer.status == 403, "{answer:?}");
    ensure!(answer.body.contains("Cán bộ một cửa"), "{answer:?}");
    ensure!(Footprint::of(&mut offices.open(COMMUNE)?)? == before);

    browser.close().await?;
    console.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_the_rules_refuse_gets_a_clear_page_and_nothing_is_written() -> Result<()> {
    let offices = Offices::init(&[COMMUNE], TestClock::at(local(2, 8, 0)))?;
    let code = receive_one(&offices)?;
    let console = offices.console(COMMUNE).await?;
    let mut browser = Browser::start("rules_refused").await?;

    // The desk officer opens the dossier: forwarding is offered...
    sign_in(&browser, &console.url(), "hoa").await?;
    browser
        .goto(&format!("{}dossiers/{code}", console.url()))
        .await?;
    browser.wait_for_text("Nguyễn Thị Lan").await?;
    let forward = format!("form[action='/dossiers/{code}/actions/forwarded']");
    ensure!(browser.find_all(&forward).await?.len() == 1);
    // ...while a colleague forwards it first, from the CLI's service.
    offices.clock.set(local(2, 8, 30));
    service::act(
        &mut offices.open(COMMUNE)?,
        &code,
        None,
        "Lê Văn Bình",
        offices.clock.now(),
        &Intent::Forward {
            to: None,
            task: None,
            days: None,
        },
    )?;
    let before = Footprint::of(&mut offices.open(COMMUNE)?)?;

    // The stale page's forward is refused by the rules, saying why.
    act(&browser, &code, "forwarded", &[]).await?;
    let text = browser
        .wait_for_text(ConsoleMsg::ErrorNothingChanged.text(Lang::Vi))
        .await?;
    ensure!(
        text.contains(ConsoleMsg::ErrorTitle.text(Lang::Vi)),
        "{text}"
    );
    ensure!(
        text.contains(ConsoleMsg::ErrorNothingChanged.text(Lang::En)),
        "{text}"
    );
    browser.screenshot("rules-refused").await?;
    ensure!(Footprint::of(&mut offices.open(COMMUNE)?)? == before);

    // Over plain HTTP, returning a result nobody issued: 409, unchanged.
    let base = console.url();
    let path = format!("/dossiers/{code}/actions/returned");
    let answer = blocking(move || {
        let mut http = Http::new(&base);
        http.sign_in("hoa", PASSWORD)?;
        let csrf = http.csrf()?;
        http.post(
            &path,
            &[("csrf", &csrf), ("office", COMMUNE), ("channel", "direct")],
        )
    })
    .await?;
    ensure!(answer.status == 409, "{answer:?}");
    ensure!(
        answer
            .body
            .contains(ConsoleMsg::ErrorNothingChanged.text(Lang::Vi)),
        "{answer:?}"
    );
    ensure!(Footprint::of(&mut offices.open(COMMUNE)?)? == before);

    browser.close().await?;
    console.shutdown().await;
    Ok(())
}
