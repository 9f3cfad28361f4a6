//! Officers' accounts on this node: who may sign in to the console, with
//! which role, and the lock-out after repeated failed sign-ins.
//!
//! Passwords are kept only as Argon2id hashes (memory-hard). New hashes use
//! 7 MiB and five passes, one lane: of the settings OWASP's password storage
//! cheat sheet lists as equivalent (19 MiB × 2, 12 MiB × 3, 9 MiB × 4,
//! 7 MiB × 5), the one needing least memory, so that a sign-in keeps the
//! console within its memory budget. The parameters are in each PHC string:
//! hashes made with other settings (the crate's default, 19 MiB × 2, before)
//! keep verifying with their own. One Argon2 computation runs at a time in
//! the process (a queue): a flood of sign-ins waits, it does not multiply
//! the memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use lienthong_shared::dossier::ActionKind;
use rand::RngCore;

use crate::node::Node;
use crate::store::StoreError;
use crate::store::accounts::AccountRow;

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// What an officer does at the office, as at a real one-stop desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Cán bộ một cửa: receives dossiers and returns results.
    Desk,
    /// Cán bộ xử lý: appraises, verifies, consults.
    Processing,
    /// Lãnh đạo: approves, issues results, stops, apologises.
    Leader,
    /// Quản trị: manages accounts; takes no part in the workflow.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Desk, Role::Processing, Role::Leader, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Desk => "desk",
            Role::Processing => "processing",
            Role::Leader => "leader",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    /// The Vietnamese title of the role.
    pub fn label_vi(self) -> &'static str {
        match self {
            Role::Desk => "Cán bộ một cửa",
            Role::Processing => "Cán bộ xử lý",
            Role::Leader => "Lãnh đạo",
            Role::Admin => "Quản trị hệ thống",
        }
    }

    /// May an officer of this role record `kind`? (Whether the rules allow
    /// it on a dossier now is the fold's question, asked after this one.)
    pub fn may(self, kind: ActionKind) -> bool {
        use ActionKind as K;
        let desk = matches!(
            kind,
            K::Submitted
                | K::Received
                | K::Refused
                | K::Forwarded
                | K::ForwardCancelled
                | K::SupplementRequested
                | K::SupplementReceived
                | K::Paid
                | K::WithdrawalRequested
                | K::Returned
                | K::Note
        );
        let processing = matches!(
            kind,
            K::Accepted
                | K::Forwarded
                | K::ForwardCancelled
                | K::Appraised
                | K::VerificationScheduled
                | K::Consulted
                | K::ConsultationAnswered
                | K::SupplementRequested
                | K::PaymentRequested
                | K::Note
        );
        match self {
            Role::Desk => desk,
            Role::Processing => processing,
            Role::Leader => {
                processing
                    || matches!(
                        kind,
                        K::Approved | K::ResultIssued | K::Stopped | K::Apologized
                    )
            }
            Role::Admin => false,
        }
    }

    /// May an officer of this role create accounts?
    pub fn manages_accounts(self) -> bool {
        self == Role::Admin
    }
}

/// A signed-in (or listed) officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Why an account was not created or a sign-in refused. Nothing secret is
/// said: a wrong name and a wrong password read the same.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "`{0}` is not a sign-in name: use 2–32 lowercase letters, digits, `.`, `-` or `_`, starting with a letter"
    )]
    InvalidName(String),
    #[error("the officer's full name is empty: it is written on every event they record")]
    NoDisplayName,
    #[error("unknown role `{0}`: use desk, processing, leader or admin")]
    UnknownRole(String),
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("an account `{0}` already exists on this node")]
    Exists(String),
    #[error("wrong name or password")]
    BadCredentials,
    #[error("too many failed sign-ins: the account is locked until {until} (UTC)")]
    Locked { until: DateTime<Utc> },
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn valid_name(name: &str) -> bool {
    (2..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Argon2id memory of new hashes, in KiB (OWASP: 7 MiB with 5 passes).
pub const HASH_MEMORY_KIB: u32 = 7 * 1024;
/// Passes over that memory.
pub const HASH_PASSES: u32 = 5;

/// The hasher of new passwords.
fn argon2() -> Result<Argon2<'static>, AccountError> {
    let params = Params::new(HASH_MEMORY_KIB, HASH_PASSES, 1, None)
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The sign-in queue: one Argon2 computation at a time in this process.
static HASHING: Mutex<()> = Mutex::new(());
/// Argon2 computations running now, and the most ever at once (the queue's
/// own check).
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST_AT_ONCE: AtomicUsize = AtomicUsize::new(0);

/// Run one Argon2 computation, after those queued before it.
fn one_at_a_time<T>(compute: impl FnOnce() -> T) -> T {
    let _turn = HASHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_AT_ONCE.fetch_max(now, Ordering::SeqCst);
    let result = compute();
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    result
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    let argon2 = argon2()?;
    one_at_a_time(|| {
        argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
}

/// Whether `password` matches `stored`, computed with the parameters
/// `stored` names (older hashes keep theirs).
fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        one_at_a_time(|| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
}

pub(crate) fn account_of(row: &AccountRow) -> Option<Account> {
    Some(Account {
        name: row.name.clone(),
        display_name: row.display_name.clone(),
        role: Role::parse(&row.role)?,
        locked_until: row.locked_until,
    })
}

/// Create an account on this node.
pub fn add(
    node: &mut Node,
    name: &str,
    display_name: &str,
    role: Role,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Account, AccountError> {
    let name = name.trim();
    if !valid_name(name) {
        return Err(AccountError::InvalidName(name.to_string()));
    }
    if display_name.trim().is_empty() {
        return Err(AccountError::NoDisplayName);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    // Hashing is deliberately slow: outside the write lock.
    let row = AccountRow {
        name: name.to_string(),
        display_name: display_name.trim().to_string(),
        role: role.as_str().to_string(),
        password_hash: hash_password(password)?,
        failed_attempts: 0,
        locked_until: None,
        created_at: now,
    };
    if !node.store.write(|w| w.insert_account(&row))? {
        return Err(AccountError::Exists(name.to_string()));
    }
    Ok(account_of(&row).expect("a role written from a Role reads back"))
}

/// Every account on this node.
pub fn list(node: &mut Node) -> Result<Vec<Account>, AccountError> {
    let rows = node.store.read(|r| r.accounts())?;
    Ok(rows.iter().filter_map(account_of).collect())
}

/// Check a sign-in at `now`. A wrong password counts a failure; the
/// [`MAX_FAILURES`]th in a row locks the account for [`LOCKOUT_MINUTES`],
/// during which even the right password is refused; a success clears the
/// count. An unknown name is refused the same way as a wrong password.
pub fn sign_in(
    node: &mut Node,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Account, AccountError> {
    let name = name.trim();
    let Some(row) = node.store.read(|r| r.account(name))? else {
        // Spend the same time as a real check, so a name's existence does
        // not show in the response time.
        let _ = password_matches(password, &DUMMY_HASH);
        return Err(AccountError::BadCredentials);
    };
    if let Some(until) = row.locked_until.filter(|until| *until > now) {
        return Err(AccountError::Locked { until });
    }
    if password_matches(password, &row.password_hash) {
        if row.failed_attempts > 0 || row.locked_until.is_some() {
            node.store.write(|w| w.set_sign_in_state(name, 0, None))?;
        }
        return account_of(&row).ok_or(AccountError::BadCredentials);
    }
    // A lock that has run out starts the count again.
    let before = if row.locked_until.is_some() {
        0
    } else {
        row.failed_attempts
    };
    let failures = before.saturating_add(1);
    let locked = (failures >= MAX_FAILURES).then(|| now + Duration::minutes(LOCKOUT_MINUTES));
    let stored_failures = if locked.is_some() { 0 } else { failures };
    node.store
        .write(|w| w.set_sign_in_state(name, stored_failures, locked))?;
    match locked {
        Some(until) => Err(AccountError::Locked { until }),
        None => Err(AccountError::BadCredentials),
    }
}

/// A hash with the current parameters of a random password, checked against
/// when the name is unknown (so it costs what a real check costs).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut password = [0u8; 16];
    rand::rng().fill_bytes(&mut password);
    hash_password(&data_encoding::HEXLOWER.encode(&password)).unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_as_at_a_real_desk() {
        assert!(Role::Desk.may(ActionKind::Received));
        assert!(Role::Desk.may(ActionKind::Returned));
        assert!(!Role::Desk.may(ActionKind::Approved));
        assert!(Role::Processing.may(ActionKind::Appraised));
        assert!(!Role::Processing.may(ActionKind::Approved));
        assert!(!Role::Processing.may(ActionKind::ResultIssued));
        assert!(Role::Leader.may(ActionKind::Approved));
        assert!(Role::Leader.may(ActionKind::ResultIssued));
        assert!(!Role::Leader.may(ActionKind::Received));
        assert!(ActionKind::KNOWN.iter().all(|k| !Role::Admin.may(*k)));
        assert!(Role::Admin.manages_accounts() && !Role::Leader.manages_accounts());
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn names_and_hashes() {
        assert!(valid_name("hoa.tran") && valid_name("b2"));
        assert!(!valid_name("Hoa") && !valid_name("1ab") && !valid_name("a b") && !valid_name("x"));
        let hash = hash_password("mật khẩu dài đủ").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("mật khẩu dài đủ", &hash));
        assert!(!password_matches("mật khẩu dài đu", &hash));
        assert_ne!(hash, hash_password("mật khẩu dài đủ").unwrap(), "salted");
        assert!(!password_matches("anything", "not a phc string"));
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
    }

    /// Issue 9: new hashes take 7 MiB, not 19; a hash made with the old
    /// setting (the crate's default, 19 MiB × 2) still verifies.
    #[test]
    fn new_hashes_use_less_memory_and_old_ones_still_verify() {
        let new = hash_password("mật khẩu dài đủ").unwrap();
        assert!(new.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{new}");
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let old = Argon2::default()
            .hash_password("mật khẩu cũ".as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(old.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{old}");
        assert!(password_matches("mật khẩu cũ", &old));
        assert!(!password_matches("mật khẩu mới", &old));
    }

    /// The sign-in queue: hashes asked for by several threads at once run
    /// one after another.
    #[test]
    fn argon2_runs_one_at_a_time() {
        let threads: Vec<_> = (0..4)
            .map(|i| std::thread::spawn(move || hash_password(&format!("mật khẩu số {i}"))))
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        assert_eq!(MOST_AT_ONCE.load(Ordering::SeqCst), 1);
    }
}
