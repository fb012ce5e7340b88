//! gRPC health (`grpc.health.v1.Health`): the overall service "" and `--grpc-service` report
//! SERVING while healthy and NOT_SERVING otherwise. tonic-health's reporter holds the statuses; it
//! is brought up to date on every health change (the health monitor evaluates every 50 ms and at
//! schedule edges) and before every call, and every call is logged as a `grpc` event.

use std::sync::Arc;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;
use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService, WatchStream};

use crate::App;

/// Keeps the reporter's statuses equal to the app's health.
struct StatusSync {
    app: Arc<App>,
    service: String,
    reporter: HealthReporter,
    /// Serialises updates, so that the last one written is the latest health.
    lock: Mutex<()>,
}

impl StatusSync {
    async fn update(&self) {
        let _guard = self.lock.lock().await;
        let status = if self.app.health.current() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status("", status).await;
        self.reporter
            .set_service_status(&self.service, status)
            .await;
    }
}

struct LoggedHealth {
    inner: HealthService,
    sync: Arc<StatusSync>,
}

impl LoggedHealth {
    fn log(&self, method: &str, service: &str, status: &str, peer: Value) {
        self.sync.app.log.log(
            "grpc",
            &[
                ("method", Value::from(method)),
                ("service", Value::from(service)),
                ("status", Value::from(status)),
                ("peer", peer),
            ],
        );
    }
}

fn peer<T>(request: &Request<T>) -> Value {
    request
        .remote_addr()
        .map_or(Value::Null, |a| Value::from(a.to_string()))
}

fn error_name(status: &Status) -> String {
    format!("error: {:?}", status.code())
}

#[tonic::async_trait]
impl Health for LoggedHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.sync.update().await;
        let service = request.get_ref().service.clone();
        let peer = peer(&request);
        let result = self.inner.check(request).await;
        let status = match &result {
            Ok(response) => WireStatus::try_from(response.get_ref().status)
                .map_or("UNKNOWN", |s| s.as_str_name())
                .to_owned(),
            Err(e) => error_name(e),
        };
        self.log("Check", &service, &status, peer);
        result
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        self.sync.update().await;
        let service = request.get_ref().service.clone();
        let peer = peer(&request);
        let result = self.inner.watch(request).await;
        let status = match &result {
            Ok(_) => "streaming".to_owned(),
            Err(e) => error_name(e),
        };
        self.log("Watch", &service, &status, peer);
        result
    }
}

/// Serves until shutdown, then stops accepting (open connections are served on).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    service: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let reporter = HealthReporter::new();
    let sync = Arc::new(StatusSync {
        app: app.clone(),
        service,
        reporter: reporter.clone(),
        lock: Mutex::new(()),
    });
    sync.update().await;

    let mut changes = app.health.subscribe();
    let follower = sync.clone();
    tokio::spawn(async move {
        loop {
            changes.borrow_and_update();
            follower.update().await;
            if changes.changed().await.is_err() {
                break;
            }
        }
    });

    let server = HealthServer::new(LoggedHealth {
        inner: HealthService::from_health_reporter(reporter),
        sync,
    });
    let stopped = async move { crate::stopping(&mut shutdown).await };
    let served = tonic::transport::Server::builder()
        .serve_with_incoming_shutdown(server, TcpIncoming::from(listener), stopped)
        .await;
    if let Err(e) = served {
        eprintln!("testapp: gRPC server failed: {e}");
    }
}
