//! A problem found in user input, located as `file:line:column`.
//!
//! Bad rows and template failures are values, not errors: they are collected
//! beside the good data so that one bad row never hides the others.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not stop anything (e.g. a language fallback).
    Warning,
    /// The row, template or file cannot be used as it is.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
    /// The whole file cannot be trusted (wrong encoding, unclosed quote):
    /// nothing from it is greeted until it is fixed.
    #[serde(skip)]
    pub fatal: bool,
}

impl Problem {
    pub fn error(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            fatal: false,
        }
    }

    /// An error that makes the whole file unusable.
    pub fn fatal(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            fatal: true,
            ..Problem::error(file, message)
        }
    }

    pub fn warning(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, message)
        }
    }

    pub fn at(mut self, line: u64, column: Option<u64>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if self.severity == Severity::Warning {
            write!(f, ": warning")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// 1-based line and column of a byte offset in `text` (column counts characters).
pub fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() as u64 + 1;
    (line, col)
}

/// Every problem (location first) as one error with exit 2.
pub fn fail_on(problems: Vec<Problem>) -> anyhow::Error {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    crate::exit::Halt::invalid(lines.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_location_first() {
        let p = Problem::error("customers.csv", "birthday \"31/02/1990\" is not a date")
            .at(14, Some(3));
        assert_eq!(
            p.to_string(),
            "customers.csv:14:3: birthday \"31/02/1990\" is not a date"
        );
    }

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let text = "α=1\nβγ = x";
        assert_eq!(line_col(text, text.find('x').unwrap()), (2, 6));
        assert_eq!(line_col(text, 0), (1, 1));
    }
}
