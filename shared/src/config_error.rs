//! Errors in configuration files, located by file, line and column so an
//! operator can open the file at the right place and fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration file that cannot be used, with where and why.
///
/// Displayed as `FILE:LINE:COLUMN: MESSAGE` (the location parts only when
/// known), the form editors and terminals turn into links.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file that holds the problem (or a label such as `<built-in catalogue>`).
    pub file: PathBuf,
    /// 1-based line, when the problem has a position.
    pub line: Option<usize>,
    /// 1-based column, when the problem has a position.
    pub column: Option<usize>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl ConfigError {
    /// A problem that concerns the whole file (missing, unreadable, or a
    /// cross-reference that has no single position).
    pub fn whole_file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self {
            file: file.as_ref().to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A problem at a byte offset of `source` (the file's text).
    pub fn at_offset(
        file: impl AsRef<Path>,
        source: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_and_column(source, offset);
        Self {
            file: file.as_ref().to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, located by the span the parser reports.
    pub fn from_toml(file: impl AsRef<Path>, source: &str, error: &toml::de::Error) -> Self {
        let message = error.message().trim().to_string();
        match error.span() {
            Some(span) => Self::at_offset(file, source, span.start, message),
            None => Self::whole_file(file, message),
        }
    }

    /// The 1-based line of the first occurrence of `needle` in `source`, for
    /// errors found after parsing (for example a duplicate id): pointing at
    /// the line that names the culprit beats pointing at nothing.
    pub fn at_text(
        file: impl AsRef<Path>,
        source: &str,
        needle: &str,
        message: impl Into<String>,
    ) -> Self {
        match source.find(needle) {
            Some(offset) => Self::at_offset(file, source, offset, message),
            None => Self::whole_file(file, message),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_error_points_at_line_and_column() {
        let source = "a = 1\nb = = 2\n";
        let error = toml::from_str::<toml::Table>(source).unwrap_err();
        let config_error = ConfigError::from_toml("x.toml", source, &error);
        assert_eq!(config_error.line, Some(2));
        assert!(config_error.to_string().starts_with("x.toml:2:"));
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let source = "tên = \"Điện Bàn\" x";
        let offset = source.find('x').unwrap();
        assert_eq!(line_and_column(source, offset), (1, 18));
    }
}
