//! One year's calendar file: the weekdays off and the weekend days worked.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::ConfigError;

/// One year of the office calendar, as read from `configs/calendar/YEAR.toml`.
///
/// Monday–Friday are working days unless listed in `days_off`; Saturday and
/// Sunday are not, unless listed in `extra_working_days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i32,
    /// Weekdays off (holidays, compensatory and bridge days), with their names.
    pub days_off: BTreeMap<NaiveDate, String>,
    /// Saturdays or Sundays worked in exchange for a bridge day, with their names.
    pub extra_working_days: BTreeMap<NaiveDate, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: Spanned<i32>,
    #[serde(default)]
    day_off: Vec<DayEntry>,
    #[serde(default)]
    extra_working_day: Vec<DayEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DayEntry {
    date: Spanned<toml::Value>,
    name: Spanned<String>,
}

impl YearCalendar {
    /// Reads a year file; `file` only labels errors. Errors point at the
    /// offending line: a date outside `year`, a date listed twice or both
    /// off and worked, a weekday listed as an extra working day, an unknown key.
    pub fn parse(file: &Path, source: &str) -> Result<Self, ConfigError> {
        Self::parse_located(file, source).map(|(calendar, _)| calendar)
    }

    /// Like [`YearCalendar::parse`], also giving the byte offset of the
    /// `year` value (to point at it when it disagrees with the file name).
    pub(super) fn parse_located(file: &Path, source: &str) -> Result<(Self, usize), ConfigError> {
        let parsed: YearFile =
            toml::from_str(source).map_err(|error| ConfigError::from_toml(file, source, &error))?;
        let year = *parsed.year.get_ref();
        let year_offset = parsed.year.span().start;
        let at =
            |offset: usize, message: String| ConfigError::at_offset(file, source, offset, message);

        let mut days_off = BTreeMap::new();
        for entry in &parsed.day_off {
            let date = entry_date(entry, year).map_err(|m| at(entry.date.span().start, m))?;
            check_name(entry).map_err(|m| at(entry.name.span().start, m))?;
            if days_off
                .insert(date, entry.name.get_ref().clone())
                .is_some()
            {
                return Err(at(
                    entry.date.span().start,
                    format!("{date} is listed twice under [[day_off]]: remove one of them"),
                ));
            }
        }

        let mut extra_working_days = BTreeMap::new();
        for entry in &parsed.extra_working_day {
            let offset = entry.date.span().start;
            let date = entry_date(entry, year).map_err(|m| at(offset, m))?;
            check_name(entry).map_err(|m| at(entry.name.span().start, m))?;
            if days_off.contains_key(&date) {
                return Err(at(
                    offset,
                    format!(
                        "{date} is both a [[day_off]] and an [[extra_working_day]]: keep only \
                         the one the official notice says"
                    ),
                ));
            }
            if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                return Err(at(
                    offset,
                    format!(
                        "{date} is a {}, already a working day: [[extra_working_day]] is for a \
                         Saturday or Sunday worked in exchange for a day off; check the date",
                        date.format("%A")
                    ),
                ));
            }
            if extra_working_days
                .insert(date, entry.name.get_ref().clone())
                .is_some()
            {
                return Err(at(
                    offset,
                    format!(
                        "{date} is listed twice under [[extra_working_day]]: remove one of them"
                    ),
                ));
            }
        }

        Ok((
            Self {
                year,
                days_off,
                extra_working_days,
            },
            year_offset,
        ))
    }
}

/// The entry's date, checked to be a plain date in `year`.
fn entry_date(entry: &DayEntry, year: i32) -> Result<NaiveDate, String> {
    let date = match entry.date.get_ref() {
        toml::Value::String(text) => {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "`{text}` is not a date: write it as \"YYYY-MM-DD\", for example \
                     \"{year}-09-02\""
                )
            })?
        }
        toml::Value::Datetime(datetime) => match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .ok_or_else(|| format!("`{datetime}` is not a date in the calendar"))?,
            _ => {
                return Err(format!(
                    "`{datetime}` is not a plain date: write only the day, for example \
                     \"{year}-09-02\""
                ));
            }
        },
        other => {
            return Err(format!(
                "`{other}` is not a date: write it as \"YYYY-MM-DD\", for example \"{year}-09-02\""
            ));
        }
    };
    if date.year() != year {
        return Err(format!(
            "{date} is not in {year}: this file lists only {year}'s days; move it to {}.toml",
            date.year()
        ));
    }
    Ok(date)
}

fn check_name(entry: &DayEntry) -> Result<(), String> {
    if entry.name.get_ref().trim().is_empty() {
        return Err("the name is empty: say which holiday or swap this is".to_string());
    }
    Ok(())
}
