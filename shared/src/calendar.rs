//! The office working-time calendar: rules D1 and D2, and the working-time
//! arithmetic rules D3, D4 and D6 build on (`shared/domain/RULES.md`).
//!
//! Working time is counted in the calendar's local time (Asia/Ho_Chi_Minh by
//! default): working periods of a day ([`WorkingHours`]) on working days
//! (Monday–Friday, minus the days off of the year file, plus its swapped
//! working weekend days, [`YearCalendar`]). Instants come in and go out as
//! UTC. Nothing here reads the clock, and a date outside the years on file
//! is an error ([`CalendarError::OutsideCalendar`]), never a guess.
//!
//! Loops walk working periods and days, never minutes, and stop with
//! `OutsideCalendar` once they run past the last year on file, so even a
//! calendar without a single working day cannot loop forever.

mod hours;
#[cfg(test)]
mod tests;
mod year;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::ConfigError;

pub use hours::WorkingHours;
pub use year::YearCalendar;

/// Why a working-time computation or a calendar cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The date's year has no calendar file.
    #[error(
        "{date} is outside the working calendars shipped ({first_year}–{last_year}): add \
         configs/calendar/{}.toml with that year's days off and swapped working days",
        .date.year()
    )]
    OutsideCalendar {
        date: NaiveDate,
        first_year: i32,
        last_year: i32,
    },
    /// The working hours cannot be used.
    #[error("invalid working hours: {message}")]
    InvalidWorkingHours { message: String },
    /// A duration to add was negative.
    #[error(
        "cannot add {minutes} working minutes: a duration must be zero or more (to compare two \
         instants, use working_minutes_between)"
    )]
    NegativeDuration { minutes: i64 },
    /// A duration too long to represent.
    #[error(
        "cannot add {minutes} working minutes: far longer than any calendar covers; check the \
         processing time"
    )]
    DurationOutOfRange { minutes: i64 },
    /// Two calendars for one year.
    #[error("the working calendar for {year} is given twice: keep one file per year")]
    DuplicateYear { year: i32 },
    /// A year missing between the first and the last.
    #[error(
        "the working calendars cover {first_year}–{last_year} but {year} is missing: add \
         configs/calendar/{year}.toml so deadlines can be counted across it"
    )]
    MissingYear {
        year: i32,
        first_year: i32,
        last_year: i32,
    },
    /// No calendar at all.
    #[error(
        "no working calendar years given: add at least one configs/calendar/YEAR.toml with that \
         year's days off and swapped working days"
    )]
    NoYears,
}

/// The office calendar: time zone, working hours, and the years on file
/// (contiguous, at least one).
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    timezone: Tz,
    hours: WorkingHours,
    years: BTreeMap<i32, YearCalendar>,
    first_year: i32,
    last_year: i32,
}

/// The shipped year files, compiled in: (label for errors, text).
const SHIPPED_YEARS: [(&str, &str); 3] = [
    (
        "configs/calendar/2025.toml",
        include_str!("../../configs/calendar/2025.toml"),
    ),
    (
        "configs/calendar/2026.toml",
        include_str!("../../configs/calendar/2026.toml"),
    ),
    (
        "configs/calendar/2027.toml",
        include_str!("../../configs/calendar/2027.toml"),
    ),
];

impl WorkingCalendar {
    /// A calendar from its parts. The years must be distinct and contiguous,
    /// and there must be at least one.
    pub fn new(
        timezone: Tz,
        hours: WorkingHours,
        years: Vec<YearCalendar>,
    ) -> Result<Self, CalendarError> {
        let mut by_year = BTreeMap::new();
        for calendar in years {
            let year = calendar.year;
            if by_year.insert(year, calendar).is_some() {
                return Err(CalendarError::DuplicateYear { year });
            }
        }
        let (Some(&first_year), Some(&last_year)) = (by_year.keys().next(), by_year.keys().last())
        else {
            return Err(CalendarError::NoYears);
        };
        if let Some(year) = (first_year..=last_year).find(|year| !by_year.contains_key(year)) {
            return Err(CalendarError::MissingYear {
                year,
                first_year,
                last_year,
            });
        }
        Ok(Self {
            timezone,
            hours,
            years: by_year,
            first_year,
            last_year,
        })
    }

    /// The shipped calendar: Asia/Ho_Chi_Minh, 07:00–11:30 and 13:30–17:00,
    /// and the years in `configs/calendar/` compiled in (2025–2027).
    ///
    /// # Panics
    ///
    /// Only if the shipped data is invalid, which a test rules out.
    pub fn builtin() -> Self {
        Self::builtin_with(
            chrono_tz::Asia::Ho_Chi_Minh,
            WorkingHours::vietnam_default(),
        )
    }

    /// The shipped years with another time zone or other working hours (a
    /// network file may set its own hours).
    ///
    /// # Panics
    ///
    /// Only if the shipped data is invalid, which a test rules out.
    pub fn builtin_with(timezone: Tz, hours: WorkingHours) -> Self {
        let years = SHIPPED_YEARS
            .iter()
            .map(|(label, source)| {
                YearCalendar::parse(Path::new(label), source)
                    .unwrap_or_else(|error| panic!("shipped calendar data is invalid: {error}"))
            })
            .collect();
        Self::new(timezone, hours, years)
            .unwrap_or_else(|error| panic!("shipped calendar data is invalid: {error}"))
    }

    /// Reads every `YEAR.toml` in `dir` (other `.toml` names are an error,
    /// other files are ignored). Each file's `year` must match its name.
    pub fn load_dir(dir: &Path, timezone: Tz, hours: WorkingHours) -> Result<Self, ConfigError> {
        let entries = std::fs::read_dir(dir).map_err(|error| {
            ConfigError::whole_file(
                dir,
                format!(
                    "cannot read the working calendar directory ({error}): check the path; it \
                     holds one YEAR.toml per year"
                ),
            )
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| {
                ConfigError::whole_file(
                    dir,
                    format!(
                        "cannot list the working calendar directory ({error}): check its \
                         permissions"
                    ),
                )
            })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let year: i32 = match stem {
                s if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse().map_err(|_| misnamed(&path))?
                }
                _ => return Err(misnamed(&path)),
            };
            files.push((year, path));
        }
        files.sort();

        let mut years = Vec::with_capacity(files.len());
        for (file_year, path) in files {
            let source = std::fs::read_to_string(&path).map_err(|error| {
                ConfigError::whole_file(
                    &path,
                    format!(
                        "cannot read this working calendar file ({error}): check its \
                         permissions and that it is UTF-8 text"
                    ),
                )
            })?;
            let (calendar, year_offset) = YearCalendar::parse_located(&path, &source)?;
            if calendar.year != file_year {
                return Err(ConfigError::at_offset(
                    &path,
                    &source,
                    year_offset,
                    format!(
                        "the file is named {file_year}.toml but says year = {}: rename the file \
                         or fix `year`",
                        calendar.year
                    ),
                ));
            }
            years.push(calendar);
        }
        Self::new(timezone, hours, years)
            .map_err(|error| ConfigError::whole_file(dir, error.to_string()))
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// The years covered, first to last (contiguous).
    pub fn years(&self) -> RangeInclusive<i32> {
        self.first_year..=self.last_year
    }

    /// The local (calendar time zone) date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// A weekday not off, or a weekend day worked in exchange.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let year = self
            .years
            .get(&date.year())
            .ok_or_else(|| self.outside(date))?;
        if year.extra_working_days.contains_key(&date) {
            return Ok(true);
        }
        if year.days_off.contains_key(&date) {
            return Ok(false);
        }
        Ok(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut day = date;
        loop {
            day = self.succ(day)?;
            if self.is_working_day(day)? {
                return Ok(day);
            }
        }
    }

    /// `at` itself if it lies inside a working period, else the start of
    /// the next one (after hours: the next working morning; at lunch: 13:30).
    pub fn next_working_instant(&self, at: DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError> {
        let local = self.next_working_local(self.to_local(at))?;
        Ok(self.to_utc(local))
    }

    /// The earliest instant at which `minutes` of working time have passed
    /// since `start`. A result exactly at the end of a period stays there
    /// (11:30, 17:00) rather than jumping to the next start; zero minutes
    /// give `start` back unchanged.
    pub fn add_working_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: i64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if minutes < 0 {
            return Err(CalendarError::NegativeDuration { minutes });
        }
        let duration =
            TimeDelta::try_minutes(minutes).ok_or(CalendarError::DurationOutOfRange { minutes })?;
        if duration.is_zero() {
            return Ok(start);
        }
        let local = self.add_working_local(self.to_local(start), duration)?;
        Ok(self.to_utc(local))
    }

    /// D1: the due time of a processing time of `days` working days, counted
    /// as `days × minutes_per_day` working minutes from `start` (received
    /// after hours, the count starts the next working morning).
    pub fn add_working_days(
        &self,
        start: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        self.add_working_minutes(start, i64::from(days) * self.hours.minutes_per_day())
    }

    /// D2: a "same day" procedure received on a working day before `cutoff`
    /// is due at the end of that working day; otherwise at the end of the
    /// next working day. A cut-off later than the end of the working day
    /// counts as the end of the working day (a due time is never before
    /// the receipt).
    pub fn same_day_due(
        &self,
        received: DateTime<Utc>,
        cutoff: NaiveTime,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let local = self.to_local(received);
        let date = local.date();
        let cutoff = cutoff.min(self.hours.day_end());
        let due_date = if self.is_working_day(date)? && local.time() < cutoff {
            date
        } else {
            self.next_working_day(date)?
        };
        Ok(self.end_of_working_day(due_date))
    }

    /// Working minutes in `[from, to)`, rounded down to whole minutes; 0 when
    /// `to <= from`.
    pub fn working_minutes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        if to <= from {
            return Ok(0);
        }
        let (from, to) = (self.to_local(from), self.to_local(to));
        let mut total = TimeDelta::zero();
        let mut day = from.date();
        while day <= to.date() {
            let mut on_day = TimeDelta::zero();
            for &(start, end) in self.hours.periods() {
                let low = from.max(day.and_time(start));
                let high = to.min(day.and_time(end));
                if low < high {
                    on_day += high - low;
                }
            }
            // Only a day that would count needs to be on file.
            if !on_day.is_zero() && self.is_working_day(day)? {
                total += on_day;
            }
            if day == to.date() {
                break;
            }
            day = self.succ(day)?;
        }
        Ok(total.num_minutes())
    }

    /// The end of the working day (17:00 by default) of a local date, as UTC.
    pub fn end_of_working_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.to_utc(date.and_time(self.hours.day_end()))
    }

    // Local-time helpers. All arithmetic is on local wall-clock time.

    fn outside(&self, date: NaiveDate) -> CalendarError {
        CalendarError::OutsideCalendar {
            date,
            first_year: self.first_year,
            last_year: self.last_year,
        }
    }

    fn succ(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        date.succ_opt().ok_or_else(|| self.outside(date))
    }

    fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.timezone).naive_local()
    }

    /// A local wall-clock time as UTC: the earlier instant when the clock
    /// was set back, the offset before the jump when it was set forward
    /// (Vietnam has had neither since 1975).
    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
            LocalResult::None => {
                let offset = self.timezone.offset_from_utc_datetime(&local).fix();
                let utc = local
                    .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
                    .unwrap_or(local);
                Utc.from_utc_datetime(&utc)
            }
        }
    }

    /// `at` if inside a working period of a working day, else the start of
    /// the next working period.
    fn next_working_local(&self, at: NaiveDateTime) -> Result<NaiveDateTime, CalendarError> {
        let mut day = at.date();
        let mut after = Some(at.time());
        loop {
            if self.is_working_day(day)? {
                for &(start, end) in self.hours.periods() {
                    match after {
                        None => return Ok(day.and_time(start)),
                        Some(time) if time < start => return Ok(day.and_time(start)),
                        Some(time) if time < end => return Ok(day.and_time(time)),
                        Some(_) => {}
                    }
                }
            }
            day = self.succ(day)?;
            after = None;
        }
    }

    /// Walks period by period from `start` until `duration` (positive) of
    /// working time has passed.
    fn add_working_local(
        &self,
        start: NaiveDateTime,
        duration: TimeDelta,
    ) -> Result<NaiveDateTime, CalendarError> {
        let mut remaining = duration;
        let mut at = self.next_working_local(start)?;
        loop {
            let day = at.date();
            // A whole working day left to go through: skip it in one step.
            if at.time() <= self.hours.day_start() && remaining > self.hours.day_length() {
                remaining -= self.hours.day_length();
            } else {
                for &(period_start, period_end) in self.hours.periods() {
                    if at.time() >= period_end {
                        continue;
                    }
                    let from = day.and_time(at.time().max(period_start));
                    let available = day.and_time(period_end) - from;
                    if remaining <= available {
                        return Ok(from + remaining);
                    }
                    remaining -= available;
                }
            }
            let next_day = self.succ(day)?;
            at = self.next_working_local(next_day.and_time(NaiveTime::MIN))?;
        }
    }
}

/// A `.toml` file in the calendar directory not named `YEAR.toml`.
fn misnamed(path: &Path) -> ConfigError {
    ConfigError::whole_file(
        path,
        "a working calendar file is named after its year, YEAR.toml (for example 2026.toml): \
         rename this file, or move it out of the calendar directory",
    )
}
