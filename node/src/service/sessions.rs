//! The console's sign-in sessions: opened by a good password, found again
//! by the cookie's token, closed by signing out or after
//! [`SESSION_HOURS`]. Each carries a CSRF token that every form the
//! session posts must echo (the synchroniser-token pattern).

use chrono::{DateTime, Duration, Utc};
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::accounts::{Account, AccountError, sign_in};
use crate::node::Node;
use crate::store::StoreError;
use crate::store::console_sessions::SessionRow;

/// How long a session lasts: a working day and then some.
pub const SESSION_HOURS: i64 = 12;

/// A session as the console holds it after a sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie's value (shown to the browser once, stored only hashed).
    pub token: String,
    pub csrf: String,
    pub account: Account,
    pub expires_at: DateTime<Utc>,
}

/// The session a cookie names, with its officer.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Check the password (counting failures and locking as [`sign_in`] does)
/// and open a session.
pub fn open(
    node: &mut Node,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Session, AccountError> {
    let account = sign_in(node, name, password, now)?;
    let session = Session {
        token: random_token(),
        csrf: random_token(),
        account,
        expires_at: now + Duration::hours(SESSION_HOURS),
    };
    let row = SessionRow {
        account: session.account.name.clone(),
        csrf: session.csrf.clone(),
        created_at: now,
        expires_at: session.expires_at,
    };
    node.store
        .write(|w| w.insert_console_session(&token_hash(&session.token), &row))?;
    Ok(session)
}

/// The officer signed in with `token`, if the session is open at `now` and
/// the account still exists and is not locked.
pub fn find(
    node: &mut Node,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, StoreError> {
    let hash = token_hash(token);
    node.store.read(|r| {
        let Some(session) = r.console_session(&hash, now)? else {
            return Ok(None);
        };
        let Some(row) = r.account(&session.account)? else {
            return Ok(None);
        };
        if row.locked_until.is_some_and(|until| until > now) {
            return Ok(None);
        }
        Ok(super::accounts::account_of(&row).map(|account| SignedIn {
            account,
            csrf: session.csrf,
            expires_at: session.expires_at,
        }))
    })
}

/// Sign out: the token no longer names a session.
pub fn close(node: &mut Node, token: &str) -> Result<(), StoreError> {
    node.store
        .write(|w| w.delete_console_session(&token_hash(token)))?;
    Ok(())
}

/// Compare a form's CSRF token with the session's in constant time.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
