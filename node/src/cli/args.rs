//! Arguments shared by many commands, and parsing of times and amounts.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use clap::Args;
use lienthong_shared::OfficeId;

use super::messages::CliMsg;
use crate::i18n::Lang;

/// `--data DIR`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The node's data directory (made by `lienthong init`).
    #[arg(long, value_name = "DIR", env = "LIENTHONG_DATA")]
    pub data: PathBuf,
}

/// What every officer command takes.
#[derive(Debug, Clone, Args)]
pub struct OfficerArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The dossier: its code (e.g. 000.00.06.H49-260213-0001) or id (or a unique id prefix).
    #[arg(value_name = "DOSSIER")]
    pub dossier: String,
    #[command(flatten)]
    pub who: WhoArgs,
}

/// Who acts, as which office, when.
#[derive(Debug, Clone, Args)]
pub struct WhoArgs {
    /// The officer doing it (cán bộ), recorded in the dossier's history.
    #[arg(long, value_name = "NAME", env = "LIENTHONG_OFFICER")]
    pub officer: String,
    /// Act as this office (one this node serves, e.g. a department at the
    /// provincial Center). Default: the office the rule requires, if served here.
    #[arg(long = "as", value_name = "OFFICE")]
    pub acting_as: Option<OfficeId>,
    /// When it happened, local time (`2026-02-13 09:30`) or RFC 3339; default now.
    /// For recording paper work after the fact.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parse a time given by an officer: RFC 3339, or local `YYYY-MM-DD HH:MM[:SS]`
/// or `dd/mm/yyyy HH:MM` (as the CLI prints times), or a bare date (`YYYY-MM-DD`, meaning the end of that working day is up to the caller).
pub fn parse_time(text: &str, tz: Tz) -> Result<DateTime<Utc>> {
    parse_time_in(text, tz, Lang::from_env())
}

/// [`parse_time`], its refusal worded in `lang`.
pub fn parse_time_in(text: &str, tz: Tz, lang: Lang) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%d/%m/%Y %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return local_to_utc(naive, tz, text, lang);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let naive = date.and_hms_opt(0, 0, 0).context("midnight")?;
        return local_to_utc(naive, tz, text, lang);
    }
    bail!(
        "{}",
        crate::i18n::fill(CliMsg::NotATime.text(lang), &[("text", text)])
    )
}

fn local_to_utc(naive: NaiveDateTime, tz: Tz, text: &str, lang: Lang) -> Result<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::None => bail!(
            "{}",
            crate::i18n::fill(
                CliMsg::TimeDoesNotExist.text(lang),
                &[("text", text), ("tz", tz.name())]
            )
        ),
    }
}

impl WhoArgs {
    pub fn time(&self, tz: Tz) -> Result<DateTime<Utc>> {
        match &self.at {
            Some(text) => parse_time(text, tz),
            None => Ok(Utc::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_and_rfc3339() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let local = parse_time("2026-02-13 09:30", tz).unwrap();
        assert_eq!(local.to_rfc3339(), "2026-02-13T02:30:00+00:00");
        let rfc = parse_time("2026-02-13T09:30:00+07:00", tz).unwrap();
        assert_eq!(local, rfc);
        // What the CLI prints reads back.
        assert_eq!(parse_time("13/02/2026 09:30", tz).unwrap(), local);
        let error = parse_time("13/02/2026", tz).unwrap_err().to_string();
        assert!(error.contains("YYYY-MM-DD HH:MM"), "{error}");
    }
}
