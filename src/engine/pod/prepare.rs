//! What a pod needs before its containers can run: its volumes' sources, and each
//! container's image.

use tokio::time::Instant;

use crate::engine::events::EventType;
use crate::runtime::{Fetched, VolumeSpec};

use super::{MOUNT_RETRY_SECONDS, Msg, PodWorker};

impl PodWorker {
    /// The pod's volumes, once every source they need exists: the kubelet's volume manager
    /// retries a missing ConfigMap or Secret (a `FailedMount` warning each time) and the pod
    /// waits in ContainerCreating. `None` when the pod is deleted meanwhile.
    pub(super) async fn volumes(&mut self) -> Option<Vec<VolumeSpec>> {
        loop {
            let resolved = self.inputs.read().expect("engine state").volumes(&self.pod);
            match resolved {
                Ok(volumes) => return Some(volumes),
                Err(message) => {
                    self.event(None, EventType::Warning, "FailedMount", message);
                    self.publish();
                    let retry = tokio::time::sleep(self.log.scale().seconds(MOUNT_RETRY_SECONDS));
                    tokio::select! {
                        () = retry => {}
                        msg = self.rx.recv() => match msg {
                            Some(Msg::Delete { .. } | Msg::KillNow | Msg::Deadline) | None => {
                                self.deleted = true;
                                return None;
                            }
                            Some(_) => {}
                        },
                    }
                }
            }
        }
    }

    /// Makes sure the container's image is there, in the kubelet's words (`EnsureImageExists`):
    /// `Pulled … already present`, or `Pulling` then `Pulled … in <wall time>` when the runtime
    /// has to build or pull it (an image build does not follow the time scale).
    pub(super) async fn ensure_image(&self, container: &str, image: &str) -> Result<(), String> {
        let began = Instant::now();
        let pulling = || {
            self.event(
                Some(container),
                EventType::Normal,
                "Pulling",
                format!("Pulling image {image:?}"),
            )
        };
        match self.runtime.pull_image(image, &pulling).await {
            Ok(Fetched::Present) => {
                self.event(
                    Some(container),
                    EventType::Normal,
                    "Pulled",
                    format!("Container image {image:?} already present on machine"),
                );
                Ok(())
            }
            Ok(Fetched::Fetched) => {
                let took = format!("{:.3}s", began.elapsed().as_secs_f64());
                self.event(
                    Some(container),
                    EventType::Normal,
                    "Pulled",
                    format!(
                        "Successfully pulled image {image:?} in {took} ({took} including waiting)"
                    ),
                );
                Ok(())
            }
            Err(e) => {
                let message = format!("Failed to pull image {image:?}: {e}");
                self.event(
                    Some(container),
                    EventType::Warning,
                    "Failed",
                    message.clone(),
                );
                Err(message)
            }
        }
    }
}
