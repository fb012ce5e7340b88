//! The TCP greeter: logs each connection, writes `hello from <name>\n` and closes it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::App;

/// Accepts connections until shutdown, then drops the listener.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let port = listener.local_addr().map_or(0, |a| a.port());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
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
            () = crate::stopping(&mut shutdown) => break,
        }
    }
}
