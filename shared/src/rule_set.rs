//! Rule sets: which national rules a dossier is judged by.
//!
//! The one-stop rules changed on 1 July 2025 (Decree 118/2025/NĐ-CP and
//! Circular 03/2025/TT-VPCP replaced Decree 61/2018/NĐ-CP and Circular
//! 01/2018/TT-VPCP). A dossier records the rule set in force on the day it
//! was received and keeps it for its whole life, so the network file lists
//! every rule set with the date it took effect.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

/// What happens to the deadline when the applicant's supplement arrives (RULES D3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SupplementClock {
    /// The processing time starts again from zero (the 2018 and 2025 default).
    Restart,
    /// The old due time is pushed back by the time the dossier waited.
    Extend,
}

impl fmt::Display for SupplementClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Restart => "restart",
            Self::Extend => "extend",
        })
    }
}

/// One set of one-stop rules and the day it took effect.
///
/// In a network file:
/// ```toml
/// [[rule_set]]
/// id = "2025"
/// effective_from = "2025-07-01"
/// supplement_clock = "restart"              # default
/// supplement_request_within_days = 3        # default
/// apology_min_working_days_before_due = 1   # default
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Short stable id recorded in every dossier (`"2018"`, `"2025"`).
    pub id: String,
    /// First day (local date) on which dossiers are received under this set.
    #[serde(deserialize_with = "deserialize_date")]
    pub effective_from: NaiveDate,
    /// D3: restart or extend the clock after a supplement.
    #[serde(default = "default_supplement_clock")]
    pub supplement_clock: SupplementClock,
    /// D3: a supplement request later than this many working days after
    /// receipt is flagged late.
    #[serde(default = "default_supplement_request_within_days")]
    pub supplement_request_within_days: u32,
    /// D4: the apology (Form 04) must go out at least this many working days
    /// before the due time.
    #[serde(default = "default_apology_min_working_days_before_due")]
    pub apology_min_working_days_before_due: u32,
}

fn default_supplement_clock() -> SupplementClock {
    SupplementClock::Restart
}

fn default_supplement_request_within_days() -> u32 {
    3
}

fn default_apology_min_working_days_before_due() -> u32 {
    1
}

/// Accepts `"2025-07-01"` (a string) as well as a bare TOML date `2025-07-01`.
fn deserialize_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    use serde::de::Error;
    let value = toml::Value::deserialize(deserializer)?;
    let text = match &value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) if datetime.time.is_none() && datetime.offset.is_none() => {
            datetime.to_string()
        }
        _ => {
            return Err(D::Error::custom(
                "expected a date written as \"YYYY-MM-DD\", for example \"2025-07-01\"",
            ));
        }
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        D::Error::custom(format!(
            "`{text}` is not a valid date; write it as \"YYYY-MM-DD\", for example \"2025-07-01\""
        ))
    })
}

/// Why a list of rule sets cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    #[error(
        "no rule set is defined; add at least one [[rule_set]] with an id and effective_from date"
    )]
    Empty,
    #[error("rule set {index} has an empty id; give it a short id such as \"2025\"")]
    EmptyId { index: usize },
    #[error("rule set id `{id}` is defined twice; each [[rule_set]] needs its own id")]
    DuplicateId { index: usize, id: String },
    #[error(
        "rule sets `{first}` and `{id}` both take effect on {date}; only one rule set can start on a given day, fix one of the effective_from dates"
    )]
    DuplicateDate {
        index: usize,
        id: String,
        first: String,
        date: NaiveDate,
    },
    #[error(
        "rule set `{id}` sets supplement_request_within_days = 0; it must be at least 1 working day (3 under Decree 61/2018 and 118/2025)"
    )]
    ZeroSupplementDays { index: usize, id: String },
}

impl RuleSetError {
    /// Position (in the list given to [`RuleSets::new`]) of the rule set at fault.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::Empty => None,
            Self::EmptyId { index }
            | Self::DuplicateId { index, .. }
            | Self::DuplicateDate { index, .. }
            | Self::ZeroSupplementDays { index, .. } => Some(*index),
        }
    }
}

/// All rule sets of a network, ordered by the day they took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSets {
    /// Sorted by `effective_from`, oldest first.
    sets: Vec<RuleSet>,
}

impl RuleSets {
    /// Validates: at least one set, non-empty unique ids, distinct dates,
    /// a supplement window of at least one day.
    pub fn new(sets: Vec<RuleSet>) -> Result<Self, RuleSetError> {
        if sets.is_empty() {
            return Err(RuleSetError::Empty);
        }
        for (index, set) in sets.iter().enumerate() {
            if set.id.trim().is_empty() {
                return Err(RuleSetError::EmptyId { index });
            }
            if sets[..index].iter().any(|s| s.id == set.id) {
                return Err(RuleSetError::DuplicateId {
                    index,
                    id: set.id.clone(),
                });
            }
            if let Some(first) = sets[..index]
                .iter()
                .find(|s| s.effective_from == set.effective_from)
            {
                return Err(RuleSetError::DuplicateDate {
                    index,
                    id: set.id.clone(),
                    first: first.id.clone(),
                    date: set.effective_from,
                });
            }
            if set.supplement_request_within_days == 0 {
                return Err(RuleSetError::ZeroSupplementDays {
                    index,
                    id: set.id.clone(),
                });
            }
        }
        let mut sets = sets;
        sets.sort_by_key(|s| s.effective_from);
        Ok(Self { sets })
    }

    /// The rule set in force on `date` (local date of receipt): the one that
    /// took effect most recently on or before it. `None` before the first.
    pub fn in_force_on(&self, date: NaiveDate) -> Option<&RuleSet> {
        self.sets.iter().rev().find(|s| s.effective_from <= date)
    }

    /// The rule set with this id (as recorded in a dossier).
    pub fn get(&self, id: &str) -> Option<&RuleSet> {
        self.sets.iter().find(|s| s.id == id)
    }

    /// All rule sets, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &RuleSet> {
        self.sets.iter()
    }

    /// The most recent rule set (the one in force from its date on).
    pub fn latest(&self) -> &RuleSet {
        // `new` refuses an empty list, so there is always a last one.
        &self.sets[self.sets.len() - 1]
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Always false: a `RuleSets` holds at least one rule set.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

impl<'a> IntoIterator for &'a RuleSets {
    type Item = &'a RuleSet;
    type IntoIter = std::slice::Iter<'a, RuleSet>;
    fn into_iter(self) -> Self::IntoIter {
        self.sets.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn set(id: &str, from: &str) -> RuleSet {
        RuleSet {
            id: id.into(),
            effective_from: date(from),
            supplement_clock: SupplementClock::Restart,
            supplement_request_within_days: 3,
            apology_min_working_days_before_due: 1,
        }
    }

    #[test]
    fn in_force_on_picks_latest_started() {
        // Given out of order on purpose.
        let sets =
            RuleSets::new(vec![set("2025", "2025-07-01"), set("2018", "2018-06-21")]).unwrap();
        assert_eq!(sets.in_force_on(date("2018-06-20")), None);
        assert_eq!(sets.in_force_on(date("2018-06-21")).unwrap().id, "2018");
        assert_eq!(sets.in_force_on(date("2025-06-30")).unwrap().id, "2018");
        assert_eq!(sets.in_force_on(date("2025-07-01")).unwrap().id, "2025");
        assert_eq!(sets.in_force_on(date("2031-01-01")).unwrap().id, "2025");
        assert_eq!(sets.get("2018").unwrap().effective_from, date("2018-06-21"));
        assert!(sets.get("2020").is_none());
        let ids: Vec<_> = sets.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["2018", "2025"]);
        assert_eq!(sets.latest().id, "2025");
    }

    #[test]
    fn rejects_bad_lists() {
        assert_eq!(RuleSets::new(vec![]), Err(RuleSetError::Empty));
        assert!(matches!(
            RuleSets::new(vec![set("2018", "2018-06-21"), set("2018", "2025-07-01")]),
            Err(RuleSetError::DuplicateId { index: 1, .. })
        ));
        assert!(matches!(
            RuleSets::new(vec![set("a", "2018-06-21"), set("b", "2018-06-21")]),
            Err(RuleSetError::DuplicateDate { index: 1, .. })
        ));
        assert!(matches!(
            RuleSets::new(vec![set(" ", "2018-06-21")]),
            Err(RuleSetError::EmptyId { index: 0 })
        ));
        let mut zero = set("x", "2018-06-21");
        zero.supplement_request_within_days = 0;
        assert!(matches!(
            RuleSets::new(vec![zero]),
            Err(RuleSetError::ZeroSupplementDays { index: 0, .. })
        ));
    }

    #[test]
    fn deserializes_with_defaults_and_both_date_forms() {
        let quoted: RuleSet =
            toml::from_str("id = \"2018\"\neffective_from = \"2018-06-21\"\n").unwrap();
        assert_eq!(quoted, set("2018", "2018-06-21"));
        let bare: RuleSet = toml::from_str(
            "id = \"x\"\neffective_from = 2025-07-01\nsupplement_clock = \"extend\"\nsupplement_request_within_days = 2\napology_min_working_days_before_due = 0\n",
        )
        .unwrap();
        assert_eq!(bare.effective_from, date("2025-07-01"));
        assert_eq!(bare.supplement_clock, SupplementClock::Extend);
        assert_eq!(bare.supplement_request_within_days, 2);
        assert_eq!(bare.apology_min_working_days_before_due, 0);
        let bad =
            toml::from_str::<RuleSet>("id = \"x\"\neffective_from = \"2025-13-01\"\n").unwrap_err();
        assert!(bad.message().contains("YYYY-MM-DD"), "{bad}");
        let typo = toml::from_str::<RuleSet>(
            "id = \"x\"\neffective_from = \"2025-01-01\"\nsuplement_clock = \"extend\"\n",
        )
        .unwrap_err();
        assert!(typo.message().contains("unknown field"), "{typo}");
        let clock = toml::from_str::<RuleSet>(
            "id = \"x\"\neffective_from = \"2025-01-01\"\nsupplement_clock = \"pause\"\n",
        )
        .unwrap_err();
        assert!(clock.message().contains("restart"), "{clock}");
    }

    #[test]
    fn json_round_trip() {
        let original = set("2025", "2025-07-01");
        let json = serde_json::to_string(&original).unwrap();
        let back: RuleSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, original);
    }
}
