@conformance=prestop
Feature: preStop hooks: exec, httpGet, sleep; grace accounting; failure
  The seed's first example: postStart deploys the code, preStop tells a monitor by HTTP
  before the container is stopped. The monitor is a real HTTP server that records every
  request it gets, reachable under the name the manifest uses.

  The shell needs a moment after it starts to install its trap (as on a cluster: a shell that
  is PID 1 ignores a SIGTERM that comes before it): it says `armed` once the trap is set, and
  the first deletion waits for that line in its log.

  Scenario: preStop notifies the monitor by HTTP before SIGTERM
    Given a monitor "monitor.com" on port 8080
    And the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: war
      spec:
        containers:
        - name: war
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; echo armed; while true; do sleep 0.1; done"]
          lifecycle:
            preStop:
              httpGet:
                host: monitor.com
                path: /waring
                port: 8080
      """
    When it is applied
    Then the pod is Running within 60s
    When container "war" has logged "armed"
    And the pod is deleted
    Then the pod finished within 10s of its deletion
    And the monitor "monitor.com" received GET "/waring" 1 time within 1s
    And the monitor "monitor.com" received GET "/waring" before the stop signal was sent
    And preStop ran before the stop signal
    And the stop signal was SIGTERM
    And there is no SIGKILL

  @timescale=10
  Scenario: a preStop longer than the grace period gets the one-time 2s extension
    The grace period (10s) runs out during preStop: the kubelet sends the stop signal then
    and gives the container a last 2 seconds before SIGKILL.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: slow-stop
      spec:
        terminationGracePeriodSeconds: 10
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "60"]
      """
    When it is applied
    Then the pod is Running within 60s
    When the pod is deleted
    Then the stop signal was sent 10s after the deletion, give or take 1s
    And SIGKILL was sent 2s after the stop signal, give or take 0.5s
    And container "app" is terminated with exit code 137 within 5s

  Scenario: an HTTPS preStop reaches a server with a self-signed certificate
    The kubelet does not verify the certificate of a hook's HTTPS target.
    Given a TLS monitor "audit.example" on port 8443
    And the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: audited
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; echo armed; while true; do sleep 0.1; done"]
          lifecycle:
            preStop:
              httpGet:
                scheme: HTTPS
                host: audit.example
                path: /draining?pod=audited
                port: 8443
      """
    When it is applied
    Then the pod is Running within 60s
    When container "app" has logged "armed"
    And the pod is deleted
    Then the monitor "audit.example" received GET "/draining?pod=audited" 1 time within 5s
    And the monitor "audit.example" received GET "/draining" before the stop signal was sent
    And there is no event "FailedPreStopHook"
