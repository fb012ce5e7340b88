@conformance=deletion @timescale=10
Feature: Graceful deletion: stop signal, SIGKILL at the deadline, overrides, 0
  Deleting a pod sends the stop signal, waits the grace period (30s by default), then
  SIGKILLs what is still running. `--grace-period` overrides the pod's. 0 is a force
  deletion, and the node still gives the pod a short graceful period, as the seed article says:
  the kubelet floors it to 1 s and keeps its 2 s window between the stop signal and SIGKILL.

  The shell needs a moment after it starts to install its trap (as on a cluster): it says
  `armed` once the trap is set, and each deletion waits for that line in its log.

  Background:
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: stubborn
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'echo ignoring TERM' TERM; echo armed; while true; do sleep 0.1; done"]
      """

  Scenario: a process that ignores SIGTERM is SIGKILLed after the default 30s
    When it is applied
    Then the pod is Running within 60s
    When container "app" has logged "armed"
    And the pod is deleted
    Then the stop signal was SIGTERM
    And SIGKILL was sent 30s after the stop signal, give or take 1s
    And container "app" is terminated with exit code 137 within 35s

  Scenario: --grace-period 5 overrides the pod's grace period
    When it is applied
    Then the pod is Running within 60s
    When container "app" has logged "armed"
    And the pod is deleted with --grace-period=5
    Then SIGKILL was sent 5s after the stop signal, give or take 1s
    And the pod finished within 10s of its deletion

  @timescale=2
  Scenario: --grace-period 0 still gives the kubelet's short window before SIGKILL
    At 10x, Docker's few hundred milliseconds to report an exit would be seconds of manifest
    time against a bound of a few seconds: this one runs at 2x.
    When it is applied
    Then the pod is Running within 60s
    When container "app" has logged "armed"
    And the pod is deleted with --grace-period=0
    Then the stop signal was SIGTERM
    And SIGKILL was sent 2s after the stop signal, give or take 1s
    And the pod finished within 4s of its deletion
