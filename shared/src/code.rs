//! Dossier codes (mã hồ sơ): `{agency code}-{yyMMdd}-{NNNN}`.
//!
//! The receiving office's identifier code, the local receipt date and a
//! 4-digit sequence per office per day starting at 0001. Each office is
//! served by exactly one node, which owns the counter and assigns codes
//! offline; the node commits the counter in the same transaction as the
//! dossier, so a code is never reused, even after a crash.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// The highest sequence number a code can carry in a day.
pub const MAX_SEQUENCE: u16 = 9999;

/// A dossier code such as `000.00.06.H56-231027-0361`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DossierCode {
    pub agency_code: String,
    pub date: NaiveDate,
    pub sequence: u16,
}

/// Why a code cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DossierCodeError {
    #[error(
        "`{0}` is not a dossier code (expected AGENCY-yyMMdd-NNNN, e.g. 000.00.06.H56-231027-0361)"
    )]
    Malformed(String),
    #[error(
        "agency code `{0}` cannot be used in a dossier code: use letters, digits and dots only"
    )]
    BadAgencyCode(String),
    #[error("sequence {0} is out of range 1–{MAX_SEQUENCE}")]
    SequenceOutOfRange(u32),
    #[error("the year {0} cannot be written as two digits in a dossier code (2000–2099)")]
    YearOutOfRange(i32),
}

impl DossierCode {
    pub fn new(
        agency_code: &str,
        date: NaiveDate,
        sequence: u32,
    ) -> Result<Self, DossierCodeError> {
        if agency_code.is_empty()
            || !agency_code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Err(DossierCodeError::BadAgencyCode(agency_code.to_string()));
        }
        if !(1..=u32::from(MAX_SEQUENCE)).contains(&sequence) {
            return Err(DossierCodeError::SequenceOutOfRange(sequence));
        }
        if !(2000..=2099).contains(&date.year()) {
            return Err(DossierCodeError::YearOutOfRange(date.year()));
        }
        Ok(DossierCode {
            agency_code: agency_code.to_string(),
            date,
            sequence: sequence as u16,
        })
    }
}

impl fmt::Display for DossierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.agency_code,
            self.date.format("%y%m%d"),
            self.sequence
        )
    }
}

impl FromStr for DossierCode {
    type Err = DossierCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || DossierCodeError::Malformed(s.to_string());
        let mut parts = s.trim().rsplitn(3, '-');
        let sequence = parts.next().ok_or_else(malformed)?;
        let date = parts.next().ok_or_else(malformed)?;
        let agency = parts.next().ok_or_else(malformed)?;
        if sequence.len() != 4 || date.len() != 6 {
            return Err(malformed());
        }
        if !sequence.bytes().all(|b| b.is_ascii_digit())
            || !date.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(malformed());
        }
        let sequence: u32 = sequence.parse().map_err(|_| malformed())?;
        let date =
            NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").map_err(|_| malformed())?;
        DossierCode::new(agency, date, sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_the_regulation_example() {
        let date = NaiveDate::from_ymd_opt(2023, 10, 27).unwrap();
        let code = DossierCode::new("000.00.06.H56", date, 361).unwrap();
        assert_eq!(code.to_string(), "000.00.06.H56-231027-0361");
        assert_eq!(
            "000.00.06.H56-231027-0361".parse::<DossierCode>().unwrap(),
            code
        );
    }

    #[test]
    fn rejects_bad_codes() {
        for bad in [
            "",
            "H49-260105",
            "H49-261305-0001",
            "H49-260105-001",
            "H49-260105-0000",
            "-260105-0001",
            "H 49-260105-0001",
        ] {
            assert!(bad.parse::<DossierCode>().is_err(), "{bad} accepted");
        }
        let date = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(
            DossierCode::new("H49", date, 10_000),
            Err(DossierCodeError::SequenceOutOfRange(10_000))
        );
    }

    proptest! {
        #[test]
        fn round_trips(agency in "[0-9A-Z]{1,3}(\\.[0-9A-Z]{1,3}){0,3}", day in 0u32..36_500, seq in 1u32..=9999) {
            let date = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(u64::from(day));
            let code = DossierCode::new(&agency, date, seq).unwrap();
            prop_assert_eq!(code.to_string().parse::<DossierCode>().unwrap(), code);
        }
    }
}
