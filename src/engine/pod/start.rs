//! Starting a container the kubelet's way (`startContainer`): the crash-loop back-off, then
//! create → start → postStart, and the probe workers of the new instance.

use std::time::Duration;

use k8s_openapi::api::core::v1::Container;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::engine::events::{EventType, HookKind, Observation};
use crate::engine::handlers::Target;
use crate::engine::prober::{Gates, ProbeWorker, Report};
use crate::engine::spec::{Handler, ProbeKind, RestartPolicy, Role};
use crate::engine::status::State;
use crate::engine::{handlers, service_env, spec, status};
use crate::runtime::{ContainerId, ContainerSpec, MountSpec};

use super::{Live, Msg, PodWorker, Restart, TIME_SCALE_VARIABLE, stop_signal_of};

impl PodWorker {
    /// Starts container `index` now, or after its crash-loop back-off.
    pub(super) async fn start_or_back_off(&mut self, index: usize) {
        let scale = self.log.scale();
        let pod_ref = self.pod_ref();
        let slot = &mut self.slots[index];
        if slot.restart == Restart::BackingOff {
            return;
        }
        if slot.instances > 0 && slot.restart != Restart::Due {
            let ran = match &slot.view.state {
                State::Terminated(t) => t
                    .finished_at
                    .duration_since(t.started_at)
                    .try_into()
                    .unwrap_or_default(),
                _ => Duration::ZERO,
            };
            let delay = slot.backoff.next(scale.manifest(ran));
            if !delay.is_zero() {
                slot.restart = Restart::BackingOff;
                let name = slot.container.name.clone();
                let seconds = delay.as_secs();
                // An exited container waits in CrashLoopBackOff; one that could not start
                // keeps its reason (RunContainerError, …).
                if let State::Terminated(t) = &slot.view.state {
                    slot.view.last_terminated = Some(t.clone());
                    slot.view.state = State::Waiting {
                        reason: "CrashLoopBackOff".into(),
                        message: Some(format!(
                            "back-off {seconds}s restarting failed container={name} pod={pod_ref}"
                        )),
                    };
                }
                self.event(
                    Some(&name),
                    EventType::Warning,
                    "BackOff",
                    format!("Back-off restarting failed container {name} in pod {pod_ref}"),
                );
                let tx = self.tx.clone();
                let wait = scale.wall(delay);
                self.tasks.spawn(async move {
                    tokio::time::sleep(wait).await;
                    let _ = tx.send(Msg::Restart { slot: index });
                });
                self.publish();
                return;
            }
        }
        slot.restart = Restart::Idle;
        self.start(index).await;
    }

    /// create → start → postStart, as the kubelet's startContainer does.
    pub(super) async fn start(&mut self, index: usize) {
        let Some(sandbox) = self.sandbox.clone() else {
            return;
        };
        let slot = &mut self.slots[index];
        let container = slot.container.clone();
        let name = container.name.clone();
        let attempt = slot.instances;
        slot.instances += 1;
        slot.view.restart_count = attempt;
        if let State::Terminated(t) = &slot.view.state {
            slot.view.last_terminated = Some(t.clone());
        }
        // PODLIFE_TIME_SCALE (wall seconds per manifest second) lets a container's own sleeps
        // follow the time scale, which only reaches what the engine times.
        let provided: Vec<(String, String)> = service_env::api_server()
            .into_iter()
            .chain(self.service_env.iter().cloned())
            .chain([(
                TIME_SCALE_VARIABLE.to_owned(),
                self.log.scale().factor().to_string(),
            )])
            .collect();
        let own = self.inputs.read().expect("engine state").env(
            &self.pod,
            &container,
            Some(sandbox.ip),
            &provided,
        );
        let own = match own {
            Ok(own) => own,
            Err(message) => {
                return self.start_failed(index, "CreateContainerConfigError", message);
            }
        };
        let env = service_env::merge(&provided, &own);
        let expand = |list: &Option<Vec<String>>| -> Vec<String> {
            list.iter()
                .flatten()
                .map(|s| spec::expand_env(s, &env))
                .collect()
        };
        let container_spec = ContainerSpec {
            name: name.clone(),
            image: container.image.clone().unwrap_or_default(),
            command: expand(&container.command),
            args: expand(&container.args),
            env: env.clone(),
            working_dir: container.working_dir.clone(),
            mounts: container
                .volume_mounts
                .iter()
                .flatten()
                .map(|m| MountSpec {
                    volume: m.name.clone(),
                    path: m.mount_path.clone(),
                    read_only: m.read_only.unwrap_or(false),
                })
                .collect(),
            attempt,
            termination_message_path: Some(
                container
                    .termination_message_path
                    .clone()
                    .unwrap_or_else(|| "/dev/termination-log".into()),
            ),
        };
        if let Err(message) = self.ensure_image(&name, &container_spec.image).await {
            return self.start_failed(index, "ErrImagePull", message);
        }
        let id = match self
            .runtime
            .create_container(&sandbox, &container_spec)
            .await
        {
            Ok(id) => id,
            Err(e) => return self.start_failed(index, "CreateContainerError", e.to_string()),
        };
        self.event(
            Some(&name),
            EventType::Normal,
            "Created",
            "Container created".into(),
        );
        if let Err(e) = self.runtime.start_container(&id).await {
            self.dead.push(id);
            return self.start_failed(index, "RunContainerError", e.to_string());
        }
        let stop_signal = stop_signal_of(&container, &self.runtime).await;
        self.slots[index].view.stop_signal = Some(stop_signal.as_str().to_owned());
        let started = Instant::now();
        let started_at = status::now();
        self.event(
            Some(&name),
            EventType::Normal,
            "Started",
            "Container started".into(),
        );
        self.observe(
            Some(&name),
            Observation::ContainerStarted {
                restart_count: attempt,
            },
        );
        let has_startup = self.slots[index]
            .probes
            .iter()
            .any(|p| p.kind == ProbeKind::Startup);
        let gates = watch::channel(Gates {
            started: !has_startup,
            terminating: false,
            exited: false,
        })
        .0;
        self.slots[index].live = Some(Live {
            id: id.clone(),
            attempt,
            started_at,
            exited_at: None,
            gates,
            killing: false,
            cut: watch::channel(None).0,
            stop_signal,
        });
        if self.slots[index].role == Role::App {
            self.app_ever_started = true;
        }
        self.watch_exit(index, attempt, &id);
        let target = self.target(&container, &id, sandbox.ip);
        if let Some(handler) = container
            .lifecycle
            .as_ref()
            .and_then(|l| l.post_start.as_ref())
            .and_then(Handler::of_hook)
        {
            self.observe(
                Some(&name),
                Observation::HookStarted {
                    hook: HookKind::PostStart,
                },
            );
            let mut stopping = self.stopping.subscribe();
            let outcome = tokio::select! {
                outcome = handlers::hook(&target, &handler) => Some(outcome),
                _ = stopping.wait_for(|s| *s) => None,
            };
            match outcome {
                Some(Ok(note)) => {
                    self.observe(
                        Some(&name),
                        Observation::HookFinished {
                            hook: HookKind::PostStart,
                            error: None,
                        },
                    );
                    if let Some(fallback) = note.http_fallback {
                        self.event(
                            Some(&name),
                            EventType::Warning,
                            "LifecycleHTTPFallback",
                            fallback,
                        );
                    }
                }
                Some(Err(message)) => {
                    self.observe(
                        Some(&name),
                        Observation::HookFinished {
                            hook: HookKind::PostStart,
                            error: Some(message.clone()),
                        },
                    );
                    self.event(
                        Some(&name),
                        EventType::Warning,
                        "FailedPostStartHook",
                        "PostStartHook failed".into(),
                    );
                    self.slots[index].view.state = State::Waiting {
                        reason: "PostStartHookError".into(),
                        message: Some(message),
                    };
                    if self.policy != RestartPolicy::Never {
                        self.slots[index].restart = Restart::Forced;
                    }
                    let grace = spec::grace_seconds(&self.spec);
                    self.kill(index, "FailedPostStartHook".into(), grace);
                    self.publish();
                    return;
                }
                None => {
                    self.observe(
                        Some(&name),
                        Observation::HookFinished {
                            hook: HookKind::PostStart,
                            error: Some("interrupted: the pod is being deleted".into()),
                        },
                    );
                }
            }
        }
        let slot = &mut self.slots[index];
        if slot.live.as_ref().is_none_or(|l| l.attempt != attempt) {
            // It exited during postStart; the exit is already recorded.
            return;
        }
        slot.view.state = State::Running {
            started_at,
            container_id: format!("{}://{id}", self.runtime.name()),
        };
        slot.view.started = !has_startup;
        let has_readiness = slot.probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        // A regular init container is "ready" only once it has exited 0.
        if slot.view.started && !has_readiness && slot.role != Role::Init {
            self.set_ready(index, true);
        }
        self.start_probes(index, started, &target, false);
        self.publish();
    }

    /// Tells the worker when instance `attempt` of container `index` exits.
    pub(super) fn watch_exit(&mut self, index: usize, attempt: i32, id: &ContainerId) {
        let runtime = self.runtime.clone();
        let tx = self.tx.clone();
        let id = id.clone();
        self.tasks.spawn(async move {
            if let Ok(exit) = runtime.wait_container(&id).await {
                let _ = tx.send(Msg::Exited {
                    slot: index,
                    attempt,
                    exit,
                });
            }
        });
    }

    /// The probe workers of container `index`'s live instance, which started at `started`
    /// (`adopted`: after a kubelet restart).
    pub(super) fn start_probes(
        &mut self,
        index: usize,
        started: Instant,
        target: &Target,
        adopted: bool,
    ) {
        let slot = &self.slots[index];
        let Some(live) = slot.live.as_ref() else {
            return;
        };
        let attempt = live.attempt;
        let workers: Vec<ProbeWorker> = slot
            .probes
            .iter()
            .map(|probe| {
                let tx = self.tx.clone();
                ProbeWorker {
                    spec: probe.clone(),
                    started,
                    target: target.clone(),
                    report: Box::new(move |report: Report| {
                        let _ = tx.send(Msg::Probe {
                            slot: index,
                            attempt,
                            kind: report.kind,
                            success: report.success,
                        });
                    }),
                    log: self.log.clone(),
                    pod: self.name.clone(),
                    gates: live.gates.subscribe(),
                    kubelet_started: self.kubelet_started,
                    adopted,
                }
            })
            .collect();
        for worker in workers {
            self.tasks.spawn(worker.run());
        }
    }

    /// What hooks and probes of `container` (instance `id`) run against.
    pub(super) fn target(
        &self,
        container: &Container,
        id: &ContainerId,
        pod_ip: std::net::IpAddr,
    ) -> Target {
        Target {
            runtime: self.runtime.clone(),
            id: id.clone(),
            pod_ip,
            ports: container.ports.clone().unwrap_or_default(),
            scale: self.log.scale(),
            pod_ref: self.pod_ref(),
            container: container.name.clone(),
            hosts: self.hosts.clone(),
        }
    }

    /// A container could not be created or started: it waits with the reason (the pod stays
    /// Pending if it never ran) and is retried with back-off.
    pub(super) fn start_failed(&mut self, index: usize, reason: &str, message: String) {
        let name = self.slots[index].container.name.clone();
        self.event(
            Some(&name),
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
        );
        let slot = &mut self.slots[index];
        slot.view.state = State::Waiting {
            reason: reason.to_owned(),
            message: Some(message),
        };
        slot.restart = Restart::Forced;
        self.publish();
        // Come back to it: the next sync applies the back-off.
        let _ = self.tx.send(Msg::Resync);
    }
}
