//! Validating a 10,000-document stream (the corrected seed fixtures, renamed, over and over).
//! Target: under 1 s on the project machine (2 cores). Run with
//! `cargo bench --bench validate_stream`.

use std::time::{Duration, Instant};

use podlife::manifest::expand::expand;
use podlife::manifest::{Source, analyze};

const DOCUMENTS: usize = 10_000;

fn stream() -> String {
    let mut docs = Vec::new();
    for entry in std::fs::read_dir("fixtures").expect("run from the repository root") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            docs.extend(text.split("\n---\n").map(str::to_owned));
        }
    }
    docs.sort();
    let mut out = String::new();
    for i in 0..DOCUMENTS {
        let doc = &docs[i % docs.len()];
        // Unique names, as a real stream would have.
        out.push_str(&doc.replacen("  name: ", &format!("  name: n{i}-"), 1));
        out.push_str("\n---\n");
    }
    out
}

fn main() {
    let text = stream();
    let mut times = Vec::new();
    let mut pods = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let report = analyze(Source::new("stream.yaml", text.clone()));
        let plan = expand(&report.manifests, &mut fastrand::Rng::with_seed(1));
        times.push(start.elapsed());
        assert_eq!(report.manifests.len(), DOCUMENTS);
        assert!(report.is_valid(), "{:?}", report.diagnostics.first());
        pods = plan.pods.len();
    }
    times.sort();
    let median = times[times.len() / 2];
    let per_doc = median / DOCUMENTS as u32;
    println!(
        "validate+expand {DOCUMENTS} documents ({} KiB, {pods} pods): median {:.3} s, best {:.3} s, {:.1} µs/document",
        text.len() / 1024,
        median.as_secs_f64(),
        times[0].as_secs_f64(),
        per_doc.as_secs_f64() * 1e6,
    );
    let target = Duration::from_secs(1);
    println!(
        "target < {:.1} s: {}",
        target.as_secs_f64(),
        if median < target { "met" } else { "MISSED" }
    );
}
