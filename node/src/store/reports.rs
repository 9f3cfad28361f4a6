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
        let column = if by_holder {
            "coalesce(holder, origin)"
        } else {
            "origin"
        };
        let running = [
            Status::Received,
            Status::Processing,
            Status::AwaitingPayment,
            Status::WithdrawalRequested,
        ]
        .iter()
        .map(|s| s.code().to_string())
        .collect::<Vec<_>>()
        .join(",");
        let sql = format!(
            "SELECT {column},
                sum(status IS NOT NULL AND status <> {submitted}),
                sum(status IN ({running}) AND ended_at IS NULL),
                sum(status = {supplement}),
                sum(status = {resolved}),
                sum(status = {returned}),
                sum(status = {refused}),
                sum(status = {stopped}),
                sum(ended_at IS NULL AND status IS NOT {supplement} AND due_at < ?1),
                sum(ended_at IS NOT NULL AND timeliness = 'early'),
                sum(ended_at IS NOT NULL AND timeliness = 'on_time'),
                sum(ended_at IS NOT NULL AND timeliness = 'late'),
                sum(status = {submitted})
             FROM dossiers
             WHERE (?2 IS NULL OR coalesce(received_at, ended_at) >= ?2)
               AND (?3 IS NULL OR coalesce(received_at, ended_at) < ?3)
             GROUP BY 1",
            submitted = Status::Submitted.code(),
            supplement = Status::AwaitingSupplement.code(),
            resolved = Status::Resolved.code(),
            returned = Status::Returned.code(),
            refused = Status::Refused.code(),
            stopped = Status::Stopped.code(),
        );
        let mut statement = self.conn().prepare(&sql)?;
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
                    Counts {
                        received: n(1)?,
                        in_progress: n(2)?,
                        awaiting_supplement: n(3)?,
                        resolved: n(4)?,
                        returned: n(5)?,
                        refused: n(6)?,
                        stopped: n(7)?,
                        overdue: n(8)?,
                        early: n(9)?,
                        on_time: n(10)?,
                        late: n(11)?,
                        submitted: n(12)?,
                    },
                ))
            },
        )?;
        let mut by_office = BTreeMap::new();
        for row in rows {
            let (office, counts) = row?;
            by_office.insert(office, counts);
        }
        Ok(by_office)
    }
}

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
