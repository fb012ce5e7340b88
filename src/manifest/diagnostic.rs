//! One diagnostic type for everything that can be wrong with a manifest.
//!
//! Every check (copy-paste hazards, YAML syntax, schema, Kubernetes API rules) reports through
//! [`Diagnostic`], so rendering (miette-style text or JSON) and exit codes live in one place.

use serde::Serialize;

/// How bad a finding is. Any [`Severity::Error`] makes a manifest invalid; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Not a problem: something the user should know (an object podlife does not run).
    Note,
}

/// A stable identifier per kind of finding, for `--output json` consumers and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The input could not be read.
    Io,
    /// The input exceeds a size, depth or alias budget.
    InputTooLarge,
    /// Full-width punctuation (`：`, `，`, …) where YAML needs ASCII.
    FullwidthPunctuation,
    /// Typographic quotes (`“cp”`) that YAML keeps as part of the value.
    TypographicQuote,
    /// A typographic dash (`–`) used as a list marker.
    TypographicDash,
    /// Tabs in indentation.
    TabIndentation,
    /// Non-breaking or ideographic spaces where YAML needs ASCII spaces.
    NonAsciiSpace,
    /// Zero-width characters that are invisible in an editor.
    InvisibleCharacter,
    /// `......` / `……` lines that stand for text left out of a documentation snippet.
    Elision,
    /// A shell here-document (`cat << EOF > x.yaml`) pasted around the manifest.
    ShellWrapper,
    /// A YAML syntax error.
    YamlSyntax,
    /// A key indented so that YAML reads it as part of the previous value.
    YamlIndentation,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A document that is not a mapping.
    NotAnObject,
    /// A document without `kind`.
    MissingKind,
    /// A document without `apiVersion`.
    MissingApiVersion,
    /// A kind podlife does not run, under `--strict-kinds`.
    UnsupportedKind,
    /// A kind the apiVersion's API group does not serve (`kind: Deploymnet`).
    UnknownKind,
    /// An object podlife reads but does not run (a note).
    NotRun,
    /// An apiVersion that does not serve the kind.
    UnknownApiVersion,
    /// A construct Kubernetes removed (an old apiVersion, the init-containers annotation).
    Deprecated,
    /// An input without any object.
    Empty,
    /// A field the Kubernetes schema does not have.
    UnknownField,
    /// A value of the wrong type (`"80"` where a number is needed, …).
    WrongType,
    /// A required field is missing.
    FieldRequired,
    /// A value Kubernetes' API validation rejects.
    FieldInvalid,
    /// A field that may not be set here.
    FieldForbidden,
    /// A value outside the supported set.
    FieldNotSupported,
    /// A value that must be unique appears twice.
    FieldDuplicate,
    /// A reference to something that does not exist (a volume, a port name).
    FieldNotFound,
    /// An explicit value that Kubernetes replaces by its default.
    FieldDefaulted,
    /// Valid for the API server, but the kubelet fails it at run time.
    RuntimeFailure,
}

impl Code {
    /// The kebab-case name used in JSON output and in rendered reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::InputTooLarge => "input-too-large",
            Code::FullwidthPunctuation => "fullwidth-punctuation",
            Code::TypographicQuote => "typographic-quote",
            Code::TypographicDash => "typographic-dash",
            Code::TabIndentation => "tab-indentation",
            Code::NonAsciiSpace => "non-ascii-space",
            Code::InvisibleCharacter => "invisible-character",
            Code::Elision => "elision",
            Code::ShellWrapper => "shell-wrapper",
            Code::YamlSyntax => "yaml-syntax",
            Code::YamlIndentation => "yaml-indentation",
            Code::DuplicateKey => "duplicate-key",
            Code::NotAnObject => "not-an-object",
            Code::MissingKind => "missing-kind",
            Code::MissingApiVersion => "missing-api-version",
            Code::UnsupportedKind => "unsupported-kind",
            Code::UnknownKind => "unknown-kind",
            Code::NotRun => "not-run",
            Code::UnknownApiVersion => "unknown-api-version",
            Code::Deprecated => "deprecated",
            Code::Empty => "empty",
            Code::UnknownField => "unknown-field",
            Code::WrongType => "wrong-type",
            Code::FieldRequired => "field-required",
            Code::FieldInvalid => "field-invalid",
            Code::FieldForbidden => "field-forbidden",
            Code::FieldNotSupported => "field-not-supported",
            Code::FieldDuplicate => "field-duplicate",
            Code::FieldNotFound => "field-not-found",
            Code::FieldDefaulted => "field-defaulted",
            Code::RuntimeFailure => "runtime-failure",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in the original source: 1-based line and character column, and a length in
/// characters (0 for a point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub len: usize,
}

impl Position {
    pub fn new(line: usize, column: usize, len: usize) -> Self {
        Self { line, column, len }
    }
}

/// A secondary place a diagnostic points at ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    #[serde(flatten)]
    pub at: Position,
    pub text: String,
}

/// One finding, located in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Where the problem is; `None` for whole-input problems (unreadable file).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub at: Option<Position>,
    /// Short text shown under the caret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The Kubernetes field path (`spec.containers[0].lifecycle`), when the problem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Other places involved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Label>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: Code, message: impl Into<String>) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            at: None,
            label: None,
            field: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn note(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, message)
    }

    pub fn at(mut self, at: Position) -> Self {
        self.at = Some(at);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds `help` when there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn related(mut self, at: Position, text: impl Into<String>) -> Self {
        self.related.push(Label {
            at,
            text: text.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
