//! The console's own words (the shell, signing in, errors). Pages with
//! many words of their own keep them beside the page, declared the same
//! way ([`catalogue!`](crate::catalogue)).

crate::catalogue! {
    ConsoleMsg;
    AppName => "Liên Thông — Một cửa liên thông", "Liên Thông — one-stop office";
    NavDesk => "Bàn làm việc", "Desk";
    NavReceive => "Tiếp nhận hồ sơ", "Receive a dossier";
    NavSync => "Đồng bộ", "Sync";
    NavDashboard => "Tổng hợp", "Dashboard";
    NavAccounts => "Tài khoản", "Accounts";
    SignedInAs => "{name} ({role})", "{name} ({role})";
    SignOut => "Đăng xuất", "Sign out";
    SwitchLanguage => "English", "Tiếng Việt";

    // ── Signing in ───────────────────────────────────────────────────────
    SignInTitle => "Đăng nhập", "Sign in";
    SignInName => "Tên đăng nhập", "Sign-in name";
    SignInPassword => "Mật khẩu", "Password";
    SignInButton => "Đăng nhập", "Sign in";
    SignInBad => "Sai tên đăng nhập hoặc mật khẩu.", "Wrong name or password.";
    SignInCrossSite => "Trang đăng nhập này được gửi từ một trang web khác nên đã bị từ chối. Hãy mở bảng điều khiển trực tiếp rồi đăng nhập lại.", "This sign-in came from another web site and was refused. Open the console directly and sign in again.";
    SignInLocked => "Đăng nhập sai quá nhiều lần: tài khoản bị khóa đến {until}. Hãy chờ, hoặc nhờ quản trị viên.", "Too many failed sign-ins: the account is locked until {until}. Wait, or ask an administrator.";
    SignInNoAccounts => "Nút này chưa có tài khoản nào. Quản trị viên tạo tài khoản bằng lệnh: lienthong account add", "This node has no accounts yet. An administrator creates one with: lienthong account add";

    // ── Errors ───────────────────────────────────────────────────────────
    ErrorTitle => "Không thực hiện được", "Not done";
    ErrorNothingChanged => "Không có gì bị thay đổi.", "Nothing was changed.";
    ErrorBack => "Quay lại", "Go back";
    ErrorCsrf => "Biểu mẫu đã hết hiệu lực hoặc không phải gửi từ bảng điều khiển này (thiếu mã chống giả mạo). Hãy tải lại trang rồi làm lại.", "The form has expired or was not sent from this console (its anti-forgery token is missing or wrong). Reload the page and try again.";
    ErrorRole => "Vai trò {role} không được làm việc này: {what}.", "The role {role} may not do this: {what}.";
    ErrorNotFound => "Không có trang này.", "There is no such page.";
    ErrorBadForm => "Biểu mẫu không hợp lệ: {detail}", "The form is not valid: {detail}";
    ErrorInternal => "Lỗi của hệ thống: {detail}. Hãy báo quản trị viên.", "A system error: {detail}. Tell the administrator.";
    ErrorSessionEnded => "Phiên làm việc đã kết thúc. Hãy đăng nhập lại.", "The session has ended. Sign in again.";
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<super::ConsoleMsg>().unwrap();
    }
}
