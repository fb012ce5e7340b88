//! httpGet probes and hooks. (Being implemented.)

use std::time::Duration;

use super::{HttpTarget, ProbeOutcome};

/// One httpGet probe attempt.
pub async fn probe(_target: &HttpTarget, _timeout: Duration) -> ProbeOutcome {
    ProbeOutcome::Error("httpGet probes are not implemented yet".into())
}

/// What an httpGet lifecycle hook got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookResponse {
    pub status: u16,
    /// An HTTPS hook got a plain-HTTP answer and was retried with HTTP (`LifecycleHTTPFallback`).
    pub fell_back_to_http: bool,
}

/// One httpGet lifecycle hook call.
pub async fn hook(_target: &HttpTarget) -> Result<HookResponse, String> {
    Err("httpGet hooks are not implemented yet".into())
}
