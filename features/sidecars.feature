@conformance=sidecar @timescale=2
Feature: Sidecar containers: start order, restarts, stopped after the app
  Sidecars are init containers with `restartPolicy: Always`: they start in order before the
  app and keep running beside it. When the pod is deleted, the kubelet kills all its
  containers at once: every preStop hook starts when termination begins and the grace period
  is one budget for the whole pod; only the stop signals are ordered (the app first, then the
  sidecars, the last one first).

  Background:
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: with-sidecars
      spec:
        terminationGracePeriodSeconds: 30
        initContainers:
        - name: log-shipper
          image: podlife/testapp:1
          command: ["testapp"]
          restartPolicy: Always
          lifecycle:
            preStop:
              sleep:
                seconds: 6
        - name: proxy
          image: podlife/testapp:1
          command: ["testapp"]
          restartPolicy: Always
          lifecycle:
            preStop:
              sleep:
                seconds: 6
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp"]
          lifecycle:
            preStop:
              sleep:
                seconds: 6
      """

  Scenario: sidecars start in order, before the app
    When it is applied
    Then the pod is Running within 20s
    And the containers started in the order "log-shipper", "proxy", "app"

  Scenario: every preStop starts when termination begins, so the pod ends when the hooks do
    Three 6s preStop hooks one after another would take 18s; run together they take 6s.
    When it is applied
    Then the pod is Running within 20s
    When the pod is deleted
    Then the pod finished within 8s of its deletion
