@timescale=10
Feature: Timeline: the order and spacing of containers, hooks and probes
  A sidecar (an init container with restartPolicy Always) starts after the init container
  that precedes it and runs alongside the app; on deletion the app containers' preStop hooks
  run together, then the sidecar stops last. The monitor answers 200 to every path and puts
  each request on the timeline.

  Scenario: init, sidecar and app containers start, run and stop in order
    The readiness probe override reaches the sidecar (the only container with one), and the
    postStart override runs in it too.
    Given a monitor "monitor.com" on port 8080
    And the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pair
      spec:
        volumes:
        - name: work
          emptyDir: {}
        initContainers:
        - name: setup
          image: busybox
          command: ["sh", "-c", "exit 0"]
        - name: proxy
          image: busybox
          restartPolicy: Always
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
          volumeMounts: [{name: work, mountPath: /work}]
          readinessProbe:
            httpGet:
              host: monitor.com
              port: 8080
              path: /ready?c=proxy
            periodSeconds: 1
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
          lifecycle:
            postStart:
              httpGet:
                host: monitor.com
                port: 8080
                path: /hook?c=app
            preStop:
              sleep:
                seconds: 5
        - name: worker
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
          livenessProbe:
            httpGet:
              host: monitor.com
              port: 8080
              path: /alive
            periodSeconds: 10
          lifecycle:
            preStop:
              httpGet:
                host: monitor.com
                port: 8080
                path: /hook?c=worker-stop
      """
    And the readiness probe's initial delay is 30s
    And the postStart hook of container "proxy" runs "echo hooked > /work/hooked"
    When it is applied
    Then container "worker" is running within 60s
    When container "proxy" has created the file "/work/hooked"
    Then container "proxy" stays not ready for at least 10s
    And container "proxy" is ready within 30s
    And the monitor "monitor.com" received GET "/ready?c=proxy" at least 1 time within 1s
    And the monitor "monitor.com" received GET "/hook?c=app" 1 time within 1s
    And the monitor "monitor.com" received GET "/hook" before GET "/ready"
    And container "setup" exited before container "proxy" started
    And containers "proxy" and "app" ran at the same time
    When the pod is deleted
    Then the pod finished within 30s of its deletion
    And the preStop hooks of containers "app" and "worker" started within 1s of each other
    And the preStop hook of container "app" ran for 5s, give or take 1s
    And no liveness probe ran after the preStop hook of container "worker" started
    And the monitor "monitor.com" received GET "/hook?c=worker-stop" 1 time within 1s
    And the containers exited in the order "setup", "worker", "app", "proxy"
