@conformance=stop-signal-field @timescale=10
Feature: Container stop signal (lifecycle.stopSignal)
  Since Kubernetes 1.33 a container can name the signal that stops it
  (`lifecycle.stopSignal`, which needs `spec.os.name`). It replaces the image's STOPSIGNAL and
  the default SIGTERM; the grace period and SIGKILL work as before.

  Each shell touches /tmp/armed once its traps are set: the deletion waits for it, so that
  the signal never races the container's own set-up.

  Scenario: an app that drains on SIGQUIT is stopped with SIGQUIT and exits by itself
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: drainer
      spec:
        os:
          name: linux
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' QUIT; trap '' TERM; touch /tmp/armed; while true; do sleep 0.1; done"]
          lifecycle:
            stopSignal: SIGQUIT
      """
    When it is applied
    Then the pod is Running within 60s
    When container "app" has created the file "/tmp/armed"
    And the pod is deleted
    Then the stop signal was SIGQUIT
    And container "app" exited by itself within 5s of the stop signal
    And there is no SIGKILL
    And container "app" is terminated with exit code 0 within 10s

  Scenario: an app that ignores its stop signal is SIGKILLed at the end of the grace period
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: deaf
      spec:
        os:
          name: linux
        terminationGracePeriodSeconds: 10
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap '' USR1; touch /tmp/armed; while true; do sleep 0.1; done"]
          lifecycle:
            stopSignal: SIGUSR1
      """
    When it is applied
    Then the pod is Running within 60s
    When container "app" has created the file "/tmp/armed"
    And the pod is deleted
    Then the stop signal was SIGUSR1
    And SIGKILL was sent 10s after the stop signal, give or take 1s
    And container "app" is terminated with exit code 137 within 15s
