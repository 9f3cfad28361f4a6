//! The account and API-token services' refusals in words (lời từ chối),
//! from a catalogue: the CLI prints them in `LIENTHONG_LANG`, the console
//! Vietnamese first with English beside, as `Locale::action_error` words
//! the workflow's refusals. The `#[error]` texts stay for logs.

use super::accounts::{AccountError, MIN_PASSWORD_CHARS};
use super::api_tokens::TokenError;
use crate::i18n::Locale;

crate::catalogue! {
    ServiceMsg;
    AccountInvalidName => "“{name}” không dùng được làm tên đăng nhập: 2–32 ký tự gồm chữ thường, số, “.”, “-”, “_”, bắt đầu bằng chữ cái; không có gì được ghi", "“{name}” is not a sign-in name: use 2–32 lowercase letters, digits, “.”, “-” or “_”, starting with a letter; nothing was recorded";
    AccountNoDisplay => "hãy ghi họ và tên cán bộ (--full-name): tên này được ghi trên mọi sự kiện họ thực hiện; không có gì được ghi", "give the officer's full name (--full-name): it is written on every event they record; nothing was recorded";
    AccountUnknownRole => "không có vai trò “{role}”: dùng desk, processing, leader hoặc admin", "unknown role “{role}”: use desk, processing, leader or admin";
    AccountWeak => "mật khẩu quá ngắn: cần ít nhất {n} ký tự; không có gì được ghi", "the password is too short: use at least {n} characters; nothing was recorded";
    AccountExists => "đã có tài khoản “{name}” trên nút này: chọn tên khác (`lienthong account list` liệt kê các tài khoản)", "an account “{name}” already exists on this node: choose another name (`lienthong account list` lists them)";
    AccountBadCredentials => "sai tên đăng nhập hoặc mật khẩu", "wrong name or password";
    AccountLocked => "đăng nhập sai quá nhiều lần: tài khoản bị khóa đến {until}", "too many failed sign-ins: the account is locked until {until}";
    AccountHash => "không băm được mật khẩu ({detail}); không có gì được ghi", "the password could not be hashed ({detail}); nothing was recorded";
    TokenInvalidName => "“{name}” không dùng được làm tên mã truy cập: 2–64 ký tự gồm chữ cái, số, “.”, “-”, “_”, bắt đầu bằng chữ cái; không có gì được ghi", "“{name}” is not a token name: use 2–64 letters, digits, “.”, “-” or “_”, starting with a letter; nothing was recorded";
    TokenExists => "đã có mã truy cập tên “{name}” trên nút này (mã đã thu hồi vẫn giữ tên): chọn tên khác", "a token named “{name}” already exists on this node (revoked tokens keep their name): choose another name";
    TokenNoSuch => "không có mã truy cập nào đang dùng tên “{name}” trên nút này (`lienthong api-token list` liệt kê chúng)", "no active token named “{name}” on this node (`lienthong api-token list` lists them)";
    StoreFailed => "lỗi kho dữ liệu của nút: {detail}", "the node's store failed: {detail}";
}

/// An account refusal in `l`'s language; a lock's end in local time.
pub fn account_error(l: &Locale<'_>, error: &AccountError) -> String {
    use AccountError as E;
    match error {
        E::InvalidName(name) => l.f(ServiceMsg::AccountInvalidName, &[("name", name)]),
        E::NoDisplayName => l.t(ServiceMsg::AccountNoDisplay).to_string(),
        E::UnknownRole(role) => l.f(ServiceMsg::AccountUnknownRole, &[("role", role)]),
        E::WeakPassword => l.f(
            ServiceMsg::AccountWeak,
            &[("n", &MIN_PASSWORD_CHARS.to_string())],
        ),
        E::Exists(name) => l.f(ServiceMsg::AccountExists, &[("name", name)]),
        E::BadCredentials => l.t(ServiceMsg::AccountBadCredentials).to_string(),
        E::Locked { until } => l.f(ServiceMsg::AccountLocked, &[("until", &l.datetime(*until))]),
        E::Hash(detail) => l.f(ServiceMsg::AccountHash, &[("detail", detail)]),
        E::Store(e) => l.f(ServiceMsg::StoreFailed, &[("detail", &e.to_string())]),
    }
}

/// An API-token refusal in `l`'s language.
pub fn token_error(l: &Locale<'_>, error: &TokenError) -> String {
    use TokenError as E;
    match error {
        E::InvalidName(name) => l.f(ServiceMsg::TokenInvalidName, &[("name", name)]),
        E::Exists(name) => l.f(ServiceMsg::TokenExists, &[("name", name)]),
        E::NoSuchToken(name) => l.f(ServiceMsg::TokenNoSuch, &[("name", name)]),
        E::Store(e) => l.f(ServiceMsg::StoreFailed, &[("detail", &e.to_string())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn service_catalogue_is_complete() {
        crate::i18n::check_catalogue::<ServiceMsg>().unwrap();
    }

    #[test]
    fn refusals_are_worded_in_each_language() {
        let network = lienthong_shared::builtin::quang_nam_3tier();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let vi = Locale::new(Lang::Vi, tz, &network.offices);
        let en = Locale::new(Lang::En, tz, &network.offices);
        let exists = AccountError::Exists("hoa".into());
        assert_eq!(
            account_error(&vi, &exists),
            "đã có tài khoản “hoa” trên nút này: chọn tên khác (`lienthong account list` liệt kê các tài khoản)"
        );
        assert!(account_error(&en, &exists).starts_with("an account “hoa” already exists"));
        assert!(account_error(&vi, &AccountError::WeakPassword).contains("ít nhất 10 ký tự"));
        let token = TokenError::Exists("erp".into());
        assert!(token_error(&vi, &token).starts_with("đã có mã truy cập tên “erp”"));
        assert!(token_error(&en, &token).starts_with("a token named “erp” already exists"));
        let until = chrono::DateTime::parse_from_rfc3339("2026-03-02T01:30:00Z")
            .unwrap()
            .to_utc();
        // The lock's end in the office's local time (UTC+7), not UTC.
        assert!(account_error(&vi, &AccountError::Locked { until }).contains("02/03/2026 08:30"));
    }
}
