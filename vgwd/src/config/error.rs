//! Configuration errors: every one carries where it happened (a byte span in the file, turned
//! into `line:column` for display), what is wrong, and what to do about it.

use std::fmt;
use std::ops::Range;

/// One mistake in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Byte range in the file text the mistake refers to.
    pub span: Range<usize>,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column (in characters) of `span.start`.
    pub column: usize,
    /// What is wrong, for an operator.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ConfigError {
    /// `line:column: message` without the file name (what the broken-config tests compare).
    pub fn short(&self) -> String {
        format!("{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Every mistake found in one file, in the order they appear in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file name as given on the command line (used as the prefix of every message).
    pub file: String,
    /// The mistakes, sorted by position.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, e.line, e.column, e.message)?;
            if let Some(hint) = &e.hint {
                write!(f, "\n  hint: {hint}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Error of [`crate::config::load`]: the file could not be read, or it is wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read the configuration: {source}")]
    Read {
        /// The path as given.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but contains mistakes.
    #[error("{0}")]
    Invalid(ConfigErrors),
}

/// Collects errors while a file is checked; turns byte spans into line and column at the end.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pending: Vec<(Range<usize>, String, Option<String>)>,
}

impl Collector {
    pub(crate) fn push(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.pending.push((span, message.into(), hint));
    }

    pub(crate) fn hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, message, Some(hint.into()));
    }

    /// A serde/TOML error from the `toml` crate, with a hint chosen from its wording.
    pub(crate) fn toml(&mut self, err: &toml::de::Error, fallback: Range<usize>) {
        let span = err.span().unwrap_or(fallback);
        let message = err.message().trim_end().replace('\n', " ");
        let hint = toml_hint(&message);
        self.push(span, message, hint);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub(crate) fn finish(mut self, file: &str, text: &str) -> ConfigErrors {
        self.pending.sort_by_key(|(span, _, _)| span.start);
        self.pending.dedup();
        let errors = self
            .pending
            .into_iter()
            .map(|(span, message, hint)| {
                let (line, column) = line_column(text, span.start);
                ConfigError {
                    span,
                    line,
                    column,
                    message,
                    hint,
                }
            })
            .collect();
        ConfigErrors {
            file: file.to_string(),
            errors,
        }
    }
}

fn toml_hint(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        Some("remove the key or fix its spelling; vgwd/examples/full.toml lists every key".into())
    } else if message.starts_with("unknown variant") {
        Some("use one of the values listed above".into())
    } else if message.starts_with("missing field") {
        Some("add the key; it has no default".into())
    } else if message.starts_with("invalid type") {
        Some("check the value's type (quote strings, no quotes around numbers)".into())
    } else if message.starts_with("invalid duration") {
        Some("write durations as strings with a unit: \"200ms\", \"2s\", \"1m\", \"1h\"".into())
    } else {
        Some("fix the TOML at this position (https://toml.io explains the syntax)".into())
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_and_column_are_one_based() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_column(t, 0), (1, 1));
        assert_eq!(line_column(t, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(t, 9), (2, 3));
        assert_eq!(line_column(t, 1000), (3, 1));
    }
}
