//! A browser for console tests: a real HTTP client (ureq) keeping the
//! session cookie and the page's CSRF token as a browser would, and a
//! clock the test moves. Included with `#[path = "support/browser.rs"]`.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use lienthong::replication::Clock;

/// The password of every test account.
pub const PASSWORD: &str = "mật khẩu đủ dài 2026";

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn new(t: DateTime<Utc>) -> Self {
        TestClock(Arc::new(AtomicI64::new(t.timestamp_millis())))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        self.0.store(t.timestamp_millis(), Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let millis = self.0.clone();
        Clock::new(move || DateTime::from_timestamp_millis(millis.load(Ordering::SeqCst)).unwrap())
    }
}

/// A signed-in browser: the session cookie and the page's CSRF token.
pub struct Browser {
    pub base: String,
    pub agent: ureq::Agent,
    pub cookie: String,
    pub csrf: String,
}

pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    )
}

pub fn reply(response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().read_to_string().unwrap_or_default();
    Reply {
        status,
        location,
        body,
    }
}

/// The value of the first `name="csrf"` hidden field of a page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("the page has a form with a CSRF token");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

impl Browser {
    /// Sign in as `name` at the console at `base` (blocking: call from
    /// `block_in_place`).
    pub fn sign_in(base: &str, name: &str) -> Browser {
        let agent = agent();
        let response = agent
            .post(format!("{base}sign-in"))
            .send_form([("name", name), ("password", PASSWORD), ("next", "/desk")])
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "signing in as {name}");
        let cookie = response
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut browser = Browser {
            base: base.trim_end_matches('/').to_string(),
            agent,
            cookie,
            csrf: String::new(),
        };
        let desk = browser.get("/desk");
        assert_eq!(desk.status, 200, "the desk after signing in");
        browser.csrf = csrf_of(&desk.body);
        browser
    }

    pub fn get(&self, path: &str) -> Reply {
        tokio::task::block_in_place(|| {
            reply(
                self.agent
                    .get(format!("{}{path}", self.base))
                    .header("cookie", &self.cookie)
                    .call()
                    .unwrap(),
            )
        })
    }

    /// Post a form with this session's CSRF token.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all)
    }

    /// Post a form as given (no token added).
    pub fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        tokio::task::block_in_place(|| {
            reply(
                self.agent
                    .post(format!("{}{path}", self.base))
                    .header("cookie", &self.cookie)
                    .send_form(fields.iter().copied())
                    .unwrap(),
            )
        })
    }

    /// Post an action and expect the redirect back to the dossier with its banner.
    pub fn act(&self, code: &str, kind: &str, fields: &[(&str, &str)]) {
        let r = self.post(&format!("/dossiers/{code}/actions/{kind}"), fields);
        assert_eq!(r.status, 303, "{kind} on {code}: {}", r.body);
        assert_eq!(
            r.location.as_deref(),
            Some(format!("/dossiers/{code}?done={kind}").as_str()),
            "{kind} redirects back to the dossier"
        );
        let page = self.get(r.location.as_deref().unwrap());
        assert!(
            page.body.contains("Đã ghi:"),
            "the page after {kind} shows the done banner"
        );
    }

    /// Upload a file (multipart); `csrf` in the action URL as the form has it.
    pub fn upload(
        &self,
        code: &str,
        csrf: &str,
        component: &str,
        name: &str,
        content: &[u8],
    ) -> Result<Reply, String> {
        let boundary = "----lienthong-test-boundary-7d1c";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"component\"\r\n\r\n{component}\r\n").as_bytes(),
        );
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let query = format!("csrf={csrf}");
        tokio::task::block_in_place(|| {
            self.agent
                .post(format!("{}/dossiers/{code}/attachments?{query}", self.base))
                .header("cookie", &self.cookie)
                .content_type(format!("multipart/form-data; boundary={boundary}"))
                .send(&body[..])
                .map(reply)
                .map_err(|e| e.to_string())
        })
    }
}
