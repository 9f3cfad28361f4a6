//! The JSON API's bearer tokens: created by an administrator (`lienthong
//! api-token add`), shown once, stored only as a SHA-256 hash, revoked by
//! name. A token acts with a role, as an officer's account does, and its
//! name is recorded as the officer on every event it makes.

use chrono::{DateTime, Utc};
use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::accounts::Role;
use crate::node::Node;
use crate::store::StoreError;
use crate::store::api_tokens::ApiTokenRow;

/// Every token starts so, to be recognised in a config file or a log.
pub const TOKEN_PREFIX: &str = "lt_";

/// A client of the API, as found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "`{0}` is not a token name: use 2–64 letters, digits, `.`, `-` or `_`, starting with a letter"
    )]
    InvalidName(String),
    #[error("a token named `{0}` already exists on this node (revoked tokens keep their name)")]
    Exists(String),
    #[error("no active token named `{0}` on this node (`lienthong api-token list` shows them)")]
    NoSuchToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn valid_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn client_of(row: ApiTokenRow) -> Option<ApiClient> {
    Some(ApiClient {
        role: Role::parse(&row.role)?,
        name: row.name,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    })
}

/// Create a token named `name` acting as `role`; the token itself is
/// returned once and never again.
pub fn add(
    node: &mut Node,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(ApiClient, String), TokenError> {
    if !valid_name(name) {
        return Err(TokenError::InvalidName(name.to_string()));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", BASE64URL_NOPAD.encode(&bytes));
    let row = ApiTokenRow {
        name: name.to_string(),
        role: role.as_str().to_string(),
        created_at: now,
        revoked_at: None,
    };
    let added = node
        .store
        .write(|w| w.insert_api_token(&row, &token_hash(&token)))?;
    if !added {
        return Err(TokenError::Exists(name.to_string()));
    }
    Ok((
        ApiClient {
            name: row.name,
            role,
            created_at: now,
            revoked_at: None,
        },
        token,
    ))
}

/// Every token of this node, revoked ones included.
pub fn list(node: &mut Node) -> Result<Vec<ApiClient>, TokenError> {
    let rows = node.store.read(|r| r.api_tokens())?;
    Ok(rows.into_iter().filter_map(client_of).collect())
}

/// Revoke the token named `name` from `now` on.
pub fn revoke(node: &mut Node, name: &str, now: DateTime<Utc>) -> Result<(), TokenError> {
    if node.store.write(|w| w.revoke_api_token(name, now))? {
        Ok(())
    } else {
        Err(TokenError::NoSuchToken(name.to_string()))
    }
}

/// The client a bearer token names, if the token exists and is not revoked.
pub fn authenticate(node: &mut Node, token: &str) -> Result<Option<ApiClient>, StoreError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let row = node.store.read(|r| r.api_token(&token_hash(token)))?;
    Ok(row
        .and_then(client_of)
        .filter(|client| client.revoked_at.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("cong-dich-vu"));
        assert!(valid_name("Portal_1.v2"));
        assert!(!valid_name("1portal"));
        assert!(!valid_name("a"));
        assert!(!valid_name("có dấu"));
    }
}
