//! The loader never panics and never hangs, whatever it is fed: random bytes, mutated
//! fixtures, alias bombs, deep nesting, huge inputs.

use std::io::Read;
use std::time::{Duration, Instant};

use podlife::manifest::{Code, Source, analyze, load_reader};
use proptest::prelude::*;

/// Every file under `fixtures/`, as printed and corrected.
fn fixtures() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["fixtures", "fixtures/seed"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    texts
}

/// One edit of a text: characters YAML cares about, inserted, deleted or replaced.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, String),
    Delete(usize, usize),
    DuplicateLine(usize),
    Indent(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop::sample::select(vec![
        ":",
        "-",
        " ",
        "\t",
        "\n",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "'",
        "#",
        "&a",
        "*a",
        "!",
        "|",
        ">",
        "---\n",
        "...",
        "：",
        "“",
        "”",
        "……",
        "\u{a0}",
        "\u{200b}",
        "<<: *a",
        "? ",
        ",",
        "%YAML 1.2\n",
        "cat << EOF\n",
        "EOF\n",
        "kind: Pod\n",
        "apiVersion: v1\n",
        "9999999999999999999999",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        (any::<usize>(), snippet).prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), 1usize..20).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), 0usize..9).prop_map(|(at, n)| Mutation::Indent(at, n)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    let clamp = |at: usize| {
        if chars.is_empty() {
            0
        } else {
            at % (chars.len() + 1)
        }
    };
    match mutation {
        Mutation::Insert(at, s) => {
            let at = clamp(*at);
            chars[..at].iter().collect::<String>() + s + &chars[at..].iter().collect::<String>()
        }
        Mutation::Delete(at, n) => {
            let at = clamp(*at);
            let end = (at + n).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Mutation::DuplicateLine(at) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = at % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Mutation::Indent(at, n) => {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if !lines.is_empty() {
                let i = at % lines.len();
                lines[i] = " ".repeat(*n) + lines[i].trim_start();
            }
            lines.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let report = load_reader("random", bytes.as_slice());
        // Whatever it is, it is reported, not crashed on.
        let _ = report.is_valid();
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        let _ = analyze(Source::new("random", text));
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let texts = fixtures();
        let mut text = texts[which % texts.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let report = analyze(Source::new("mutated", text.clone()));
        // Every finding points inside the text it talks about.
        for d in &report.diagnostics {
            if let Some(at) = d.at {
                prop_assert!(at.line >= 1 && at.line <= report.source.line_count().max(1) + 1,
                    "{:?} outside\n{}", d, text);
            }
        }
    }
}

/// Runs `f` and asserts it takes less than `limit` (generous, for debug builds on 2 cores).
fn quickly<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    out
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let report = quickly(Duration::from_secs(5), || {
        analyze(Source::new("bomb.yaml", text))
    });
    assert_eq!(
        report.diagnostics[0].code,
        Code::InputTooLarge,
        "{:#?}",
        report.diagnostics
    );
    assert!(
        report.diagnostics[0]
            .message
            .contains("too large or too deep")
    );
}

#[test]
fn deep_nesting_is_refused_quickly() {
    for text in [
        format!("{}x{}", "[".repeat(100_000), "]".repeat(100_000)),
        (0..5000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect(),
    ] {
        let report = quickly(Duration::from_secs(5), || {
            analyze(Source::new("deep.yaml", text))
        });
        assert!(!report.is_valid());
        assert_eq!(
            report.diagnostics[0].code,
            Code::InputTooLarge,
            "{:#?}",
            report.diagnostics[0]
        );
    }
}

#[test]
fn hundred_megabyte_input_is_refused_without_reading_it_all() {
    let huge = std::io::repeat(b'a').take(100 * 1024 * 1024);
    let report = quickly(Duration::from_secs(5), || load_reader("huge.yaml", huge));
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(report.diagnostics[0].code, Code::InputTooLarge);
    assert_eq!(
        report.diagnostics[0].message,
        "huge.yaml is larger than 32 MiB"
    );
}

#[test]
fn long_lines_and_many_documents_are_fine() {
    let line = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {{a: \"{}\"}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n",
        "x".repeat(1_000_000)
    );
    let report = quickly(Duration::from_secs(10), || {
        analyze(Source::new("long.yaml", line))
    });
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let text = "\u{feff}apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: p}\r\nspec: {containers: [{name: c, image: busybox}]}\r\n";
    let report = load_reader("windows.yaml", text.as_bytes());
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    assert_eq!(report.manifests.len(), 1);
}
