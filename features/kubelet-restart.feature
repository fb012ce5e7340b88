@conformance=kubelet-restart @timescale=10
Feature: Kubelet restarts
  When a node's kubelet restarts, the runtime's containers keep running and the new kubelet
  takes its pods over (upstream: test/e2e_node/restart_test.go, container_lifecycle_test.go,
  container_scoped_probes_test.go). A running container is not started again and its
  postStart hook does not run again; init containers that completed are not run again; the
  restart count comes from the runtime; `started` and `ready` are kept until a probe decides
  (KEP-4781, Kubernetes 1.35+); probes start afresh and crash-loop back-off starts over.
  `the kubelet restarts` is podlife's engine restarting its kubelet part; controllers,
  Services and the pods' last status (the API server's part) stay.

  Scenario: running containers survive a kubelet restart; nothing is run again
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: survivor
      spec:
        initContainers:
        - name: setup
          image: busybox
          command: ["sh", "-c", "echo set up"]
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          lifecycle:
            postStart:
              exec:
                command: ["sh", "-c", "echo started >> /tmp/poststart"]
          startupProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 1
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 5
      """
    When it is applied
    Then the pod is Ready within 30s
    When the kubelet restarts
    Then the pod stays Ready for at least 10s
    And container "app" stays started for at least 1s
    And container "app" was started 1 time
    And container "setup" was started 1 time
    And the postStart hook of container "app" ran 1 time
    And the restart count of container "app" stays 0 for at least 1s
    And the pod's condition "Initialized" is True within 1s

  Scenario: probes run again after a kubelet restart
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: probed
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          livenessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 2
            failureThreshold: 2
      """
    When it is applied
    Then the pod is Running within 30s
    When the kubelet restarts
    And the health endpoint of container "app" starts failing
    Then there is an event "Killing" with message "Container app failed liveness probe, will be restarted" within 10s
    And container "app" has restarted 1 time within 10s

  Scenario: a container that exits while the kubelet is down is restarted when it is back
    Nothing watches the container while the kubelet is down; once it is back, the exit is
    seen and the container restarted at once: the crash-loop back-off it had lived in the
    lost kubelet's memory.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: orphan
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sleep", "3600"]
      """
    When it is applied
    Then container "app" is running within 30s
    When the kubelet stops
    And the process of container "app" is killed
    And 5s pass
    Then container "app" has restarted at most 0 times
    When the kubelet starts again
    Then container "app" is terminated with exit code 137 within 5s
    And container "app" has restarted 1 time within 5s

  Scenario: a deletion made while the kubelet is down is carried out when it is back
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: doomed
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done"]
      """
    When it is applied
    Then container "app" is running within 30s
    When container "app" has logged "ready"
    And the kubelet stops
    And the pod is deleted
    And 5s pass
    Then container "app" stays running for at least 1s
    When the kubelet starts again
    Then container "app" is terminated with exit code 0 within 10s
    And the stop signal was SIGTERM
    And there is no SIGKILL
