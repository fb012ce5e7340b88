//! A Service's proxy, as kube-proxy's userspace mode did it: an address of the Service's own
//! (its "cluster IP", which the runtime provides: see [`ServiceAddress`]), one listener per
//! Service port, and each accepted connection carried to one ready endpoint, round robin.
//! With no ready endpoint, a connection is closed at once (a client sees the connection reset
//! or an empty reply).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::endpoints::Endpoint;
use crate::runtime::{ServiceAddress, netns};

/// Where the current endpoints of the Service come from.
pub type EndpointSource = Arc<dyn Fn() -> Vec<Endpoint> + Send + Sync>;

/// One listening Service port.
pub struct PortProxy {
    /// The Service port's name, if it has one.
    pub name: Option<String>,
    pub port: i32,
    /// Where clients connect.
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for PortProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on the Service's address at `port` (any free port when that one cannot be had,
/// e.g. below 1024 without the privilege) and carries each connection to the next ready
/// endpoint's target port for this Service port. With `affinity` (`sessionAffinity:
/// ClientIP`, its timeout in wall time), a client keeps going to the endpoint it went to last
/// while that endpoint is ready and the client has come back within the timeout. Call it
/// within a tokio runtime.
pub fn listen(
    service: &ServiceAddress,
    name: Option<String>,
    port: i32,
    endpoints: EndpointSource,
    affinity: Option<Duration>,
) -> std::io::Result<PortProxy> {
    let wanted = u16::try_from(port).unwrap_or(0);
    let netns = service.netns.as_deref();
    let listener = match netns::bind_tcp(netns, (service.ip, wanted).into()) {
        Ok(l) => l,
        Err(_) => netns::bind_tcp(netns, (service.ip, 0).into())?,
    };
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let address = listener.local_addr()?;
    let port_name = name.clone();
    let task = tokio::spawn(async move {
        let mut next = 0usize;
        // Client address → (the endpoint's pod, when the client last came).
        let mut sticky: HashMap<IpAddr, (String, Instant)> = HashMap::new();
        while let Ok((client, peer)) = listener.accept().await {
            let ready: Vec<(String, String, u16)> = endpoints()
                .into_iter()
                .filter(|e| e.ready)
                .filter_map(|e| {
                    let target = e
                        .ports
                        .iter()
                        .find(|p| p.port == port && p.name == port_name)?
                        .target;
                    Some((e.pod, e.ip, target))
                })
                .collect();
            if ready.is_empty() {
                // No ready endpoint: close at once.
                drop(client);
                continue;
            }
            let kept = affinity.and_then(|timeout| {
                let (pod, at) = sticky.get(&peer.ip())?;
                (at.elapsed() < timeout)
                    .then(|| ready.iter().position(|(p, ..)| p == pod))
                    .flatten()
            });
            let chosen = kept.unwrap_or_else(|| {
                next = next.wrapping_add(1);
                next % ready.len()
            });
            let (pod, ip, target) = ready[chosen].clone();
            if affinity.is_some() {
                sticky.insert(peer.ip(), (pod, Instant::now()));
            }
            tokio::spawn(carry(client, ip, target));
        }
    });
    Ok(PortProxy {
        name,
        port,
        address,
        task,
    })
}

/// Copies both ways between the client and the endpoint until either side closes.
async fn carry(mut client: TcpStream, ip: String, port: u16) {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return;
    };
    let Ok(mut upstream) = TcpStream::connect((ip, port)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::endpoints::EndpointPort;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers each connection with its name and closes.
    async fn greeter(name: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(name.as_bytes()).await;
            }
        });
        addr
    }

    fn endpoint(pod: &str, addr: SocketAddr, ready: bool) -> Endpoint {
        Endpoint {
            pod: pod.into(),
            ip: addr.ip().to_string(),
            ready,
            serving: ready,
            terminating: false,
            ports: vec![EndpointPort {
                name: None,
                port: 80,
                target: addr.port(),
            }],
        }
    }

    /// A proxy for port 80 on 127.0.0.1 over the endpoints in `current`.
    fn proxy_over(current: &Arc<Mutex<Vec<Endpoint>>>, affinity: Option<Duration>) -> PortProxy {
        let source = current.clone();
        let address = ServiceAddress {
            id: "test".into(),
            ip: IpAddr::from([127, 0, 0, 1]),
            netns: None,
        };
        let endpoints: EndpointSource = Arc::new(move || source.lock().unwrap().clone());
        listen(&address, None, 80, endpoints, affinity).unwrap()
    }

    async fn ask(addr: SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        out
    }

    #[tokio::test]
    async fn round_robin_over_ready_endpoints_and_closed_without_any() {
        let (a, b, c) = (greeter("a").await, greeter("b").await, greeter("c").await);
        let current = Arc::new(Mutex::new(vec![
            endpoint("a", a, true),
            endpoint("b", b, true),
            endpoint("c", c, false),
        ]));
        let proxy = proxy_over(&current, None);
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(ask(proxy.address).await);
        }
        seen.sort();
        assert_eq!(seen, ["a", "a", "b", "b"], "c is not ready");
        current
            .lock()
            .unwrap()
            .iter_mut()
            .for_each(|e| e.ready = false);
        assert_eq!(
            ask(proxy.address).await,
            "",
            "no ready endpoint: closed at once"
        );
    }

    #[tokio::test]
    async fn client_ip_affinity_keeps_a_client_on_its_endpoint_while_it_is_ready() {
        let (a, b) = (greeter("a").await, greeter("b").await);
        let current = Arc::new(Mutex::new(vec![
            endpoint("a", a, true),
            endpoint("b", b, true),
        ]));
        let proxy = proxy_over(&current, Some(Duration::from_secs(60)));
        let first = ask(proxy.address).await;
        for _ in 0..5 {
            assert_eq!(
                ask(proxy.address).await,
                first,
                "the same client, the same pod"
            );
        }
        // Its endpoint becomes unready: the client moves, and stays on the other one.
        current
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|e| e.pod == first)
            .for_each(|e| e.ready = false);
        let other = ask(proxy.address).await;
        assert_ne!(other, first);
        current
            .lock()
            .unwrap()
            .iter_mut()
            .for_each(|e| e.ready = true);
        assert_eq!(ask(proxy.address).await, other, "it stays where it went");
    }
}
