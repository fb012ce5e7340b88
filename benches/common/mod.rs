//! Helpers shared by the benchmarks: manifests to pods, percentiles, event times.
#![allow(dead_code)]

use std::time::Duration;

use podlife::engine::{Observation, Record};
use podlife::manifest::expand::{NameRng, expand};
use podlife::manifest::{Source, analyze};

/// The pods of a (valid) manifest.
pub fn pods(yaml: &str) -> Vec<k8s_openapi::api::core::v1::Pod> {
    let report = analyze(Source::new("bench.yaml", yaml));
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    expand(&report.manifests, &mut NameRng::with_seed(9))
        .pods
        .into_iter()
        .map(|p| p.pod)
        .collect()
}

/// The `p` percentile (0..=1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// When (engine wall time) the pod's observations matching `f` were recorded.
pub fn times<'a>(
    records: &'a [Record],
    pod: &str,
    f: impl Fn(&Observation) -> bool + 'a,
) -> Vec<Duration> {
    records
        .iter()
        .filter(|r| r.pod == pod && r.observation().is_some_and(&f))
        .map(|r| r.wall)
        .collect()
}
