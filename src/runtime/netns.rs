//! Listening sockets in another network namespace.
//!
//! A socket belongs to the network namespace of the thread that created it, for as long as it
//! lives. Binding a listener from a short-lived thread that has entered a container's namespace
//! gives this process a listener inside the container's network (its address, its ports),
//! while everything else of the process, connections to pods included, stays in its own
//! namespace. The Docker runtime gives Services their addresses this way.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

/// Binds a TCP listener on `address`, inside the network namespace at `netns` (a
/// `/proc/<pid>/ns/net` path), or in this process's own when `None`.
pub fn bind_tcp(netns: Option<&Path>, address: SocketAddr) -> io::Result<TcpListener> {
    let Some(netns) = netns else {
        return TcpListener::bind(address);
    };
    let namespace = std::fs::File::open(netns)?;
    // A thread of its own: setns changes the calling thread only, and this one ends here.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(io::Error::from)?;
                TcpListener::bind(address)
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the binding thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_in_this_namespace_without_one() {
        let listener = bind_tcp(None, "127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(listener.local_addr().unwrap().port() > 0);
    }

    #[test]
    fn a_missing_namespace_is_an_error() {
        let e = bind_tcp(
            Some(Path::new("/proc/0/ns/net")),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
