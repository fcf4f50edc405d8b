//! Turning API values into text: aligned tables and key/value blocks for people. Pure
//! functions from values to `String`, so they are tested without a daemon.

pub mod bgp;
pub mod events;
pub mod ipvs;
pub mod node;
pub mod ospf;
pub mod service;

/// Whether to colour state words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
}

impl Style {
    /// No colour.
    #[cfg(test)]
    pub const PLAIN: Style = Style { color: false };

    /// Colours a state word: green for good, red for bad, yellow for in-between.
    pub fn state(&self, word: &str) -> Cell {
        let code = match word {
            "up" | "announced" | "Established" | "Full" | "ok" | "enabled" | "done" => "32",
            "down" | "withdrawn" | "fail" | "timeout" | "Idle" | "Active" | "Down" => "31",
            "drained" | "degraded" | "pending" | "protected" | "unknown" | "Connect"
            | "OpenSent" | "OpenConfirm" | "Init" | "2-Way" | "ExStart" | "Exchange"
            | "Loading" => "33",
            _ => "",
        };
        if self.color && !code.is_empty() {
            Cell {
                text: word.to_owned(),
                ansi: Some(code),
            }
        } else {
            Cell::from(word)
        }
    }
}

/// A table cell: its text and an optional ANSI colour applied after padding, so colour
/// never disturbs alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    text: String,
    ansi: Option<&'static str>,
}

impl Cell {
    /// The same cell with `prefix` before its text (inside the colour).
    pub fn clone_with_prefix(&self, prefix: &str) -> Cell {
        Cell {
            text: format!("{prefix}{}", self.text),
            ansi: self.ansi,
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell {
            text: s.to_owned(),
            ansi: None,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, ansi: None }
    }
}

/// Columns separated by two spaces, left-aligned, trailing blanks trimmed.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            rows: vec![headers.iter().map(|h| Cell::from(*h)).collect()],
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The text, one line per row, each ending in `\n`.
    pub fn render(&self) -> String {
        let ncols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..ncols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.text.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let pad = widths.get(c).copied().unwrap_or(0);
                let last = c + 1 == row.len();
                let text = if last {
                    cell.text.clone()
                } else {
                    format!("{:<pad$}", cell.text)
                };
                match cell.ansi {
                    Some(code) => {
                        let trimmed = text.trim_end();
                        let blanks = &text[trimmed.len()..];
                        line.push_str(&format!("\x1b[{code}m{trimmed}\x1b[0m{blanks}"));
                    }
                    None => line.push_str(&text),
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `label:` padded to a common width, then the value (a key/value block).
pub fn kv(out: &mut String, label: &str, value: &str) {
    let line = format!("{:<16}{}", format!("{label}:"), value);
    out.push_str(line.trim_end());
    out.push('\n');
}

/// A duration in seconds the way operators read it: `42s`, `1m35s`, `2h`, `1d1h`.
pub fn duration(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let Some(i) = UNITS.iter().position(|(size, _)| secs >= *size) else {
        return "0s".to_owned();
    };
    let mut out = String::new();
    if let Some((size, name)) = UNITS.get(i) {
        out.push_str(&format!("{}{name}", secs / size));
        // The next smaller unit only: 1d0h5m prints as 1d.
        if let Some((next, next_name)) = UNITS.get(i + 1) {
            let n = (secs % size) / next;
            if n > 0 {
                out.push_str(&format!("{n}{next_name}"));
            }
        }
    }
    out
}

/// A latency in microseconds: `410us`, `1.8ms`, `1.00s`.
pub fn latency(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{}.{}ms", us / 1_000, (us % 1_000) / 100)
    } else {
        format!("{}.{:02}s", us / 1_000_000, (us % 1_000_000) / 10_000)
    }
}

/// A list joined with commas, or `-` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

/// The text, or `-` when empty.
pub fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_an_operator_writes_them() {
        let cases = [
            (0, "0s"),
            (42, "42s"),
            (95, "1m35s"),
            (600, "10m"),
            (3_600, "1h"),
            (7_200, "2h"),
            (86_400, "1d"),
            (90_061, "1d1h"),
            (86_401, "1d"),
        ];
        for (secs, want) in cases {
            assert_eq!(duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn latencies() {
        assert_eq!(latency(410), "410us");
        assert_eq!(latency(1_830), "1.8ms");
        assert_eq!(latency(1_000_000), "1.00s");
        assert_eq!(latency(2_345_678), "2.34s");
    }

    #[test]
    fn tables_align_and_colour_after_padding() {
        let mut t = Table::new(&["A", "STATE", "C"]);
        t.row(vec![
            "x".into(),
            Style { color: true }.state("up"),
            "long text".into(),
        ]);
        t.row(vec![
            "yy".into(),
            Style::PLAIN.state("withdrawn"),
            "".into(),
        ]);
        assert_eq!(
            t.render(),
            "A   STATE      C\nx   \x1b[32mup\x1b[0m         long text\nyy  withdrawn\n"
        );
    }
}
