//! Working hours: the periods of a working day, in local time.

use chrono::{NaiveTime, TimeDelta};

use super::CalendarError;

/// The ordered, non-overlapping periods of a working day, in local time
/// (by default 07:00–11:30 and 13:30–17:00, 8 hours).
///
/// Each period is half-open, `[start, end)`: an instant at `end` is past the
/// period. Periods lie within one day (none crosses midnight) and at least
/// one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

/// A time of day from constants known to be valid.
const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid constant time of day"),
    }
}

impl WorkingHours {
    /// The Vietnamese state office day: 07:00–11:30 and 13:30–17:00 (8 h).
    pub fn vietnam_default() -> Self {
        Self {
            periods: vec![(hm(7, 0), hm(11, 30)), (hm(13, 30), hm(17, 0))],
        }
    }

    /// Reads periods written `HH:MM-HH:MM`, in the order of the day, for
    /// example `["07:00-11:30", "13:30-17:00"]`.
    pub fn parse(periods: &[String]) -> Result<Self, CalendarError> {
        const EXAMPLE: &str = r#"for example ["07:00-11:30", "13:30-17:00"]"#;
        let invalid = |message: String| CalendarError::InvalidWorkingHours { message };
        if periods.is_empty() {
            return Err(invalid(format!(
                "no working periods given: list at least one, {EXAMPLE}"
            )));
        }
        let mut parsed: Vec<(NaiveTime, NaiveTime)> = Vec::with_capacity(periods.len());
        for text in periods {
            let (start, end) = parse_period(text).ok_or_else(|| {
                invalid(format!(
                    "`{text}` is not a working period: write it as HH:MM-HH:MM, {EXAMPLE}"
                ))
            })?;
            if start >= end {
                return Err(invalid(format!(
                    "`{text}` does not end after it starts: a period lies within one day and \
                     must end later than it starts"
                )));
            }
            let previous = parsed.last().copied();
            if let Some((previous_start, previous_end)) = previous.filter(|&(_, e)| start <= e) {
                let previous = format!(
                    "{}-{}",
                    previous_start.format("%H:%M"),
                    previous_end.format("%H:%M")
                );
                let message = if start < previous_start {
                    format!(
                        "`{text}` comes before `{previous}`: list the periods in the order of \
                         the day, {EXAMPLE}"
                    )
                } else {
                    format!(
                        "`{text}` overlaps or touches `{previous}`: periods must not overlap; \
                         merge touching periods into one"
                    )
                };
                return Err(invalid(message));
            }
            parsed.push((start, end));
        }
        Ok(Self { periods: parsed })
    }

    /// The periods, in the order of the day, as `(start, end)`.
    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// Working minutes in one working day (480 by default).
    pub fn minutes_per_day(&self) -> i64 {
        self.periods
            .iter()
            .map(|&(start, end)| (end - start).num_minutes())
            .sum()
    }

    /// The start of the first period (07:00 by default).
    pub fn day_start(&self) -> NaiveTime {
        self.periods
            .first()
            .map_or(NaiveTime::MIN, |&(start, _)| start)
    }

    /// The end of the last period (17:00 by default).
    pub fn day_end(&self) -> NaiveTime {
        self.periods.last().map_or(NaiveTime::MIN, |&(_, end)| end)
    }

    /// Working time in one day (8 hours by default).
    pub(super) fn day_length(&self) -> TimeDelta {
        self.periods
            .iter()
            .map(|&(start, end)| end - start)
            .fold(TimeDelta::zero(), |total, length| total + length)
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self::vietnam_default()
    }
}

/// `HH:MM-HH:MM`, spaces allowed around the parts.
fn parse_period(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (start, end) = text.split_once('-')?;
    Some((parse_time(start)?, parse_time(end)?))
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let (hour, minute) = text.trim().split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hour) || minute.len() != 2 || !digits(minute) {
        return None;
    }
    NaiveTime::from_hms_opt(hour.parse().ok()?, minute.parse().ok()?, 0)
}
