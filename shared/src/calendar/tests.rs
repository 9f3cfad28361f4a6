use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use proptest::prelude::*;

use super::*;

/// A local (Asia/Ho_Chi_Minh, +07) wall-clock time as UTC.
fn local(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Ho_Chi_Minh
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn calendar() -> WorkingCalendar {
    WorkingCalendar::builtin()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/calendar")
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("lienthong-calendar-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(name), text).unwrap();
        self
    }

    fn load(&self) -> Result<WorkingCalendar, ConfigError> {
        WorkingCalendar::load_dir(&self.0, Ho_Chi_Minh, WorkingHours::vietnam_default())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- shipped data

#[test]
fn shipped_data_parses_and_the_directory_agrees_with_the_compiled_copy() {
    let builtin = calendar();
    assert_eq!(builtin.years(), 2025..=2027);
    assert_eq!(builtin.timezone(), Ho_Chi_Minh);
    let loaded =
        WorkingCalendar::load_dir(&configs_dir(), Ho_Chi_Minh, WorkingHours::vietnam_default())
            .unwrap();
    assert_eq!(loaded.years(), 2025..=2027);
    let mut day = date(2025, 1, 1);
    while day.year() <= 2027 {
        assert_eq!(
            builtin.is_working_day(day).unwrap(),
            loaded.is_working_day(day).unwrap(),
            "{day}"
        );
        day = day.succ_opt().unwrap();
    }
}

#[test]
fn tet_2026_is_off_and_saturday_22_august_2026_is_worked() {
    let cal = calendar();
    for day in 16..=20 {
        assert!(
            !cal.is_working_day(date(2026, 2, day)).unwrap(),
            "Feb {day}"
        );
    }
    assert!(
        cal.is_working_day(date(2026, 2, 13)).unwrap(),
        "Fri before Tết"
    );
    assert!(
        cal.is_working_day(date(2026, 2, 23)).unwrap(),
        "Mon after Tết"
    );
    assert!(
        cal.is_working_day(date(2026, 8, 22)).unwrap(),
        "swapped Saturday"
    );
    assert!(
        !cal.is_working_day(date(2026, 8, 31)).unwrap(),
        "bridge day"
    );
    // Ordinary weekends are off, ordinary weekdays are worked.
    assert!(!cal.is_working_day(date(2026, 8, 15)).unwrap(), "Saturday");
    assert!(!cal.is_working_day(date(2026, 8, 16)).unwrap(), "Sunday");
    assert!(!cal.is_working_day(date(2026, 8, 29)).unwrap(), "Saturday");
    assert!(cal.is_working_day(date(2026, 8, 20)).unwrap(), "Thursday");
}

#[test]
fn each_shipped_year_has_the_statutory_holidays_off() {
    let cal = calendar();
    for year in 2025..=2027 {
        for (m, d) in [(1, 1), (4, 30), (9, 2)] {
            let day = date(year, m, d);
            assert!(!cal.is_working_day(day).unwrap(), "{day}");
        }
    }
    // 1 May 2027 is a Saturday: compensated on Monday 3 May.
    assert!(!cal.is_working_day(date(2027, 5, 3)).unwrap());
    // 2025: Friday 2 May off, worked on Saturday 26 April.
    assert!(!cal.is_working_day(date(2025, 5, 2)).unwrap());
    assert!(cal.is_working_day(date(2025, 4, 26)).unwrap());
}

// ------------------------------------------------------------------------- D1

#[test]
fn d1_three_working_days_across_tet_2026() {
    // Received Fri 13 Feb 2026 10:00, 3 working days = 3 × 480 = 1440 min.
    //   Fri 13: 10:00–11:30 (90) + 13:30–17:00 (210) = 300, 1140 left.
    //   Sat 14 – Sun 22: weekend, Tết Mon 16 – Fri 20, weekend.
    //   Mon 23: 480, 660 left.  Tue 24: 480, 180 left.
    //   Wed 25: 07:00 + 180 min = 10:00.
    let cal = calendar();
    let due = cal.add_working_days(local(2026, 2, 13, 10, 0), 3).unwrap();
    assert_eq!(due, local(2026, 2, 25, 10, 0));
    assert_eq!(
        cal.working_minutes_between(local(2026, 2, 13, 10, 0), due)
            .unwrap(),
        1440
    );
}

#[test]
fn d1_counts_the_swapped_saturday_and_stops_at_the_period_end() {
    let cal = calendar();
    // Received Fri 21 Aug 2026 13:30, 1 working day = 480 min.
    //   Fri 21: 13:30–17:00 = 210, 270 left.
    //   Sat 22 (worked): 07:00 + 270 min = 11:30, the end of the morning,
    //   where the result stays (not 13:30).
    let due = cal.add_working_days(local(2026, 8, 21, 13, 30), 1).unwrap();
    assert_eq!(due, local(2026, 8, 22, 11, 30));

    // Received Fri 28 Aug 2026 10:00, 2 working days = 960 min.
    //   Fri 28: 300, 660 left.  Sat 29, Sun 30 weekend; Mon 31 (bridge,
    //   worked on 22 Aug), Tue 1 and Wed 2 Sep (National Day) off.
    //   Thu 3 Sep: 480, 180 left.  Fri 4 Sep: 07:00 + 180 = 10:00.
    let due = cal.add_working_days(local(2026, 8, 28, 10, 0), 2).unwrap();
    assert_eq!(due, local(2026, 9, 4, 10, 0));
}

#[test]
fn d1_a_whole_day_from_the_morning_ends_at_17_00_the_same_day() {
    let cal = calendar();
    let start = local(2026, 3, 2, 7, 0); // Monday
    assert_eq!(
        cal.add_working_days(start, 1).unwrap(),
        local(2026, 3, 2, 17, 0)
    );
    assert_eq!(
        cal.add_working_minutes(start, 270).unwrap(),
        local(2026, 3, 2, 11, 30)
    );
    assert_eq!(
        cal.add_working_minutes(start, 271).unwrap(),
        local(2026, 3, 2, 13, 31)
    );
    // 5 days from Monday 07:00 end Friday 17:00, not the next Monday.
    assert_eq!(
        cal.add_working_days(start, 5).unwrap(),
        local(2026, 3, 6, 17, 0)
    );
    assert_eq!(cal.add_working_minutes(start, 0).unwrap(), start);
}

#[test]
fn d1_received_after_hours_at_lunch_or_on_sunday() {
    let cal = calendar();
    // After hours (Tue 3 Mar 2026 18:00): the next working morning.
    let after_hours = local(2026, 3, 3, 18, 0);
    assert_eq!(
        cal.next_working_instant(after_hours).unwrap(),
        local(2026, 3, 4, 7, 0)
    );
    assert_eq!(
        cal.add_working_days(after_hours, 1).unwrap(),
        local(2026, 3, 4, 17, 0)
    );
    // Exactly at 17:00 is already after hours.
    assert_eq!(
        cal.next_working_instant(local(2026, 3, 3, 17, 0)).unwrap(),
        local(2026, 3, 4, 7, 0)
    );
    // Before opening: the same morning.
    assert_eq!(
        cal.next_working_instant(local(2026, 3, 3, 6, 15)).unwrap(),
        local(2026, 3, 3, 7, 0)
    );
    // Lunch: 13:30 the same day.
    let lunch = local(2026, 3, 3, 12, 10);
    assert_eq!(
        cal.next_working_instant(lunch).unwrap(),
        local(2026, 3, 3, 13, 30)
    );
    assert_eq!(
        cal.add_working_minutes(lunch, 60).unwrap(),
        local(2026, 3, 3, 14, 30)
    );
    // Sunday 8 Mar 2026: Monday 07:00.
    let sunday = local(2026, 3, 8, 10, 0);
    assert_eq!(
        cal.next_working_instant(sunday).unwrap(),
        local(2026, 3, 9, 7, 0)
    );
    assert_eq!(
        cal.add_working_minutes(sunday, 30).unwrap(),
        local(2026, 3, 9, 7, 30)
    );
    // Inside a period: unchanged.
    let inside = local(2026, 3, 3, 9, 41);
    assert_eq!(cal.next_working_instant(inside).unwrap(), inside);
}

#[test]
fn d1_received_friday_after_hours_before_tet_starts_after_tet() {
    let cal = calendar();
    let received = local(2026, 2, 13, 17, 30);
    assert_eq!(
        cal.next_working_instant(received).unwrap(),
        local(2026, 2, 23, 7, 0)
    );
    assert_eq!(
        cal.add_working_days(received, 1).unwrap(),
        local(2026, 2, 23, 17, 0)
    );
}

#[test]
fn configured_hours_change_the_arithmetic() {
    let hours = WorkingHours::parse(&strings(&["08:00-12:00", "13:00-17:30"])).unwrap();
    assert_eq!(hours.minutes_per_day(), 510);
    assert_eq!(hours.day_end(), time(17, 30));
    let years = calendar().years.into_values().collect();
    let cal = WorkingCalendar::new(Ho_Chi_Minh, hours, years).unwrap();
    // Mon 2 Mar 2026 11:00 + 1 day (510 min): 60 + 270 = 330 that day,
    // 180 left: Tue 08:00 + 180 = 11:00.
    assert_eq!(
        cal.add_working_days(local(2026, 3, 2, 11, 0), 1).unwrap(),
        local(2026, 3, 3, 11, 0)
    );
    assert_eq!(
        cal.end_of_working_day(date(2026, 3, 2)),
        local(2026, 3, 2, 17, 30)
    );
}

// ------------------------------------------------------------------------- D2

#[test]
fn d2_same_day_before_the_cutoff_next_working_day_after() {
    let cal = calendar();
    let cutoff = time(15, 0);
    assert_eq!(
        cal.same_day_due(local(2026, 3, 3, 14, 59), cutoff).unwrap(),
        local(2026, 3, 3, 17, 0)
    );
    assert_eq!(
        cal.same_day_due(local(2026, 3, 3, 15, 1), cutoff).unwrap(),
        local(2026, 3, 4, 17, 0)
    );
    assert_eq!(
        cal.same_day_due(local(2026, 3, 3, 15, 0), cutoff).unwrap(),
        local(2026, 3, 4, 17, 0),
        "at the cut-off is not before it"
    );
    // Friday 13 Feb 2026 15:30, before Tết: Monday 23 Feb.
    assert_eq!(
        cal.same_day_due(local(2026, 2, 13, 15, 30), cutoff)
            .unwrap(),
        local(2026, 2, 23, 17, 0)
    );
    // Received on a Sunday morning: the next working day (Monday).
    assert_eq!(
        cal.same_day_due(local(2026, 3, 8, 9, 0), cutoff).unwrap(),
        local(2026, 3, 9, 17, 0)
    );
    // The cut-off is per procedure.
    assert_eq!(
        cal.same_day_due(local(2026, 3, 3, 10, 30), time(10, 0))
            .unwrap(),
        local(2026, 3, 4, 17, 0)
    );
    // A cut-off after the end of the day never gives a due time before receipt.
    assert_eq!(
        cal.same_day_due(local(2026, 3, 3, 17, 30), time(18, 0))
            .unwrap(),
        local(2026, 3, 4, 17, 0)
    );
}

#[test]
fn d2_received_on_the_swapped_saturday_is_due_that_day() {
    let cal = calendar();
    assert_eq!(
        cal.same_day_due(local(2026, 8, 22, 9, 0), time(15, 0))
            .unwrap(),
        local(2026, 8, 22, 17, 0)
    );
}

// ------------------------------------------------------- measuring working time

#[test]
fn working_minutes_between_counts_only_working_periods() {
    let cal = calendar();
    // Mon 2 Mar 2026 10:00 → Tue 3 Mar 08:00: 90 + 210 + 60 = 360.
    assert_eq!(
        cal.working_minutes_between(local(2026, 3, 2, 10, 0), local(2026, 3, 3, 8, 0))
            .unwrap(),
        360
    );
    // Lunch and a weekend count nothing.
    assert_eq!(
        cal.working_minutes_between(local(2026, 3, 2, 11, 45), local(2026, 3, 2, 13, 15))
            .unwrap(),
        0
    );
    assert_eq!(
        cal.working_minutes_between(local(2026, 3, 6, 17, 0), local(2026, 3, 9, 7, 0))
            .unwrap(),
        0
    );
    // Reversed or empty intervals are 0.
    assert_eq!(
        cal.working_minutes_between(local(2026, 3, 3, 8, 0), local(2026, 3, 2, 10, 0))
            .unwrap(),
        0
    );
    // The swapped Saturday counts; the bridge Monday does not.
    assert_eq!(
        cal.working_minutes_between(local(2026, 8, 22, 0, 0), local(2026, 9, 1, 0, 0))
            .unwrap(),
        480 * 6 // Sat 22, Mon 24 – Fri 28
    );
    // Up to the last instant covered: fine without the next year on file.
    assert_eq!(
        cal.working_minutes_between(local(2027, 12, 31, 16, 0), local(2028, 1, 1, 0, 0))
            .unwrap(),
        60
    );
}

#[test]
fn local_date_uses_the_calendar_time_zone() {
    let cal = calendar();
    // 2026-03-02 18:30 UTC is 2026-03-03 01:30 in Vietnam.
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 18, 30, 0).unwrap();
    assert_eq!(cal.local_date(at), date(2026, 3, 3));
    assert_eq!(
        cal.end_of_working_day(date(2026, 3, 3)),
        Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap()
    );
}

// ------------------------------------------------------------------- errors

#[test]
fn a_date_outside_the_shipped_years_is_an_error_that_says_what_to_do() {
    let cal = calendar();
    let error = cal.is_working_day(date(2028, 1, 3)).unwrap_err();
    assert_eq!(
        error,
        CalendarError::OutsideCalendar {
            date: date(2028, 1, 3),
            first_year: 2025,
            last_year: 2027
        }
    );
    assert_eq!(
        error.to_string(),
        "2028-01-03 is outside the working calendars shipped (2025–2027): add \
         configs/calendar/2028.toml with that year's days off and swapped working days"
    );
    assert!(matches!(
        cal.is_working_day(date(2024, 12, 31)),
        Err(CalendarError::OutsideCalendar { .. })
    ));
    // A deadline running past the last year.
    let error = cal
        .add_working_days(local(2027, 12, 30, 9, 0), 5)
        .unwrap_err();
    assert!(matches!(error, CalendarError::OutsideCalendar { date, .. } if date.year() == 2028));
    assert!(error.to_string().contains("configs/calendar/2028.toml"));
    assert!(matches!(
        cal.next_working_instant(local(2024, 6, 1, 9, 0)),
        Err(CalendarError::OutsideCalendar { .. })
    ));
    assert!(matches!(
        cal.same_day_due(local(2027, 12, 31, 16, 0), time(15, 0)),
        Err(CalendarError::OutsideCalendar { .. })
    ));
    assert!(matches!(
        cal.working_minutes_between(local(2027, 12, 31, 9, 0), local(2028, 1, 4, 9, 0)),
        Err(CalendarError::OutsideCalendar { .. })
    ));
}

#[test]
fn a_calendar_without_working_days_stops_instead_of_looping() {
    let mut year = YearCalendar {
        year: 2026,
        days_off: Default::default(),
        extra_working_days: Default::default(),
    };
    let mut day = date(2026, 1, 1);
    while day.year() == 2026 {
        year.days_off.insert(day, "closed".to_string());
        day = day.succ_opt().unwrap();
    }
    let cal =
        WorkingCalendar::new(Ho_Chi_Minh, WorkingHours::vietnam_default(), vec![year]).unwrap();
    let start = local(2026, 3, 2, 9, 0);
    for result in [
        cal.add_working_minutes(start, 1),
        cal.next_working_instant(start),
        cal.same_day_due(start, time(15, 0)),
    ] {
        assert!(
            matches!(
                result,
                Err(CalendarError::OutsideCalendar { date: d, .. }) if d == date(2027, 1, 1)
            ),
            "{result:?}"
        );
    }
}

#[test]
fn negative_and_absurd_durations_are_errors() {
    let cal = calendar();
    let start = local(2026, 3, 2, 9, 0);
    let error = cal.add_working_minutes(start, -1).unwrap_err();
    assert_eq!(error, CalendarError::NegativeDuration { minutes: -1 });
    assert!(error.to_string().contains("must be zero or more"));
    assert_eq!(
        cal.add_working_minutes(start, i64::MAX).unwrap_err(),
        CalendarError::DurationOutOfRange { minutes: i64::MAX }
    );
    // Large but representable: runs out of calendar, does not hang.
    assert!(matches!(
        cal.add_working_minutes(start, i64::MAX / 1_000_000),
        Err(CalendarError::OutsideCalendar { .. })
    ));
}

#[test]
fn calendar_years_must_be_distinct_contiguous_and_present() {
    let year = |y| YearCalendar {
        year: y,
        days_off: Default::default(),
        extra_working_days: Default::default(),
    };
    let hours = WorkingHours::vietnam_default;
    assert_eq!(
        WorkingCalendar::new(Ho_Chi_Minh, hours(), vec![year(2026), year(2026)]).unwrap_err(),
        CalendarError::DuplicateYear { year: 2026 }
    );
    let error =
        WorkingCalendar::new(Ho_Chi_Minh, hours(), vec![year(2025), year(2027)]).unwrap_err();
    assert_eq!(
        error,
        CalendarError::MissingYear {
            year: 2026,
            first_year: 2025,
            last_year: 2027
        }
    );
    assert!(error.to_string().contains("add configs/calendar/2026.toml"));
    assert_eq!(
        WorkingCalendar::new(Ho_Chi_Minh, hours(), vec![]).unwrap_err(),
        CalendarError::NoYears
    );
    let cal = WorkingCalendar::new(Ho_Chi_Minh, hours(), vec![year(2027), year(2026)]).unwrap();
    assert_eq!(cal.years(), 2026..=2027);
}

// ------------------------------------------------------------- working hours

#[test]
fn working_hours_default_and_parse() {
    let default = WorkingHours::vietnam_default();
    assert_eq!(default.minutes_per_day(), 480);
    assert_eq!(default.day_start(), time(7, 0));
    assert_eq!(default.day_end(), time(17, 0));
    assert_eq!(
        WorkingHours::parse(&strings(&["07:00-11:30", " 13:30 - 17:00 "])).unwrap(),
        default
    );
    assert_eq!(
        WorkingHours::parse(&strings(&["7:30-16:30"]))
            .unwrap()
            .minutes_per_day(),
        540
    );
}

#[test]
fn working_hours_reject_bad_periods_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "no working periods given"),
        (
            &["7h-11h30"],
            "`7h-11h30` is not a working period: write it as HH:MM-HH:MM",
        ),
        (&["07:00"], "is not a working period"),
        (&["07:00-25:00"], "is not a working period"),
        (&["07:00-11:3"], "is not a working period"),
        (
            &["11:30-07:00"],
            "`11:30-07:00` does not end after it starts",
        ),
        (&["07:00-07:00"], "does not end after it starts"),
        (
            &["07:00-12:00", "11:30-17:00"],
            "`11:30-17:00` overlaps or touches `07:00-12:00`",
        ),
        (&["07:00-11:30", "11:30-17:00"], "overlaps or touches"),
        (
            &["13:30-17:00", "07:00-11:30"],
            "`07:00-11:30` comes before `13:30-17:00`",
        ),
    ];
    for (periods, expected) in cases {
        let error = WorkingHours::parse(&strings(periods)).unwrap_err();
        assert!(
            matches!(error, CalendarError::InvalidWorkingHours { .. }),
            "{periods:?}"
        );
        let message = error.to_string();
        assert!(message.contains(expected), "{periods:?}: {message}");
        assert!(message.starts_with("invalid working hours: "), "{message}");
    }
}

// ---------------------------------------------------------------- year files

fn parse_year(source: &str) -> Result<YearCalendar, ConfigError> {
    YearCalendar::parse(Path::new("2026.toml"), source)
}

#[test]
fn year_file_parses_days_off_and_extra_working_days() {
    let source = r#"
year = 2026
[[day_off]]
date = "2026-02-16"
name = "Tết Nguyên đán"
[[day_off]]
date = 2026-02-17  # a TOML date works too
name = "Tết Nguyên đán"
[[day_off]]
date = "2026-02-15"  # a Sunday: allowed, changes nothing
name = "Tết Nguyên đán"
[[extra_working_day]]
date = "2026-08-22"
name = "Làm bù"
"#;
    let year = parse_year(source).unwrap();
    assert_eq!(year.year, 2026);
    assert_eq!(year.days_off.len(), 3);
    assert_eq!(year.days_off[&date(2026, 2, 17)], "Tết Nguyên đán");
    assert_eq!(year.extra_working_days[&date(2026, 8, 22)], "Làm bù");
    // A year with nothing special is fine.
    assert!(parse_year("year = 2026\n").unwrap().days_off.is_empty());
}

#[test]
fn year_file_errors_point_at_the_right_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "year = 2026\n[[day_off]]\ndate = \"2025-12-31\"\nname = \"x\"\n",
            3,
            "2025-12-31 is not in 2026: this file lists only 2026's days; move it to 2025.toml",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = \"2026-02-30\"\nname = \"x\"\n",
            3,
            "`2026-02-30` is not a date: write it as \"YYYY-MM-DD\"",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = 16\nname = \"x\"\n",
            3,
            "is not a date",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = 2026-02-16T07:00:00\nname = \"x\"\n",
            3,
            "is not a plain date",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = \"2026-08-22\"\nname = \"x\"\n\n\
             [[extra_working_day]]\ndate = \"2026-08-22\"\nname = \"y\"\n",
            7,
            "2026-08-22 is both a [[day_off]] and an [[extra_working_day]]",
        ),
        (
            "year = 2026\n[[extra_working_day]]\ndate = \"2026-08-24\"\nname = \"y\"\n",
            3,
            "2026-08-24 is a Monday, already a working day",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = \"2026-02-16\"\nname = \"x\"\n\
             [[day_off]]\ndate = \"2026-02-16\"\nname = \"x\"\n",
            6,
            "2026-02-16 is listed twice under [[day_off]]",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = \"2026-02-16\"\nname = \"  \"\n",
            4,
            "the name is empty",
        ),
        (
            "year = 2026\n[[day_off]]\ndate = \"2026-02-16\"\nnote = \"x\"\nname = \"x\"\n",
            4,
            "unknown field `note`",
        ),
        (
            "year = 2026\nholidays = []\n",
            2,
            "unknown field `holidays`",
        ),
        (
            "year = 2026\n[[day_off]]\nname = \"x\"\n",
            2,
            "missing field `date`",
        ),
        ("year = \"2026\"\n", 1, "invalid type"),
    ];
    for (source, line, expected) in cases {
        let error = parse_year(source).unwrap_err();
        assert_eq!(error.line, Some(*line), "{source}\n{error}");
        assert!(error.message.contains(expected), "{source}\n{error}");
        assert!(
            error.to_string().starts_with(&format!("2026.toml:{line}:")),
            "{error}"
        );
    }
}

#[test]
fn load_dir_checks_file_names_against_years() {
    let ok = "year = 2026\n";
    let scratch = Scratch::new("mismatch");
    scratch.write("2026.toml", "# comment\nyear = 2025\n");
    let error = scratch.load().unwrap_err();
    assert_eq!(error.line, Some(2));
    assert!(
        error
            .message
            .contains("named 2026.toml but says year = 2025"),
        "{error}"
    );

    let scratch = Scratch::new("misnamed");
    scratch.write("2026.toml", ok).write("2027-draft.toml", ok);
    let error = scratch.load().unwrap_err();
    assert!(error.file.ends_with("2027-draft.toml"), "{error}");
    assert!(error.message.contains("YEAR.toml"), "{error}");

    let scratch = Scratch::new("gap");
    scratch
        .write("2025.toml", "year = 2025\n")
        .write("2027.toml", "year = 2027\n")
        .write("README.md", "ignored");
    let error = scratch.load().unwrap_err();
    assert!(error.message.contains("2026 is missing"), "{error}");

    let scratch = Scratch::new("empty");
    assert!(
        scratch
            .load()
            .unwrap_err()
            .message
            .contains("no working calendar years")
    );

    let scratch = Scratch::new("bad-entry");
    scratch.write(
        "2026.toml",
        "year = 2026\n[[day_off]]\ndate = \"2027-01-01\"\nname = \"x\"\n",
    );
    let error = scratch.load().unwrap_err();
    assert!(error.file.ends_with("2026.toml"));
    assert_eq!(error.line, Some(3));

    let scratch = Scratch::new("good");
    scratch.write("2026.toml", ok).write("notes.txt", "ignored");
    assert_eq!(scratch.load().unwrap().years(), 2026..=2026);

    let missing = WorkingCalendar::load_dir(
        Path::new("/nonexistent/lienthong/calendar"),
        Ho_Chi_Minh,
        WorkingHours::vietnam_default(),
    )
    .unwrap_err();
    assert!(
        missing
            .message
            .contains("cannot read the working calendar directory")
    );
}

// ------------------------------------------------------------------ properties

/// 2025-01-01 00:00 +07 as a Unix timestamp.
const START_2025: i64 = 1_735_664_400;
/// Starts up to 2027-10-01 keep a 30-working-day deadline inside 2027.
const SPAN_SECONDS: i64 = 1_006 * 86_400;

proptest! {
    #[test]
    fn adding_then_measuring_gives_the_duration_back(
        offset in 0..SPAN_SECONDS,
        minutes in 0i64..=30 * 480,
    ) {
        let cal = calendar();
        let start = DateTime::from_timestamp(START_2025 + offset, 0).unwrap();
        let due = cal.add_working_minutes(start, minutes).unwrap();
        prop_assert!(due >= start);
        prop_assert_eq!(cal.working_minutes_between(start, due).unwrap(), minutes);
        // The result lies on a working day, inside a period or at its end.
        if minutes > 0 {
            let local_due = due.with_timezone(&Ho_Chi_Minh);
            prop_assert!(cal.is_working_day(local_due.date_naive()).unwrap());
            let t = local_due.time();
            prop_assert!(
                cal.hours().periods().iter().any(|&(s, e)| s < t && t <= e),
                "{} not in a working period", local_due
            );
        }
    }

    #[test]
    fn adding_in_two_steps_is_adding_once(
        offset in 0..SPAN_SECONDS,
        first in 0i64..=10 * 480,
        second in 1i64..=10 * 480,
    ) {
        let cal = calendar();
        let start = DateTime::from_timestamp(START_2025 + offset, 0).unwrap();
        let middle = cal.add_working_minutes(start, first).unwrap();
        prop_assert_eq!(
            cal.add_working_minutes(middle, second).unwrap(),
            cal.add_working_minutes(start, first + second).unwrap()
        );
    }

    #[test]
    fn measuring_is_additive(
        a in 0..SPAN_SECONDS,
        b in 0..SPAN_SECONDS,
        c in 0..SPAN_SECONDS,
    ) {
        let cal = calendar();
        let mut points = [a, b, c];
        points.sort();
        // Whole minutes at the boundaries keep rounding out of it.
        let [a, b, c] =
            points.map(|s| DateTime::from_timestamp(START_2025 + s / 60 * 60, 0).unwrap());
        prop_assert_eq!(
            cal.working_minutes_between(a, c).unwrap(),
            cal.working_minutes_between(a, b).unwrap() + cal.working_minutes_between(b, c).unwrap()
        );
    }
}
