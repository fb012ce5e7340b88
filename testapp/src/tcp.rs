//! The TCP greeter: logs each connection, writes `hello from <name>\n` and closes it. With
//! `--tcp-follows-health` it stops listening while unhealthy, so connections are refused.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::App;

/// Accepts connections until shutdown, then drops the listener.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let addr = listener.local_addr().ok();
    let port = addr.map_or(0, |a| a.port());
    let mut listener = Some(listener);
    let mut health = app.health.subscribe();
    loop {
        if app.tcp_follows_health {
            let healthy = app.health.current();
            if !healthy && listener.is_some() {
                listener = None;
                app.log.log("tcp-listener", &[("open", Value::from(false))]);
            } else if healthy && listener.is_none() {
                listener = match addr {
                    Some(addr) => TcpListener::bind(addr).await.ok(),
                    None => None,
                };
                app.log
                    .log("tcp-listener", &[("open", Value::from(listener.is_some()))]);
            }
        }
        let Some(open) = &listener else {
            tokio::select! {
                changed = health.changed() => if changed.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                },
                () = crate::stopping(&mut shutdown) => break,
            }
            continue;
        };
        tokio::select! {
            accepted = open.accept() => match accepted {
                Ok((mut stream, peer)) => {
                    app.log.log(
                        "tcp",
                        &[("peer", Value::from(peer.to_string())), ("port", Value::from(port))],
                    );
                    let greeting = format!("hello from {}\n", app.name);
                    tokio::spawn(async move {
                        let _ = stream.write_all(greeting.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            changed = health.changed(), if app.tcp_follows_health => if changed.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            },
            () = crate::stopping(&mut shutdown) => break,
        }
    }
}
