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
}
