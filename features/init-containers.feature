@conformance=init
Feature: Init containers: in order, shared volumes, failure handling
  Init containers run one after the other, each to completion, before the app starts; they
  share the pod's volumes with it.

  Scenario: two init containers prepare a volume, in order, for the app
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: prepared
      spec:
        volumes:
        - name: work
          emptyDir: {}
        initContainers:
        - name: fetch
          image: busybox
          command: ["sh", "-c", "echo fetched > /work/data"]
          volumeMounts: [{name: work, mountPath: /work}]
        - name: check
          image: busybox
          command: ["sh", "-c", "grep -q fetched /work/data && echo checked >> /work/data"]
          volumeMounts: [{name: work, mountPath: /work}]
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
          volumeMounts: [{name: work, mountPath: /work}]
      """
    When it is applied
    Then the pod is Running within 20s
    And the containers started in the order "fetch", "check", "app"
    And the file "/work/data" in container "app" contains "checked"
    And the pod's condition "Initialized" is True within 1s
