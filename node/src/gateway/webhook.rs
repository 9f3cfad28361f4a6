//! The HTTP webhook: each notice is POSTed as JSON to the configured URL
//! with the header `Idempotency-Key`. A 2xx answer means delivered; any
//! other answer, a refused connection or a timeout is a failed try. At most
//! [`super::MAX_ERROR_BYTES`] of an error body are read.

use std::time::Duration;

use ureq::Agent;

use super::{MAX_ERROR_BYTES, clip};

/// The header carrying the notice's stable key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

#[derive(Debug, Clone)]
pub struct Webhook {
    url: String,
    agent: Agent,
}

impl Webhook {
    /// A webhook at `url`; one try (connect, send, answer) takes at most `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Self {
        let agent = Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Webhook {
            url: url.to_string(),
            agent,
        }
    }

    /// POST the notice once. Blocking: the daemon calls it on a blocking thread.
    pub fn deliver(&self, body: &[u8], key: &str) -> Result<(), String> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header(IDEMPOTENCY_HEADER, key)
            .send(body)
            .map_err(|e| format!("webhook {}: {e}", self.url))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BYTES as u64)
            .read_to_string()
            .unwrap_or_default();
        Err(clip(format!(
            "webhook {} answered {status}: {}",
            self.url,
            text.trim()
        )))
    }
}
