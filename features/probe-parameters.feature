@conformance=probe-parameters @timescale=10
Feature: Probe parameters: initialDelay, period, timeout, thresholds
  The seed's table of probe parameters, each shown to do what it says.

  Background:
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: app
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 2
      """

  Scenario: initialDelaySeconds holds the first probe back
    Given the readiness probe's initial delay is 30s
    When it is applied
    Then the pod is Running within 60s
    And the pod stays not Ready for at least 25s
    And the pod is Ready within 10s

  Scenario: failureThreshold 1 makes the first failure count
    Given the readiness probe's failure threshold is 1
    When it is applied
    Then the pod is Ready within 60s
    When the health endpoint of container "app" starts failing
    Then the pod is not Ready within 5s
    And the pod became not Ready after the 1st failed readiness probe, not before

  Scenario: timeoutSeconds fails a probe whose endpoint answers too late
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: slow
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          readinessProbe:
            httpGet:
              path: /slow?ms=3000
              port: 8080
            periodSeconds: 5
            timeoutSeconds: 1
      """
    When it is applied
    Then the pod is Running within 60s
    And there is an event "Unhealthy" with message "Client.Timeout exceeded while awaiting headers" within 20s
    And the pod stays not Ready for at least 20s

  Scenario: periodSeconds spaces the attempts, successThreshold needs consecutive successes
    Given the readiness probe's period is 4s
    And the readiness probe's success threshold is 3
    When it is applied
    Then the pod is Running within 60s
    And the pod stays not Ready for at least 7s
    And the pod is Ready within 6s

  @timescale=2
  Scenario: the first probe comes at initialDelaySeconds, not a period later
    The kubelet times the first attempt from the container's start: with initialDelaySeconds 1
    and periodSeconds 60 the startup probe runs at 1s, so the container has started (and, with
    no readiness probe, is Ready) long before a period has passed.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: first-probe
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sleep", "3600"]
          startupProbe:
            exec:
              command: ["true"]
            initialDelaySeconds: 1
            periodSeconds: 60
      """
    When it is applied
    Then the pod is Ready within 20s
