//! What can go wrong when the engine is asked to do something.

/// Why the engine refused or could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("a {0} needs a name")]
    Unnamed(&'static str),
    #[error("pod {0} already exists")]
    PodExists(String),
    #[error("no pod {0}")]
    NoPod(String),
    #[error("not creating pod {0}: everything is being deleted")]
    Closing(String),
    #[error("no workload {0}")]
    NoWorkload(String),
    #[error("{0}'s controller has stopped")]
    ControllerStopped(String),
    #[error("service {0} already exists")]
    ServiceExists(String),
    #[error("cannot give service {service} an address: {why}")]
    ServiceAddress { service: String, why: String },
    #[error("cannot listen for service {service} port {port}: {why}")]
    ServicePort {
        service: String,
        port: i32,
        why: String,
    },
}
