//! Delivering the notice outbox (issue 10): the daemon hands each queued
//! notice to the gateway configured in `node.toml` (`[gateway]`), an HTTP
//! webhook ([`webhook`]) or a command hook ([`command`]).
//!
//! Delivery is at least once: a notice stays in the outbox until one try
//! succeeds, and a try whose answer was lost is made again. Every try of a
//! notice carries the same idempotency key ([`idempotency_key`]), so the
//! receiver drops what it has seen. A failed try is counted, its error kept
//! (`lienthong notices` shows it), and the next one waits an exponential
//! backoff with jitter, capped ([`backoff`]). Time is an input: the store
//! functions here take `now`, the daemon's loop passes the clock.

pub mod command;
pub mod webhook;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::GatewayConfig;
use crate::notices::{self, OutboxEntry};
use crate::store::{Store, StoreError};

/// The first retry waits about this long; each later one twice the last.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(30);

/// At most this many notices are tried in one pass (the rest wait for the next).
pub const BATCH: usize = 50;

/// The most bytes of an error (a response body, a command's stderr) kept.
pub const MAX_ERROR_BYTES: usize = 2048;

/// The stable key of one notice: the same on every try, different for every
/// notice (it names the dossier, the kind and what the notice is about).
/// `lt-` and 32 hex digits of a SHA-256.
pub fn idempotency_key(doc_id: &[u8], kind: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    for part in [doc_id, kind.as_bytes(), key.as_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    format!("lt-{}", data_encoding::HEXLOWER.encode(&digest[..16]))
}

/// How long to wait after the `failures`-th failed try of the notice `id`:
/// `FIRST_BACKOFF · 2^(failures-1)`, capped at `cap`, then between half and
/// all of it (jitter, so notices failed together do not retry together).
/// Deterministic: the jitter comes from a hash of the notice and the try.
pub fn backoff(id: i64, failures: u32, cap: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(20);
    let full = FIRST_BACKOFF.saturating_mul(1 << exponent).min(cap);
    let digest = Sha256::digest([id.to_be_bytes(), i64::from(failures).to_be_bytes()].concat());
    let fraction = f64::from(u16::from_be_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
    full.mul_f64(0.5 + 0.5 * fraction)
}

/// What the receiver gets: the notice, its key and its place in the outbox.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    pub idempotency_key: &'a str,
    #[serde(flatten)]
    pub entry: &'a OutboxEntry,
}

/// A configured way to deliver one notice.
#[derive(Debug, Clone)]
pub enum Gateway {
    Webhook(webhook::Webhook),
    Command(command::CommandHook),
}

impl Gateway {
    /// The gateway of a checked `[gateway]` section.
    pub fn from_config(config: &GatewayConfig) -> Result<Self, String> {
        config.check()?;
        let timeout = Duration::from_secs(config.timeout_seconds);
        Ok(match (&config.webhook, &config.command) {
            (Some(url), _) => Gateway::Webhook(webhook::Webhook::new(
                url,
                timeout,
                config.ca_file.as_deref(),
            )?),
            (None, Some(argv)) => {
                Gateway::Command(command::CommandHook::new(argv.clone(), timeout))
            }
            (None, None) => unreachable!("checked above"),
        })
    }

    /// Try once. `Err` says why, in words for the operator.
    pub fn deliver(&self, body: &[u8], key: &str) -> Result<(), String> {
        match self {
            Gateway::Webhook(hook) => hook.deliver(body, key),
            Gateway::Command(hook) => hook.deliver(body, key),
        }
    }
}

/// What one [`deliver_due`] pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Pass {
    pub delivered: usize,
    pub failed: usize,
}

/// Try every notice due at `now` (at most [`BATCH`]) once. Each outcome is
/// written as soon as it is known, so a crash mid-pass re-sends at most the
/// notice in flight (the receiver drops it by its key).
pub fn deliver_due(
    store: &mut Store,
    gateway: &Gateway,
    max_backoff: Duration,
    now: DateTime<Utc>,
) -> Result<Pass, StoreError> {
    let rows = store.read_now(|r| r.deliverable_notices(now, BATCH))?;
    let mut pass = Pass::default();
    for row in rows {
        let key = idempotency_key(&row.row.doc_id, &row.row.kind, &row.row.key);
        let id = row.id;
        let attempts = row.attempts;
        let entry = notices::entry(row);
        // Every line about this notice carries its outbox id and dossier.
        let span = tracing::info_span!("notice", id, dossier = %entry.notice.code, kind = entry.notice.kind.as_str());
        let _entered = span.enter();
        let body = serde_json::to_vec(&Payload {
            idempotency_key: &key,
            entry: &entry,
        })
        .map_err(|e| StoreError::Invalid(format!("notice {id} as JSON: {e}")))?;
        match gateway.deliver(&body, &key) {
            Ok(()) => {
                store.write(|w| w.mark_notice_delivered(id, now))?;
                tracing::debug!(attempts = attempts.saturating_add(1), "notice delivered");
                pass.delivered += 1;
            }
            Err(error) => {
                let failures = attempts.saturating_add(1);
                let wait = backoff(id, failures, max_backoff);
                let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                tracing::warn!(failures, %error, retry_at = %next, "notice not delivered");
                store.write(|w| w.mark_notice_failed(id, &error, next))?;
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

/// Cut an error text to [`MAX_ERROR_BYTES`] on a character boundary.
pub(crate) fn clip(mut text: String) -> String {
    if text.len() > MAX_ERROR_BYTES {
        let mut end = MAX_ERROR_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests;
