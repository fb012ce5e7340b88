//! Copy-paste hazards: characters and lines that come from articles, chat and word processors
//! rather than from an editor.
//!
//! The seed article shows all of them: `lifecycle：` (a full-width colon), `“cp”` (typographic
//! quotes), `......` / `……` (elided text), and manifests wrapped in `cat << EOF > x.yaml`.
//! They are found on the raw text, before YAML parsing, because YAML either rejects them with a
//! baffling message or, worse, silently accepts them as part of a value.

use super::diagnostic::{Code, Diagnostic, Position};
use super::repair::{LineShifts, Repaired};
use super::source::Source;
use super::yaml;

/// Scans `source` for hazards; returns the findings and a copy with each hazard fixed.
pub fn scan(source: &Source) -> (Vec<Diagnostic>, Repaired) {
    let lines: Vec<&str> = source.text().split('\n').collect();
    let mut diagnostics = Vec::new();
    let mut shifts = LineShifts::default();
    let mut out = Output(String::with_capacity(source.text().len()));

    let wrapper = ShellWrapper::detect(&lines, source.text());
    if let Some(wrapper) = &wrapper {
        diagnostics.extend(wrapper.diagnostics(&lines));
    }
    let unit = indentation_unit(&lines);
    let fresh = Lexer {
        json: is_json(source.text()),
        apostrophe: apostrophe_placeholder(source.text()),
        ..Lexer::default()
    };
    let mut lexer = fresh.clone();
    let mut apostrophes = false;

    for (index, raw) in lines.iter().enumerate() {
        let number = index + 1;
        let (line, cr) = match raw.strip_suffix('\r') {
            Some(line) => (line, "\r"),
            None => (*raw, ""),
        };
        if let Some(wrapper) = &wrapper
            && let Some(replacement) = wrapper.replacement(index)
        {
            out.line(index, replacement);
            lexer = fresh.clone();
            continue;
        }
        if lexer.in_block_scalar(line) {
            out.line(index, raw);
            continue;
        }
        if !lexer.in_quotes()
            && let Some(d) = elision(line, number)
        {
            diagnostics.push(d);
            out.line(index, "");
            lexer = fresh.clone();
            continue;
        }
        let (fixed, shift) = lexer.scan_line(line, number, unit, &mut diagnostics);
        apostrophes |= lexer.replaced_apostrophe;
        if shift != 0 {
            shifts.add(number, shift);
        }
        match fixed {
            Some(fixed) => {
                out.line(index, &fixed);
                out.0.push_str(cr);
            }
            None => out.line(index, raw),
        }
    }

    let apostrophe = fresh
        .apostrophe
        .filter(|_| apostrophes)
        .map(|(_, decoded)| decoded);
    (
        diagnostics,
        Repaired {
            text: out.0,
            shifts,
            apostrophe,
        },
    )
}

/// Whether kubectl reads `text` as JSON: its first non-blank character is `{`. In JSON, tabs
/// are whitespace like spaces (RFC 8259), not a hazard.
fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Kubernetes' YAML reader (go-yaml v2) accepts `\'` in double-quoted scalars, which YAML 1.2
/// and so podlife's parser reject. Such an escape is rewritten, keeping every column, to an
/// escape the file does not otherwise use; the parser's decoded character for it is turned back
/// into `'` (see [`Repaired::apostrophe`]). Returns the escape letter and what it decodes to.
fn apostrophe_placeholder(text: &str) -> Option<(char, char)> {
    if !text.contains("\\'") {
        return None;
    }
    [
        ('0', '\0'),
        ('a', '\u{7}'),
        ('b', '\u{8}'),
        ('v', '\u{b}'),
        ('e', '\u{1b}'),
    ]
    .into_iter()
    .find(|(letter, decoded)| !text.contains(&format!("\\{letter}")) && !text.contains(*decoded))
}

/// The repaired text, built line by line.
struct Output(String);

impl Output {
    fn line(&mut self, index: usize, text: &str) {
        if index > 0 {
            self.0.push('\n');
        }
        self.0.push_str(text);
    }
}

/// Replaces character `i` in the line's fixed copy, made on the first fix.
fn fix(fixed: &mut Option<Vec<char>>, chars: &[char], i: usize, c: char) {
    fixed.get_or_insert_with(|| chars.to_vec())[i] = c;
}

const DOUBLE_QUOTES: [char; 6] = ['“', '”', '„', '‟', '＂', '″'];
const SINGLE_QUOTES: [char; 5] = ['‘', '’', '‚', '‛', '＇'];
const ZERO_WIDTH: [char; 5] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{3000}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}'
    )
}

fn char_name(c: char) -> String {
    let name = match c {
        '：' => "full-width colon",
        '，' => "full-width comma",
        '［' => "full-width left bracket",
        '］' => "full-width right bracket",
        '｛' => "full-width left brace",
        '｝' => "full-width right brace",
        '－' => "full-width hyphen",
        '–' => "en dash",
        '—' => "em dash",
        '“' => "left double quotation mark",
        '”' => "right double quotation mark",
        '„' | '‟' => "double quotation mark",
        '＂' => "full-width quotation mark",
        '″' => "double prime",
        '‘' => "left single quotation mark",
        '’' => "right single quotation mark",
        '‚' | '‛' => "single quotation mark",
        '＇' => "full-width apostrophe",
        '\u{00A0}' => "no-break space",
        '\u{3000}' => "ideographic space",
        '\u{200B}' => "zero-width space",
        '\u{200C}' => "zero-width non-joiner",
        '\u{200D}' => "zero-width joiner",
        '\u{2060}' => "word joiner",
        '\u{FEFF}' => "zero-width no-break space (byte-order mark)",
        '\t' => "tab",
        _ if is_unicode_space(c) => "Unicode space",
        _ => "character",
    };
    format!("{name} '{}' (U+{:04X})", printable(c), c as u32)
}

fn printable(c: char) -> String {
    if c == '\t' || ZERO_WIDTH.contains(&c) || is_unicode_space(c) {
        c.escape_unicode().to_string()
    } else {
        c.to_string()
    }
}

/// The ASCII character a full-width or typographic one stands for.
fn ascii_for(c: char) -> char {
    match c {
        '：' => ':',
        '，' => ',',
        '［' => '[',
        '］' => ']',
        '｛' => '{',
        '｝' => '}',
        '－' | '–' | '—' => '-',
        c if DOUBLE_QUOTES.contains(&c) => '"',
        c if SINGLE_QUOTES.contains(&c) => '\'',
        _ => ' ',
    }
}

/// A line such as `......`, `……` or `⋯` that stands for text cut out of a snippet.
/// `...` alone is left alone: it is YAML's document-end marker.
fn elision(line: &str, number: usize) -> Option<Diagnostic> {
    let trimmed = line.trim();
    let count = trimmed.chars().count();
    let all_dots = trimmed.chars().all(|c| matches!(c, '.' | '…' | '⋯' | '。'));
    let has_ellipsis = trimmed.chars().any(|c| matches!(c, '…' | '⋯'));
    if count == 0 || !all_dots || (!has_ellipsis && count < 4) {
        return None;
    }
    let column = line.chars().take_while(|c| c.is_whitespace()).count() + 1;
    Some(
        Diagnostic::error(Code::Elision, format!("documentation elision `{trimmed}`"))
            .at(Position::new(number, column, trimmed.chars().count()))
            .label("text was left out here")
            .help(
                "this line stands for part of a manifest that the snippet left out: delete it and \
                 put back what it stands for (a whole object needs apiVersion, kind, metadata and spec)",
            ),
    )
}

/// The most likely indentation step of the file (2 in most manifests), used to expand tabs.
fn indentation_unit(lines: &[&str]) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let unit = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take_while(|&c| c == ' ').count())
        .filter(|&n| n > 0)
        .fold(0, gcd);
    if (1..=8).contains(&unit) { unit } else { 2 }
}

/// Quote, flow and block-scalar state carried from line to line.
#[derive(Default, Clone)]
struct Lexer {
    /// The input is JSON: tabs are whitespace.
    json: bool,
    /// The escape that stands in for `\'`, and its decoded character.
    apostrophe: Option<(char, char)>,
    /// Whether a `\'` was rewritten.
    replaced_apostrophe: bool,
    in_double: bool,
    in_single: bool,
    flow_depth: usize,
    /// Indentation of the line that opened a `|` / `>` block scalar.
    block_parent: Option<usize>,
    /// The current line's characters (kept to save an allocation per line).
    buffer: Vec<char>,
}

impl Lexer {
    fn in_quotes(&self) -> bool {
        self.in_double || self.in_single
    }

    /// Whether `line` is content of a block scalar (scripts may hold anything).
    fn in_block_scalar(&mut self, line: &str) -> bool {
        let Some(parent) = self.block_parent else {
            return false;
        };
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        if line.trim().is_empty() || indent > parent {
            return true;
        }
        self.block_parent = None;
        false
    }

    /// Checks one line; returns it with hazards fixed (if it had any) and the column shift the
    /// fix caused.
    fn scan_line(
        &mut self,
        line: &str,
        number: usize,
        unit: usize,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> (Option<String>, isize) {
        let mut chars = std::mem::take(&mut self.buffer);
        chars.clear();
        chars.extend(line.chars());
        let mut fixed: Option<Vec<char>> = None;
        let at = |i: usize, len: usize| Position::new(number, i + 1, len);
        let mut shift = 0isize;

        // Indentation: only spaces are indentation in YAML.
        let indent_end = chars
            .iter()
            .position(|&c| !(c == ' ' || c == '\t' || is_unicode_space(c)))
            .unwrap_or(chars.len());
        let mut tabs = 0;
        if !self.in_quotes() {
            let mut reported_space = false;
            for i in 0..indent_end {
                let c = chars[i];
                if c == '\t' && self.json {
                    // JSON whitespace: a space in the same column for the parser.
                    fix(&mut fixed, &chars, i, ' ');
                } else if c == '\t' {
                    if tabs == 0 {
                        diagnostics.push(
                            Diagnostic::error(Code::TabIndentation, "tab character in indentation")
                                .at(at(i, 1))
                                .label("tab")
                                .help(format!(
                                    "YAML allows only spaces for indentation; replace the tab \
                                     with spaces (this file indents by {unit})"
                                )),
                        );
                    }
                    tabs += 1;
                } else if c != ' ' && !reported_space {
                    reported_space = true;
                    diagnostics.push(non_ascii_space(c, at(i, 1), "in indentation"));
                    fix(&mut fixed, &chars, i, ' ');
                }
            }
        }

        let mut scalar_start = true;
        let mut typographic: Option<char> = None;
        let mut separator_seen = false;
        let mut token_start = indent_end;
        let mut plain_quotes: Vec<usize> = Vec::new();
        let mut i = indent_end;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let next_is_space = next.is_none_or(|n| n == ' ' || n == '\t' || is_unicode_space(n));
            if self.in_double {
                if c == '\\' {
                    if next == Some('\'')
                        && let Some((letter, _)) = self.apostrophe
                    {
                        fix(&mut fixed, &chars, i + 1, letter);
                        self.replaced_apostrophe = true;
                    }
                    i += 2;
                    continue;
                }
                self.in_double = c != '"';
                i += 1;
                continue;
            }
            if self.in_single {
                if c == '\'' {
                    if next == Some('\'') {
                        i += 2;
                        continue;
                    }
                    self.in_single = false;
                }
                i += 1;
                continue;
            }
            if let Some(open) = typographic {
                // Inside a value opened by a typographic quote: fix its closing quote too.
                let closes = if DOUBLE_QUOTES.contains(&open) {
                    DOUBLE_QUOTES.contains(&c)
                } else {
                    SINGLE_QUOTES.contains(&c)
                };
                if closes {
                    fix(&mut fixed, &chars, i, ascii_for(open));
                    typographic = None;
                }
                i += 1;
                continue;
            }
            if ZERO_WIDTH.contains(&c) {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvisibleCharacter,
                        format!("invisible {}", char_name(c)),
                    )
                    .at(at(i, 1))
                    .label("invisible in most editors")
                    .help("delete it: YAML treats it as part of the text next to it"),
                );
                fix(&mut fixed, &chars, i, ' ');
                i += 1;
                continue;
            }
            match c {
                '#' if i == 0 || chars[i - 1] == ' ' || chars[i - 1] == '\t' => break,
                '"' if scalar_start => {
                    self.in_double = true;
                    scalar_start = false;
                }
                '\'' if scalar_start => {
                    self.in_single = true;
                    scalar_start = false;
                }
                c if scalar_start && (DOUBLE_QUOTES.contains(&c) || SINGLE_QUOTES.contains(&c)) => {
                    let value: String = chars[i + 1..]
                        .iter()
                        .take_while(|&&x| {
                            !DOUBLE_QUOTES.contains(&x) && !SINGLE_QUOTES.contains(&x)
                        })
                        .collect();
                    let ascii = ascii_for(c);
                    diagnostics.push(
                        Diagnostic::error(
                            Code::TypographicQuote,
                            format!("typographic quote {} around `{value}`", char_name(c)),
                        )
                        .at(at(i, 1))
                        .label("not a YAML quote")
                        .help(format!(
                            "write {ascii}{value}{ascii} with ASCII quotes (or none): YAML keeps \
                             {c} as part of the value, so as written the value is `{}`",
                            chars[i..]
                                .iter()
                                .take(value.chars().count() + 2)
                                .collect::<String>()
                        )),
                    );
                    fix(&mut fixed, &chars, i, ascii);
                    typographic = Some(c);
                    scalar_start = false;
                }
                '-' if scalar_start && next_is_space => {}
                '–' | '—' | '－' if scalar_start && next_is_space && !separator_seen => {
                    let code = if c == '－' {
                        Code::FullwidthPunctuation
                    } else {
                        Code::TypographicDash
                    };
                    diagnostics.push(
                        Diagnostic::error(code, format!("{} used as a list marker", char_name(c)))
                            .at(at(i, 1))
                            .label("not a YAML list marker")
                            .help("replace it with an ASCII hyphen `-`"),
                    );
                    fix(&mut fixed, &chars, i, '-');
                }
                ':' if next_is_space
                    || (self.flow_depth > 0 && matches!(next, Some(',' | ']' | '}'))) =>
                {
                    separator_seen = self.flow_depth == 0;
                    scalar_start = true;
                }
                '：' if next_is_space
                    && (self.flow_depth > 0 || !separator_seen)
                    && i > token_start
                    && chars[token_start..i].iter().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
                    }) =>
                {
                    let key: String = chars[token_start..i].iter().collect();
                    diagnostics.push(
                        Diagnostic::error(
                            Code::FullwidthPunctuation,
                            format!("{} after `{key}`", char_name(c)),
                        )
                        .at(at(i, 1))
                        .label("not a YAML colon")
                        .help(format!(
                            "replace '：' with ':': YAML only knows the ASCII colon, so `{key}：` \
                             is read as text, not as the key `{key}`"
                        )),
                    );
                    fix(&mut fixed, &chars, i, ':');
                    separator_seen = self.flow_depth == 0;
                    scalar_start = true;
                }
                '[' | '{' if scalar_start => self.flow_depth += 1,
                ']' | '}' if self.flow_depth > 0 => self.flow_depth -= 1,
                ',' if self.flow_depth > 0 => scalar_start = true,
                '［' | '｛' | '］' | '｝' | '，'
                    if (scalar_start && matches!(c, '［' | '｛')) || self.flow_depth > 0 =>
                {
                    diagnostics.push(
                        Diagnostic::error(Code::FullwidthPunctuation, char_name(c))
                            .at(at(i, 1))
                            .label("not YAML punctuation")
                            .help(format!("replace it with `{}`", ascii_for(c))),
                    );
                    fix(&mut fixed, &chars, i, ascii_for(c));
                    match c {
                        '［' | '｛' => self.flow_depth += 1,
                        '］' | '｝' => self.flow_depth = self.flow_depth.saturating_sub(1),
                        _ => scalar_start = true,
                    }
                }
                '|' | '>' if scalar_start && is_block_indicator(&chars[i..]) => {
                    self.block_parent = Some(indent_end);
                    break;
                }
                '&' | '!' if scalar_start => {
                    // An anchor or a tag: the value starts after it.
                    while i < chars.len() && chars[i] != ' ' {
                        i += 1;
                    }
                    continue;
                }
                ' ' | '\t' => {}
                c if is_unicode_space(c) => {
                    if separator_seen && scalar_start || i > 0 && chars[i - 1] == ':' {
                        diagnostics.push(non_ascii_space(c, at(i, 1), "after a colon"));
                        fix(&mut fixed, &chars, i, ' ');
                    } else if !scalar_start && next == Some(':') {
                        diagnostics.push(non_ascii_space(c, at(i, 1), "before a colon"));
                        fix(&mut fixed, &chars, i, ' ');
                    }
                }
                c => {
                    if DOUBLE_QUOTES.contains(&c) {
                        plain_quotes.push(i);
                    }
                    if scalar_start {
                        token_start = i;
                    }
                    scalar_start = false;
                }
            }
            i += 1;
        }
        if let Some(&first) = plain_quotes.first() {
            diagnostics.push(
                Diagnostic::warning(
                    Code::TypographicQuote,
                    format!("typographic quote {} inside a value", char_name(chars[first])),
                )
                .at(at(first, 1))
                .label("kept literally")
                .help("if this was meant as quoting, use ASCII quotes; YAML and shells keep “ ” as text"),
            );
        }

        let mut text: Option<String> = fixed.map(|f| f.into_iter().collect());
        if tabs > 0 {
            // Expand leading tabs so that later checks can still see the structure.
            let current = text.unwrap_or_else(|| line.to_owned());
            let leading: String = current.chars().take(indent_end).collect();
            let expanded = leading.replace('\t', &" ".repeat(unit));
            shift -= (tabs * (unit - 1)) as isize;
            text = Some(expanded + &current.chars().skip(indent_end).collect::<String>());
        }
        self.buffer = chars;
        (text, shift)
    }
}

fn non_ascii_space(c: char, at: Position, place: &str) -> Diagnostic {
    Diagnostic::error(Code::NonAsciiSpace, format!("{} {place}", char_name(c)))
        .at(at)
        .label("looks like a space, is not one")
        .help("replace it with an ordinary space: YAML only treats ASCII spaces as separators")
}

/// `|`, `>`, `|-`, `>+2`, … optionally followed by a comment: a block scalar header.
fn is_block_indicator(rest: &[char]) -> bool {
    let text: String = rest.iter().collect();
    let text = match text.find(" #") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.trim_end().chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '+' | '-' | '1'..='9'))
}

/// A manifest pasted together with the shell commands around it (`cat << EOF > x.yaml`).
struct ShellWrapper {
    heredocs: Vec<Heredoc>,
    /// 0-based indices of shell lines outside here-documents.
    commands: Vec<usize>,
}

struct Heredoc {
    /// 0-based index of the `cat << EOF` line.
    open: usize,
    /// 0-based index of the terminator line.
    close: usize,
    word: String,
    target: Option<String>,
}

impl ShellWrapper {
    /// The here-documents and shell lines around a manifest, if `text` has any.
    ///
    /// A script in a YAML scalar may hold here-documents too (`- |` then `cat << 'EOF' > f`):
    /// a file that YAML reads whole is not wrapped, and lines inside scalars never open a
    /// here-document, so the check never makes a valid document invalid.
    fn detect(lines: &[&str], text: &str) -> Option<Self> {
        if !lines.iter().any(|l| heredoc_opener(l).is_some()) || yaml::parses(text) {
            return None;
        }
        let in_scalar = scalar_lines(lines);
        let mut heredocs = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if !in_scalar[i]
                && let Some((word, target)) = heredoc_opener(lines[i])
                && let Some(close) = (i + 1..lines.len()).find(|&j| lines[j].trim() == word)
            {
                heredocs.push(Heredoc {
                    open: i,
                    close,
                    word,
                    target,
                });
                i = close + 1;
                continue;
            }
            i += 1;
        }
        if heredocs.is_empty() {
            return None;
        }
        let inside = |j: usize| heredocs.iter().any(|h| (h.open..=h.close).contains(&j));
        let commands = (0..lines.len())
            .filter(|&j| !inside(j) && !lines[j].trim().is_empty())
            .collect();
        Some(Self { heredocs, commands })
    }

    /// What the repaired text has in place of line `index`, if it is a shell line.
    fn replacement(&self, index: usize) -> Option<&'static str> {
        if self.heredocs.iter().any(|h| h.open == index) {
            // Each here-document body becomes its own YAML document.
            Some("---")
        } else if self.heredocs.iter().any(|h| h.close == index) || self.commands.contains(&index) {
            Some("")
        } else {
            None
        }
    }

    fn diagnostics(&self, lines: &[&str]) -> Vec<Diagnostic> {
        let whole = |j: usize| {
            let line = lines[j].trim_end_matches('\r');
            let start = line.chars().take_while(|c| c.is_whitespace()).count();
            Position::new(j + 1, start + 1, line.trim().chars().count())
        };
        let mut out = Vec::new();
        for h in &self.heredocs {
            let save = match &h.target {
                Some(target) => format!("save them as `{target}` (what this command does)"),
                None => "save them as a .yaml file".to_owned(),
            };
            out.push(
                Diagnostic::error(
                    Code::ShellWrapper,
                    format!(
                        "shell here-document around the manifest: `{}`",
                        lines[h.open].trim()
                    ),
                )
                .at(whole(h.open))
                .label("shell, not YAML")
                .help(format!(
                    "the manifest is lines {}-{} (the here-document ends at `{}` on line {}); \
                     {save}, or run the snippet in a shell",
                    h.open + 2,
                    h.close,
                    h.word,
                    h.close + 1
                )),
            );
        }
        for &j in &self.commands {
            out.push(
                Diagnostic::error(
                    Code::ShellWrapper,
                    format!("shell command in the manifest: `{}`", lines[j].trim()),
                )
                .at(whole(j))
                .label("shell, not YAML")
                .help("run it in a shell; it is not part of the manifest"),
            );
        }
        out
    }
}

/// Which lines are inside a YAML scalar: a block scalar's content, or the continuation of a
/// quoted one.
fn scalar_lines(lines: &[&str]) -> Vec<bool> {
    let mut lexer = Lexer::default();
    let mut ignored = Vec::new();
    lines
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if lexer.in_block_scalar(line) {
                return true;
            }
            let quoted = lexer.in_quotes();
            lexer.scan_line(line, index + 1, 2, &mut ignored);
            quoted
        })
        .collect()
}

/// `cat << EOF > file.yaml`, `kubectl apply -f - <<'EOF'`, `tee x.yaml <<-END`: the word and
/// the target file, if the line opens a here-document. A command starts with a letter, so a
/// list item (`- cat << EOF`) is YAML, not shell.
fn heredoc_opener(line: &str) -> Option<(String, Option<String>)> {
    let line = line.trim();
    let first = line.split_whitespace().next()?;
    if !first.starts_with(|c: char| c.is_ascii_lowercase())
        || !first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return None;
    }
    let at = line.find("<<")?;
    let rest = line[at + 2..].trim_start_matches('-').trim_start();
    let rest = rest.trim_start_matches(['\'', '"']);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() {
        return None;
    }
    let after = rest[word.len()..].trim_start_matches(['\'', '"']).trim();
    let before = line[..at].trim();
    let target = [after, before]
        .iter()
        .find_map(|part| part.split_once('>').map(|(_, t)| t.trim().to_owned()))
        .filter(|t| !t.is_empty());
    if !after.is_empty() && !after.starts_with('>') {
        return None;
    }
    Some((word, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Diagnostic>, String) {
        let source = Source::new("t.yaml", text);
        let (d, r) = scan(&source);
        (d, r.text)
    }

    fn codes(d: &[Diagnostic]) -> Vec<(Code, usize, usize)> {
        d.iter()
            .map(|d| (d.code, d.at.unwrap().line, d.at.unwrap().column))
            .collect()
    }

    #[test]
    fn fullwidth_colon_after_key_is_an_error_and_repaired() {
        let (d, fixed) = run("a:\n  lifecycle：\n    x: 1\n");
        assert_eq!(codes(&d), vec![(Code::FullwidthPunctuation, 2, 12)]);
        assert!(d[0].message.contains("U+FF1A"), "{}", d[0].message);
        assert_eq!(fixed, "a:\n  lifecycle:\n    x: 1\n");
    }

    #[test]
    fn fullwidth_colon_inside_text_is_fine() {
        let (d, _) = run("description: 注意：重启\nb: \"x：y\"\nc: 时间： 10\n");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn typographic_quotes_at_value_start_are_errors() {
        let (d, fixed) = run("command:\n- “cp”\n- [‘a’, “b”]\n");
        assert_eq!(
            codes(&d),
            vec![
                (Code::TypographicQuote, 2, 3),
                (Code::TypographicQuote, 3, 4),
                (Code::TypographicQuote, 3, 9)
            ]
        );
        assert_eq!(fixed, "command:\n- \"cp\"\n- ['a', \"b\"]\n");
        assert!(d[0].help.as_deref().unwrap().contains("`“cp”`"));
    }

    #[test]
    fn typographic_quotes_inside_quotes_or_comments_are_fine() {
        let (d, _) = run("a: \"he said “hi”\" # “x”\nb: 'it’s'\n");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn quotes_inside_plain_text_are_a_warning() {
        let (d, _) = run("args: echo “hi”\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, super::super::diagnostic::Severity::Warning);
    }

    #[test]
    fn elision_lines_but_not_document_end() {
        let (d, fixed) = run("......\na: 1\n...\n……      \n");
        assert_eq!(
            codes(&d),
            vec![(Code::Elision, 1, 1), (Code::Elision, 4, 1)]
        );
        assert_eq!(fixed, "\na: 1\n...\n\n");
    }

    #[test]
    fn tabs_in_indentation_are_expanded_with_a_shift() {
        let (d, fixed) = run("a:\n  b: 1\n\tc: 2\n");
        assert_eq!(codes(&d), vec![(Code::TabIndentation, 3, 1)]);
        assert_eq!(fixed, "a:\n  b: 1\n  c: 2\n");
        let source = Source::new("t", "a:\n  b: 1\n\tc: 2\n");
        let (_, r) = scan(&source);
        assert_eq!(r.shifts.original_column(3, 3), 2);
    }

    #[test]
    fn block_scalars_are_left_alone() {
        let (d, _) = run("script: |\n  echo “hi”\n\tindented……\n  ......\nnext: “x”\n");
        assert_eq!(codes(&d), vec![(Code::TypographicQuote, 5, 7)]);
    }

    #[test]
    fn heredoc_wrapper_becomes_documents() {
        let text = "cat << EOF > a.yaml\nkind: A\nEOF\n\ncat << EOF > b.yaml\nkind: B\nEOF\n\nkubectl create -f a.yaml\n";
        let (d, fixed) = run(text);
        assert_eq!(
            codes(&d),
            vec![
                (Code::ShellWrapper, 1, 1),
                (Code::ShellWrapper, 5, 1),
                (Code::ShellWrapper, 9, 1)
            ]
        );
        assert_eq!(fixed, "---\nkind: A\n\n\n---\nkind: B\n\n\n\n");
        assert!(d[0].help.as_deref().unwrap().contains("`a.yaml`"));
    }

    #[test]
    fn heredoc_in_a_scalar_is_no_wrapper_even_in_a_broken_file() {
        // The tab makes the file fail to parse; the script's here-document is still YAML.
        let text = "args:\n- |\n  cat << 'EOF' > /x\n  a\n  EOF\nnext: 1\n\tbad: 2\n";
        let (d, fixed) = run(text);
        assert_eq!(codes(&d), vec![(Code::TabIndentation, 7, 1)]);
        assert!(fixed.contains("cat << 'EOF' > /x"));
    }

    #[test]
    fn json_may_indent_with_tabs() {
        let (d, fixed) = run("{\n\t\"a\": {\n\t\t\"b\": 1\n\t}\n}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(fixed, "{\n \"a\": {\n  \"b\": 1\n }\n}\n");
    }

    #[test]
    fn escaped_apostrophe_keeps_columns() {
        let source = Source::new("t", "a: \"it\\'s\"\nb: 'c\\'\n");
        let (d, r) = scan(&source);
        assert!(d.is_empty(), "{d:?}");
        // Only inside double quotes; single quotes keep backslashes as text.
        assert_eq!(r.text, "a: \"it\\0s\"\nb: 'c\\'\n");
        assert_eq!(r.apostrophe, Some('\0'));
        let (_, r) = scan(&Source::new("t", "a: \"\\0 and \\'\"\n"));
        assert_eq!(r.text, "a: \"\\0 and \\a\"\n");
    }

    #[test]
    fn heredoc_opener_forms() {
        assert_eq!(
            heredoc_opener("kubectl apply -f - <<'EOF'"),
            Some(("EOF".into(), None))
        );
        assert_eq!(
            heredoc_opener("cat <<-END > x.yaml"),
            Some(("END".into(), Some("x.yaml".into())))
        );
        assert_eq!(heredoc_opener("key: <<EOF"), None);
        assert_eq!(heredoc_opener("- cat << EOF > x"), None);
        assert_eq!(heredoc_opener("cat << EOF trailing"), None);
    }

    #[test]
    fn invisible_and_unicode_spaces() {
        let (d, fixed) = run("a:\u{00A0}1\n\u{3000}b: 2\nc\u{200B}: 3\n");
        assert_eq!(
            codes(&d),
            vec![
                (Code::NonAsciiSpace, 1, 3),
                (Code::NonAsciiSpace, 2, 1),
                (Code::InvisibleCharacter, 3, 2)
            ]
        );
        assert_eq!(fixed, "a: 1\n b: 2\nc : 3\n");
    }

    #[test]
    fn typographic_dash_as_list_marker() {
        let (d, fixed) = run("args:\n– a\n- b – c\n");
        assert_eq!(codes(&d), vec![(Code::TypographicDash, 2, 1)]);
        assert_eq!(fixed, "args:\n- a\n- b – c\n");
    }
}
