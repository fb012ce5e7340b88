@conformance=readiness
Feature: Readiness probes
  Readiness says whether a pod should get traffic. It is false until the first success
  (after `initialDelaySeconds`), and turns false again after `failureThreshold`
  consecutive failures.

  Scenario: given readiness delay 120s, when the backend fails, then the pod leaves the service
    The app's /backend endpoint answers 200 only while its backend does; the app finds the
    backend by name, through the pod's /etc/hosts.
    Given time runs 20x faster
    And a backend "backend" on port 80
    And the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: web
      spec:
        selector:
          app: web
        ports:
        - port: 80
          targetPort: 8080
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        labels:
          app: web
      spec:
        containers:
        - name: web
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080", "--backend", "http://backend:80/healthz"]
          readinessProbe:
            httpGet:
              path: /backend
              port: 8080
            periodSeconds: 5
            failureThreshold: 3
      """
    And the readiness probe's initial delay is 120s
    When it is applied
    Then the pod is Running within 60s
    And the pod stays not Ready for at least 100s
    And the pod is Ready within 30s
    And the pod is among the ready endpoints of service "web" within 1s
    When the backend fails
    Then the pod is not among the ready endpoints of service "web" within 20s
    And the pod became not Ready after the 3rd failed readiness probe, not before
    When the backend recovers
    Then the pod is among the ready endpoints of service "web" within 10s

  @timescale=10
  Scenario: a failing health endpoint makes the pod unready after the 3rd failure, not before
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
            failureThreshold: 3
      """
    When it is applied
    Then the pod is Ready within 60s
    When the health endpoint of container "app" starts failing
    Then the pod is not Ready within 15s
    And the pod became not Ready after the 3rd failed readiness probe, not before
    And there is an event "Unhealthy" with message "Readiness probe failed: HTTP probe failed with statuscode: 500" within 1s
