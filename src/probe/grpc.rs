//! gRPC health probes. (Being implemented.)

use std::time::Duration;

use super::ProbeOutcome;

/// One grpc probe attempt against `host:port` (`service` "" when unset).
pub async fn probe(_host: &str, _port: u16, _service: &str, _timeout: Duration) -> ProbeOutcome {
    ProbeOutcome::Error("grpc probes are not implemented yet".into())
}
