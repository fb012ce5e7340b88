@conformance=liveness @timescale=10
Feature: Liveness probes
  The seed's liveness example: an exec probe `cat`s a file; when the file is removed, the
  probe fails `failureThreshold` (3) times, one period (10s) apart, and the kubelet kills
  and restarts the container.

  Scenario: removing the file the exec probe reads restarts the container once
    Given the manifest "fixtures/liveness-exec.yaml"
    When it is applied
    Then the pod is Running within 60s
    And container "liveness" is never restarted for at least 15s
    And there is no event "Killing" during 5s
    When the file "/home/laizy/test/hostpath/healthy" is removed from container "liveness"
    Then there is an event "Unhealthy" with message "Liveness probe failed" within 40s
    And there is an event "Killing" with message "failed liveness probe, will be restarted" within 40s
    And container "liveness" has restarted 1 time within 40s

  Scenario: an httpGet liveness probe restarts a container whose health endpoint fails
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
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
    Then the pod is Running within 60s
    When the health endpoint of container "app" starts failing
    Then there is an event "Unhealthy" with message "Liveness probe failed: HTTP probe failed with statuscode: 500" within 10s
    And there is an event "Killing" with message "Container app failed liveness probe, will be restarted" within 10s
    And container "app" has restarted 1 time within 10s
    And the pod is Running within 10s

  Scenario: a tcpSocket liveness probe restarts a container whose port stops listening
    testapp closes its TCP listener while unhealthy (--tcp-follows-health); its HTTP port
    (8081) takes the fault.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: tcp
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--tcp", "8080", "--http", "8081", "--tcp-follows-health"]
          ports:
          - containerPort: 8081
          livenessProbe:
            tcpSocket:
              port: 8080
            periodSeconds: 2
            failureThreshold: 2
      """
    When it is applied
    Then the pod is Running within 60s
    And container "app" is never restarted for at least 6s
    When the health endpoint of container "app" starts failing
    Then there is an event "Unhealthy" with message "connect: connection refused" within 10s
    And container "app" has restarted 1 time within 10s
