//! The officer commands' own refusals of what was typed (before the service
//! is asked), Vietnamese first, English with `LIENTHONG_LANG=en`.

crate::catalogue! {
    CliMsg;
    /// `receive` without an applicant's name (người nộp hồ sơ).
    ApplicantMissing => "--applicant phải ghi họ tên người nộp hồ sơ; không có gì được ghi", "--applicant must name the applicant; nothing was recorded";
    /// `apologize` without a new due time (Mẫu 04).
    NewDueMissing => "hãy cho ngày hẹn trả mới: --new-due 'YYYY-MM-DD HH:MM' hoặc --extra-days N; không có gì được ghi", "give the new due time: --new-due 'YYYY-MM-DD HH:MM' or --extra-days N; nothing was recorded";
    /// A time that does not parse.
    NotATime => "`{text}` không phải là thời gian: hãy ghi giờ địa phương `YYYY-MM-DD HH:MM` (vd. 2026-02-13 09:30), `dd/mm/yyyy HH:MM` (13/02/2026 09:30) hoặc RFC 3339 (2026-02-13T09:30:00+07:00)", "`{text}` is not a time: use local `YYYY-MM-DD HH:MM` (e.g. 2026-02-13 09:30), `dd/mm/yyyy HH:MM` (13/02/2026 09:30) or RFC 3339 (2026-02-13T09:30:00+07:00)";
    /// A local time skipped by the zone (never in Việt Nam, possible elsewhere).
    TimeDoesNotExist => "`{text}` không tồn tại theo múi giờ {tz}", "`{text}` does not exist in {tz}";

    // ── Accounts and API tokens (the administrator's commands) ──────────
    NotARole => "`{text}` không phải là vai trò: dùng desk, processing, leader hoặc admin", "`{text}` is not a role: use desk, processing, leader or admin";
    PasswordsDiffer => "hai mật khẩu khác nhau; chưa tạo tài khoản nào, hãy chạy lại lệnh", "the two passwords differ; nothing was created, run the command again";
    NoPassword => "không có mật khẩu ở đầu vào chuẩn: hãy chuyển vào, vd. printf '%s\\n' \"$PASSWORD\" | lienthong account add …", "no password on standard input: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | lienthong account add …";
    ColName => "tên đăng nhập", "name";
    ColFullName => "họ tên", "full name";
    ColRole => "vai trò", "role";
    ColLockedUntil => "khóa đến", "locked until";
    ColCreated => "tạo lúc", "created";
    ColRevoked => "thu hồi lúc", "revoked";
    TokenCreated => "đã tạo mã truy cập `{name}`, vai trò {role}; mã chỉ hiện một lần này — hãy giữ bí mật:", "token `{name}` created, role {role}; it is shown this once — keep it secret:";
    TokenRevoked => "đã thu hồi mã truy cập `{name}`", "token `{name}` revoked";
    /// `lienthong console`, once listening.
    ConsoleAt => "lienthong: bảng điều khiển tại {url} (Ctrl-C để dừng)", "lienthong: console at {url} (Ctrl-C to stop)";
}

/// A role as the office calls it, "Cán bộ một cửa"; in English with the
/// word the commands take beside it, "Cán bộ một cửa (desk)".
pub fn role_label(role: crate::service::accounts::Role, lang: crate::i18n::Lang) -> String {
    match lang {
        crate::i18n::Lang::Vi => role.label_vi().to_string(),
        crate::i18n::Lang::En => format!("{} ({})", role.label_vi(), role.as_str()),
    }
}

/// `--role`'s parser for `account add` and `api-token add`.
pub fn parse_role(text: &str) -> Result<crate::service::accounts::Role, String> {
    crate::service::accounts::Role::parse(text).ok_or_else(|| {
        crate::i18n::fill(
            CliMsg::NotARole.text(crate::i18n::Lang::from_env()),
            &[("text", text)],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn both_languages_name_the_same_values() {
        crate::i18n::check_catalogue::<CliMsg>().unwrap();
    }

    /// Issue 9: the CLI's own errors come from the catalogue too.
    #[test]
    fn a_bad_time_is_refused_in_the_officers_language() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let vi = super::super::args::parse_time_in("ngày mai", tz, Lang::Vi).unwrap_err();
        assert!(
            vi.to_string()
                .starts_with("`ngày mai` không phải là thời gian"),
            "{vi}"
        );
        let en = super::super::args::parse_time_in("tomorrow", tz, Lang::En).unwrap_err();
        assert!(
            en.to_string().starts_with("`tomorrow` is not a time"),
            "{en}"
        );
        assert!(super::super::args::parse_time_in("13/02/2026 09:30", tz, Lang::Vi).is_ok());
    }

    #[test]
    fn roles_are_named_as_the_office_names_them() {
        use crate::service::accounts::Role;
        assert_eq!(role_label(Role::Desk, Lang::Vi), "Cán bộ một cửa");
        assert_eq!(role_label(Role::Leader, Lang::En), "Lãnh đạo (leader)");
        assert_eq!(parse_role("leader"), Ok(Role::Leader));
        assert!(parse_role("boss").unwrap_err().starts_with("`boss`"));
    }
}
