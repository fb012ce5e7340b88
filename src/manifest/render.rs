//! Diagnostics for people (miette's rustc-style report: the source line, a caret under the
//! spot, the help) and for machines (JSON).

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, NamedSource, SourceCode,
    SourceSpan, SpanContents,
};

use super::diagnostic::{Diagnostic, Position, Severity};
use super::source::Source;

/// How to draw text reports.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub color: bool,
    pub unicode: bool,
    pub width: usize,
}

impl Default for TextStyle {
    fn default() -> Self {
        Self {
            color: false,
            unicode: true,
            width: 100,
        }
    }
}

/// Renders one diagnostic of `source` as a miette report.
pub fn render(source: &Arc<Source>, diagnostic: &Diagnostic, style: TextStyle) -> String {
    let mut theme = match (style.unicode, style.color) {
        (true, true) => GraphicalTheme::unicode(),
        (true, false) => GraphicalTheme::unicode_nocolor(),
        (false, true) => GraphicalTheme::ascii(),
        (false, false) => GraphicalTheme::none(),
    };
    // Spell the severity out: a glyph alone does not tell errors from warnings without colour.
    theme.characters.error = "error:".into();
    theme.characters.warning = "warning:".into();
    theme.characters.advice = "note:".into();
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let report = Report {
        diagnostic,
        source: NamedSource::new(source.name(), SharedSource(source.clone())).with_language("yaml"),
        text: source.clone(),
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", source.name(), diagnostic.message);
    }
    out
}

/// The source text, shared between the reports of one file.
#[derive(Debug)]
struct SharedSource(Arc<Source>);

impl SourceCode for SharedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        self.0
            .text()
            .read_span(span, context_lines_before, context_lines_after)
    }
}

struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<SharedSource>,
    text: Arc<Source>,
}

impl Report<'_> {
    fn span(&self, at: &Position) -> SourceSpan {
        let offset = self.text.offset(at.line, at.column);
        let len = self.text.byte_len(at.line, at.column, at.len);
        SourceSpan::new(offset.into(), len)
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("diagnostic", self.diagnostic)
            .finish()
    }
}

/// Lines longer than this are not drawn (a minified or generated manifest); the report names
/// the position instead.
const MAX_DRAWN_LINE: usize = 400;

impl Report<'_> {
    /// Whether the source lines can be drawn.
    fn drawable(&self) -> bool {
        let long = |at: &Position| self.text.line(at.line).len() > MAX_DRAWN_LINE;
        self.diagnostic.at.is_some_and(|at| !long(&at))
            && !self.diagnostic.related.iter().any(|l| long(&l.at))
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)?;
        match self.diagnostic.at {
            Some(at) if !self.drawable() => {
                write!(f, " (at {}:{}:{})", self.text.name(), at.line, at.column)
            }
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.drawable().then_some(&self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let at = self.diagnostic.at.filter(|_| self.drawable())?;
        let primary =
            LabeledSpan::new_primary_with_span(self.diagnostic.label.clone(), self.span(&at));
        let related = self
            .diagnostic
            .related
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.text.clone()), self.span(&l.at)));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}
