//! A repaired copy of the input, so that one run can report every problem.
//!
//! After a hazard or an indentation slip is reported, analysis goes on with the fix applied
//! (`：` → `:`, `“cp”` → `"cp"`, elision lines blanked, a mis-indented block shifted), which is
//! what the user will get after following the help text. Repairs never add or remove lines, so
//! positions map back to the original by a per-line column shift.

/// Column offsets per line: `original column = repaired column + shift`.
#[derive(Debug, Clone, Default)]
pub struct LineShifts(Vec<isize>);

impl LineShifts {
    /// Adds `delta` to the shift of 1-based `line`.
    pub fn add(&mut self, line: usize, delta: isize) {
        if line == 0 {
            return;
        }
        if self.0.len() < line {
            self.0.resize(line, 0);
        }
        self.0[line - 1] += delta;
    }

    /// The original column of repaired `column` on `line`.
    pub fn original_column(&self, line: usize, column: usize) -> usize {
        let shift = self.0.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        (column as isize + shift).max(1) as usize
    }
}

/// Text to analyse in place of the original, and how its columns map back.
#[derive(Debug, Clone, Default)]
pub struct Repaired {
    pub text: String,
    pub shifts: LineShifts,
    /// The character that stands for `'` in double-quoted scalars, where the text had go-yaml's
    /// `\'` escape (rewritten to an escape of the same length that YAML 1.2 knows).
    pub apostrophe: Option<char>,
}

impl Repaired {
    /// The repaired lines, for a repair that rewrites some of them.
    pub fn lines(&self) -> Vec<String> {
        self.text.split('\n').map(str::to_owned).collect()
    }

    /// Replaces the text with `lines` (same count as before).
    pub fn set_lines(&mut self, lines: &[String]) {
        self.text = lines.join("\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_accumulate_per_line() {
        let mut s = LineShifts::default();
        s.add(3, 3);
        s.add(3, -1);
        assert_eq!(s.original_column(3, 5), 7);
        assert_eq!(s.original_column(2, 5), 5);
        assert_eq!(s.original_column(40, 1), 1);
    }
}
