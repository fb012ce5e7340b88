Feature: Container status: state, restarts, termination message, conditions, status reason
  What `kubectl get pod -o yaml` shows of a pod and its containers, checked as it changes.
  State steps (`running`, `ready`, `started`) are judged on when the engine recorded the
  change, in manifest time.

  @timescale=2
  Scenario: a crashing container restarts with back-off and says why it stopped
    The container runs about a second of wall time (its own `sleep` does not follow the
    time scale), writes its termination message and exits with 3; the kubelet restarts it at
    once the first time, then after a back-off of 10s, then 20s.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: crasher
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "echo started up; printf bye > /dev/termination-log; sleep 1; exit 3"]
      """
    When it is applied
    Then container "app" is running within 60s
    When container "app" has logged "started up"
    Then the log of container "app" contains "started up"
    And container "app" is terminated with exit code 3 within 30s
    And the termination message of container "app" is "bye"
    And container "app" has restarted at least 3 times within 90s
    And container "app" has restarted at most 3 times
    And container "app" was restarted 0s, 10s, 20s after it exited, give or take 3s

  @timescale=10
  Scenario: a startup probe holds started and ready back; the container keeps running
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: slow-start
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          startupProbe:
            httpGet:
              path: /healthz
              port: 8080
            initialDelaySeconds: 10
            periodSeconds: 1
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            initialDelaySeconds: 20
            periodSeconds: 1
      """
    When it is applied
    Then container "app" is running within 60s
    And container "app" stays not started for at least 5s
    And container "app" is started within 8s
    And container "app" is not ready within 1s
    And container "app" is ready within 12s
    And container "app" became ready at least 19s after it started
    And container "app" stays running for at least 5s
    And the restart count of container "app" stays 0 for at least 5s
    And the pod's condition "Ready" is True within 1s

  @timescale=10
  Scenario: a pod past its activeDeadlineSeconds fails with the reason DeadlineExceeded
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: deadline
      spec:
        activeDeadlineSeconds: 5
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
      """
    When it is applied
    Then the pod is Failed within 60s
    And the pod's status reason is "DeadlineExceeded"
    And the pod's condition "Ready" has reason "PodFailed"
    And there is an event "DeadlineExceeded" with message "longer than the specified deadline" within 1s

  @timescale=10
  Scenario: a pod whose init container never finishes is never Running, never Ready
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: blocked
      spec:
        initContainers:
        - name: wait
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
      """
    When it is applied
    Then container "wait" is running within 60s
    And the pod's condition "Initialized" has reason "ContainersNotInitialized"
    And the pod's condition "Initialized" has message "containers with incomplete status"
    And the pod's condition "Initialized" has message "wait"
    And the pod's condition "Ready" has reason "ContainersNotReady"
    And the pod is never Ready during 10s
    And container "app" is never started during 5s
    And the pod was never Running
    And the pod was never Ready
    And container "app" was never started
