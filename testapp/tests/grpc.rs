//! gRPC health (grpc.health.v1.Health) follows the app's health: toggles, file and schedule.

mod common;

use std::time::Duration;

use common::{PATIENCE, TestApp};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

async fn client(app: &TestApp) -> HealthClient<Channel> {
    let url = format!("http://127.0.0.1:{}", app.port("grpc"));
    let channel = Endpoint::from_shared(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .expect("connect to the gRPC port");
    HealthClient::new(channel)
}

fn ask(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

async fn check(client: &mut HealthClient<Channel>, service: &str) -> ServingStatus {
    let response = client.check(ask(service)).await.expect("Check");
    ServingStatus::try_from(response.into_inner().status).expect("known status")
}

fn status_of(message: Result<Option<HealthCheckResponse>, tonic::Status>) -> ServingStatus {
    let message = message.expect("Watch stream").expect("a message");
    ServingStatus::try_from(message.status).expect("known status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_follows_toggles_for_both_services() {
    let app = TestApp::spawn(&["--http", "0", "--grpc", "0", "--grpc-service", "svc-a"]);
    assert_eq!(app.start["grpc_service"], "svc-a");
    let mut client = client(&app).await;
    assert_eq!(check(&mut client, "").await, ServingStatus::Serving);
    assert_eq!(check(&mut client, "svc-a").await, ServingStatus::Serving);
    let unknown = client.check(ask("other")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    assert_eq!(app.get("/health/unhealthy").status, 200);
    assert_eq!(check(&mut client, "").await, ServingStatus::NotServing);
    assert_eq!(check(&mut client, "svc-a").await, ServingStatus::NotServing);

    assert_eq!(app.get("/health/healthy").status, 200);
    assert_eq!(check(&mut client, "").await, ServingStatus::Serving);
    assert_eq!(check(&mut client, "svc-a").await, ServingStatus::Serving);

    let logged = app.wait_event(PATIENCE, |e| {
        e["event"] == "grpc" && e["service"] == "svc-a" && e["status"] == "NOT_SERVING"
    });
    assert_eq!(logged["method"], "Check");
    assert!(logged["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    let logged = app.wait_event(PATIENCE, |e| {
        e["event"] == "grpc" && e["service"] == "other"
    });
    assert_eq!(logged["status"], "error: NotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_the_file_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let app = TestApp::spawn(&["--grpc", "0", "--health-file", ready.to_str().unwrap()]);
    let mut client = client(&app).await;
    let mut watch = client
        .watch(ask("testapp"))
        .await
        .expect("Watch")
        .into_inner();
    assert_eq!(status_of(watch.message().await), ServingStatus::NotServing);

    // Only the health monitor notices these; the stream must follow within its poll period.
    std::fs::write(&ready, "").unwrap();
    let next = tokio::time::timeout(Duration::from_secs(2), watch.message()).await;
    assert_eq!(status_of(next.expect("in time")), ServingStatus::Serving);
    std::fs::remove_file(&ready).unwrap();
    let next = tokio::time::timeout(Duration::from_secs(2), watch.message()).await;
    assert_eq!(status_of(next.expect("in time")), ServingStatus::NotServing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_the_schedule() {
    let app = TestApp::spawn(&[
        "--grpc",
        "0",
        "--healthy-after",
        "300ms",
        "--unhealthy-after",
        "900ms",
    ]);
    let mut client = client(&app).await;
    let mut watch = client.watch(ask("")).await.expect("Watch").into_inner();
    assert_eq!(status_of(watch.message().await), ServingStatus::NotServing);
    let next = tokio::time::timeout(Duration::from_secs(3), watch.message()).await;
    assert_eq!(status_of(next.expect("in time")), ServingStatus::Serving);
    let next = tokio::time::timeout(Duration::from_secs(3), watch.message()).await;
    assert_eq!(status_of(next.expect("in time")), ServingStatus::NotServing);
    let watched = app.wait_event(PATIENCE, |e| e["event"] == "grpc" && e["method"] == "Watch");
    assert_eq!(watched["status"], "streaming");
}
