@timescale=5
Feature: What a container has: its own /tmp, its own working directory, its image's shell
  Whatever the runtime, a container has what a container has on a node: a /tmp no other pod
  sees, a working directory its probes and hooks run in, and its image's shell (busybox's,
  which understands `trap _term SIGTERM`). On the process runtime this takes root (a private
  mount namespace and a PID namespace); see the README's runtime section.

  Scenario: one pod's /tmp is not another's
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: writer
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "touch /tmp/ready; sleep 3600"]
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: reader
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sleep", "3600"]
          readinessProbe:
            exec:
              command: ["test", "-f", "/tmp/ready"]
            periodSeconds: 1
      """
    When it is applied
    Then pod "writer" is Running within 60s
    And pod "reader" is Running within 60s
    And pod "reader" stays not Ready for at least 5s

  Scenario: probes run in the container's working directory
    The container marks itself started with a relative path; its startup probe looks for the
    file by the same relative path.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: relative
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "touch started; sleep 3600"]
          startupProbe:
            exec:
              command: ["test", "-f", "started"]
            periodSeconds: 1
      """
    When it is applied
    Then the pod is Ready within 60s

  Scenario: the image's shell runs the script a busybox image expects
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: graceful
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "_term() { echo bye; exit 0; }; trap _term SIGTERM; echo armed; while true; do sleep 0.1; done"]
      """
    When it is applied
    Then the pod is Running within 60s
    When container "app" has logged "armed"
    And the pod is deleted
    Then container "app" is terminated with exit code 0 within 10s
    And there is no SIGKILL
