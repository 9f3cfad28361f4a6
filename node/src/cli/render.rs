//! Human output: tables and JSON (times and words: `crate::i18n::Locale`).

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

/// Print `value` as pretty JSON in one write: a command's JSON is its
/// acknowledgement, and a process killed while printing must leave all of
/// it or none. (`println!` hands the text to the line-buffered stdout in
/// pieces — up to its last inner newline, then the closing brace — so a
/// kill between the two writes left a JSON object without its end:
/// `tests/tests/chaos/kill.rs`.)
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    use std::io::Write;
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
