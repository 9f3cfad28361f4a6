//! A plain HTTP client for what a browser will not do on its own: post a
//! form without its anti-forgery token, read a status code. Redirects are
//! not followed, so each answer is seen as the console gave it.

use anyhow::{Context, Result, bail};

/// An answer: status, where it redirects, the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub body: String,
}

/// A client holding one console session's cookie (if signed in).
pub struct Http {
    base: String,
    agent: ureq::Agent,
    pub session: Option<String>,
}

impl Http {
    /// `base`: `http://127.0.0.1:PORT/`.
    pub fn new(base: &str) -> Http {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .new_agent();
        Http {
            base: base.trim_end_matches('/').to_string(),
            agent,
            session: None,
        }
    }

    fn answer(response: ureq::http::Response<ureq::Body>) -> Result<Answer> {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let set_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        let body = response.into_body().read_to_string()?;
        Ok(Answer {
            status,
            location,
            set_cookie,
            body,
        })
    }

    fn cookie_header(&self) -> Option<String> {
        self.session
            .as_ref()
            .map(|token| format!("{}={token}", lienthong::console::auth::SESSION_COOKIE))
    }

    pub fn get(&self, path: &str) -> Result<Answer> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(cookie) = self.cookie_header() {
            request = request.header("cookie", cookie);
        }
        Self::answer(request.call().with_context(|| format!("GET {path}"))?)
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Answer> {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(cookie) = self.cookie_header() {
            request = request.header("cookie", cookie);
        }
        Self::answer(
            request
                .send_form(form.iter().copied())
                .with_context(|| format!("POST {path}"))?,
        )
    }

    /// Sign in as `name`; keeps the session cookie.
    pub fn sign_in(&mut self, name: &str, password: &str) -> Result<()> {
        let answer = self.post("/sign-in", &[("name", name), ("password", password)])?;
        let prefix = format!("{}=", lienthong::console::auth::SESSION_COOKIE);
        let Some(token) = answer.set_cookie.iter().find_map(|c| {
            c.split(';')
                .next()
                .and_then(|pair| pair.strip_prefix(&prefix))
                .map(str::to_string)
        }) else {
            bail!(
                "signing in as {name} set no session cookie (status {}): {}",
                answer.status,
                answer.body
            );
        };
        self.session = Some(token);
        Ok(())
    }

    /// The CSRF token of the signed-in session, read from a page's form.
    pub fn csrf(&self) -> Result<String> {
        let page = self.get("/desk")?;
        let marker = "name=\"csrf\" value=\"";
        let start = page
            .body
            .find(marker)
            .map(|i| i + marker.len())
            .context("the desk page carries no csrf field: not signed in?")?;
        let end = page.body[start..]
            .find('"')
            .context("an unterminated csrf value")?;
        Ok(page.body[start..start + end].to_string())
    }
}

/// Run a blocking HTTP exchange off the async runtime's threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await?
}
