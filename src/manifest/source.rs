//! Manifest text with a line index, so every diagnostic can name a line and column.

use std::sync::Arc;

/// One input (a file, or stdin) as text, with the byte offset of each line start.
///
/// Diagnostics carry 1-based line and column numbers counted in characters (what an editor
/// shows); miette needs byte offsets. `Source` converts between the two.
#[derive(Debug)]
pub struct Source {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Wraps `text` read from `name` (a path as the user typed it, or `<stdin>`).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Arc::new(Self {
            name: name.into(),
            text,
            line_starts,
        })
    }

    /// The name shown in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Number of lines (a trailing newline does not start a new line).
    pub fn line_count(&self) -> usize {
        if self.text.ends_with('\n') {
            self.line_starts.len() - 1
        } else {
            self.line_starts.len()
        }
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset of 1-based `line` and character `column`; clamped to the line's end.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return self.text.len();
        };
        let text = self.line(line);
        let within = text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(text.len(), |(i, _)| i);
        start + within
    }

    /// 1-based line and character column of byte `offset`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line, column)
    }

    /// Byte length of `chars` characters starting at `line`/`column`, clamped to the line.
    pub fn byte_len(&self, line: usize, column: usize, chars: usize) -> usize {
        let start = self.offset(line, column);
        let line_end = self.offset(line, usize::MAX);
        self.text[start..line_end]
            .char_indices()
            .nth(chars)
            .map_or(line_end - start, |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let s = Source::new("t", "a: 1\nlifecycle：\n  x: “cp”\n");
        assert_eq!(s.line_count(), 3);
        assert_eq!(s.line(2), "lifecycle：");
        let off = s.offset(3, 6);
        assert_eq!(&s.text()[off..], "“cp”\n");
        assert_eq!(s.position(off), (3, 6));
        assert_eq!(s.byte_len(3, 6, 1), '“'.len_utf8());
        assert_eq!(s.offset(9, 1), s.text().len());
    }
}
