//! tcpSocket probes. (Being implemented.)

use std::time::Duration;

use super::ProbeOutcome;

/// One tcpSocket probe attempt.
pub async fn probe(_host: &str, _port: u16, _timeout: Duration) -> ProbeOutcome {
    ProbeOutcome::Error("tcpSocket probes are not implemented yet".into())
}
