//! Counts for reports, from the `dossiers` index in one grouped query.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lienthong_shared::dossier::Status;
use rusqlite::params;
use serde::Serialize;
use serde::ser::SerializeStruct;

use super::{Reader, Result};

/// Counts for one office (or a subtree, or everything).
///
/// Serialised with two derived fields, `finished` and `on_time_percent`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Taken in at a desk (received, or refused at intake) in the period.
    pub received: u64,
    /// Received, processing, awaiting payment or withdrawal requested.
    pub in_progress: u64,
    pub awaiting_supplement: u64,
    pub resolved: u64,
    pub returned: u64,
    pub refused: u64,
    pub stopped: u64,
    /// Unfinished, clock running, past the due time at `now`.
    pub overdue: u64,
    /// Finished dossiers, by D6.
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
    /// Filed online or by post, not yet checked at a desk (status 1); not in `received`.
    pub submitted: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.received += other.received;
        self.in_progress += other.in_progress;
        self.awaiting_supplement += other.awaiting_supplement;
        self.resolved += other.resolved;
        self.returned += other.returned;
        self.refused += other.refused;
        self.stopped += other.stopped;
        self.overdue += other.overdue;
        self.early += other.early;
        self.on_time += other.on_time;
        self.late += other.late;
        self.submitted += other.submitted;
    }

    /// Finished dossiers judged by D6 (early + on time + late).
    pub fn finished(&self) -> u64 {
        self.early + self.on_time + self.late
    }

    /// Share of finished dossiers done on time or early, in percent, to one
    /// decimal; `None` when nothing has finished.
    pub fn on_time_percent(&self) -> Option<f64> {
        let finished = self.finished();
        (finished > 0)
            .then(|| ((self.early + self.on_time) as f64 * 1000.0 / finished as f64).round() / 10.0)
    }

    /// No dossier at all.
    pub fn is_empty(&self) -> bool {
        self.received == 0 && self.submitted == 0
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Counts", 14)?;
        out.serialize_field("received", &self.received)?;
        out.serialize_field("in_progress", &self.in_progress)?;
        out.serialize_field("awaiting_supplement", &self.awaiting_supplement)?;
        out.serialize_field("resolved", &self.resolved)?;
        out.serialize_field("returned", &self.returned)?;
        out.serialize_field("refused", &self.refused)?;
        out.serialize_field("stopped", &self.stopped)?;
        out.serialize_field("overdue", &self.overdue)?;
        out.serialize_field("early", &self.early)?;
        out.serialize_field("on_time", &self.on_time)?;
        out.serialize_field("late", &self.late)?;
        out.serialize_field("finished", &self.finished())?;
        out.serialize_field("on_time_percent", &self.on_time_percent())?;
        out.serialize_field("submitted", &self.submitted)?;
        out.end()
    }
}

impl Reader<'_> {
    /// Counts per office id — the receiving office, or with `by_holder` the
    /// holder — of the dossiers received (or refused at intake) in
    /// [from, to); "overdue" judged at `now`.
    pub fn counts_by_office(
        &self,
        by_holder: bool,
        now: DateTime<Utc>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<BTreeMap<String, Counts>> {
        let mut statement = self.conn().prepare_cached(counts_sql(by_holder))?;
        let rows = statement.query_map(
            params![
                now.timestamp_millis(),
                from.map(|t| t.timestamp_millis()),
                to.map(|t| t.timestamp_millis())
            ],
            |row| {
                let n = |i: usize| -> rusqlite::Result<u64> {
                    Ok(row.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
                };
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    [n(2)?, n(3)?, n(4)?, n(5)?, n(6)?, n(7)?],
                ))
            },
        )?;
        let running = [
            Status::Received,
            Status::Processing,
            Status::AwaitingPayment,
            Status::WithdrawalRequested,
        ]
        .map(|s| i64::from(s.code()));
        let code = |s: Status| Some(i64::from(s.code()));
        let mut by_office: BTreeMap<String, Counts> = BTreeMap::new();
        for row in rows {
            let (office, status, [total, open, open_past_due, early, on_time, late]) = row?;
            let c = by_office.entry(office).or_default();
            if status.is_some() && status != code(Status::Submitted) {
                c.received += total;
            }
            if status.is_some_and(|s| running.contains(&s)) {
                c.in_progress += open;
            }
            let bucket = match status {
                s if s == code(Status::AwaitingSupplement) => Some(&mut c.awaiting_supplement),
                s if s == code(Status::Resolved) => Some(&mut c.resolved),
                s if s == code(Status::Returned) => Some(&mut c.returned),
                s if s == code(Status::Refused) => Some(&mut c.refused),
                s if s == code(Status::Stopped) => Some(&mut c.stopped),
                s if s == code(Status::Submitted) => Some(&mut c.submitted),
                _ => None,
            };
            if let Some(bucket) = bucket {
                *bucket += total;
            }
            if status != code(Status::AwaitingSupplement) {
                c.overdue += open_past_due;
            }
            c.early += early;
            c.on_time += on_time;
            c.late += late;
        }
        Ok(by_office)
    }
}

/// The report's grouped query (`?1` now, `?2`/`?3` the period): per office
/// and status, the dossiers, the open ones, the open ones past their due
/// time, and the finished ones by D6; [`Reader::counts_by_office`] adds
/// them into [`Counts`]. It reads only columns of `dossiers_report` (by
/// origin) or `dossiers_report_holder` (by holder), in their order: one
/// pass over an index, no table rows, no sort, few expressions a row
/// (issue 11: under 1 s at a province of a million dossiers).
fn counts_sql(by_holder: bool) -> &'static str {
    if by_holder {
        concat!(
            "SELECT coalesce(holder, origin), status,",
            counts_columns!(),
            "GROUP BY coalesce(holder, origin), status"
        )
    } else {
        concat!(
            "SELECT origin, status,",
            counts_columns!(),
            "GROUP BY origin, status"
        )
    }
}

/// What [`counts_sql`] sums, whichever way it groups.
macro_rules! counts_columns {
    () => {
        " count(*),
          sum(ended_at IS NULL),
          sum(ended_at IS NULL AND due_at < ?1),
          sum(ended_at IS NOT NULL AND timeliness = 'early'),
          sum(ended_at IS NOT NULL AND timeliness = 'on_time'),
          sum(ended_at IS NOT NULL AND timeliness = 'late')
         FROM dossiers
         WHERE (?2 IS NULL OR coalesce(received_at, ended_at) >= ?2)
           AND (?3 IS NULL OR coalesce(received_at, ended_at) < ?3) "
    };
}
use counts_columns;

/// Received and finished dossiers in each of a run of weeks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WeekCounts {
    /// Taken in at a desk (received or refused at intake) in the week.
    pub received: u64,
    /// Finished in the week and judged by D6 (early, on time or late).
    pub finished: u64,
}

impl Reader<'_> {
    /// Per week from `start` (`weeks` of them, each 7 × 24 h), the dossiers
    /// received and finished in it — two grouped queries, one result row per
    /// week whatever the number of dossiers.
    pub fn weekly_counts(&self, start: DateTime<Utc>, weeks: u32) -> Result<Vec<WeekCounts>> {
        const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;
        let from = start.timestamp_millis();
        let to = from + WEEK_MS * i64::from(weeks);
        let mut out = vec![WeekCounts::default(); weeks as usize];
        let received = format!(
            "SELECT (coalesce(received_at, ended_at) - ?1) / {WEEK_MS}, count(*) FROM dossiers
             WHERE status IS NOT NULL AND status <> {submitted}
               AND coalesce(received_at, ended_at) >= ?1 AND coalesce(received_at, ended_at) < ?2
             GROUP BY 1",
            submitted = Status::Submitted.code(),
        );
        let finished = format!(
            "SELECT (ended_at - ?1) / {WEEK_MS}, count(*) FROM dossiers
             WHERE ended_at >= ?1 AND ended_at < ?2
               AND timeliness IN ('early', 'on_time', 'late')
             GROUP BY 1"
        );
        for (sql, is_received) in [(received, true), (finished, false)] {
            let mut statement = self.conn().prepare(&sql)?;
            let rows = statement.query_map(params![from, to], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (week, n) = row?;
                if let Some(slot) = usize::try_from(week).ok().and_then(|w| out.get_mut(w)) {
                    let n = n.max(0) as u64;
                    if is_received {
                        slot.received = n;
                    } else {
                        slot.finished = n;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Per receiving office (the locality), when the last change to one of
    /// its dossiers arrived from a peer. Offices whose dossiers never came
    /// from a peer (written here) are absent.
    pub fn arrivals_by_origin(&self) -> Result<BTreeMap<String, DateTime<Utc>>> {
        let mut statement = self
            .conn()
            .prepare("SELECT origin, arrived_at FROM origin_arrivals")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (origin, ms) = row?;
            if let Some(at) = DateTime::from_timestamp_millis(ms) {
                out.insert(origin, at);
            }
        }
        Ok(out)
    }
}

impl super::Writer<'_> {
    /// A change to a dossier received at `origin` arrived from a peer at `at`.
    pub fn note_arrival(&self, origin: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO origin_arrivals (origin, arrived_at) VALUES (?1, ?2)
                 ON CONFLICT (origin) DO UPDATE SET arrived_at = max(arrived_at, excluded.arrived_at)",
            )?
            .execute(params![origin, at.timestamp_millis()])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// The dossiers overdue at `now` (unfinished, clock running, past due)
    /// among those received in [from, to), most overdue first, at most `limit`.
    pub fn overdue_in(
        &self,
        now: DateTime<Utc>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<super::index::IndexRow>> {
        let sql = format!(
            "SELECT {columns} FROM dossiers
             WHERE ended_at IS NULL AND status IS NOT {supplement} AND due_at < ?1
               AND (?2 IS NULL OR coalesce(received_at, ended_at) >= ?2)
               AND (?3 IS NULL OR coalesce(received_at, ended_at) < ?3)
             ORDER BY due_at, code LIMIT ?4",
            columns = super::index::COLUMNS,
            supplement = Status::AwaitingSupplement.code(),
        );
        let mut statement = self.conn().prepare_cached(&sql)?;
        let rows = statement.query_map(
            params![
                now.timestamp_millis(),
                from.map(|t| t.timestamp_millis()),
                to.map(|t| t.timestamp_millis()),
                limit as i64
            ],
            super::index::from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    /// The report reads one covering index in group order, by origin and by
    /// holder: never the table's rows, never a sort (issue 11).
    #[test]
    fn the_report_is_one_pass_over_an_index_without_a_sort() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("store.db")).unwrap();
        for (by_holder, index) in [
            (false, "SCAN dossiers USING COVERING INDEX dossiers_report"),
            (true, "SCAN dossiers USING INDEX dossiers_report_holder"),
        ] {
            let plan: Vec<String> = store
                .connection()
                .prepare(&format!("EXPLAIN QUERY PLAN {}", counts_sql(by_holder)))
                .unwrap()
                .query_map(params![0, None::<i64>, None::<i64>], |row| {
                    row.get::<_, String>(3)
                })
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap();
            assert_eq!(plan, [index], "by holder: {by_holder}");
        }
    }
}
