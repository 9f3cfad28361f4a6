//! Human output: times in local time, tables.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};

/// `dd/mm/yyyy HH:MM` in the office's time zone, as officers write times.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
}

pub fn local_opt(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| local(t, tz)).unwrap_or_else(|| "—".into())
}

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
