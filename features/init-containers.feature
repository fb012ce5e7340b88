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
    Then the pod is Running within 60s
    And the containers started in the order "fetch", "check", "app"
    And the file "/work/data" in container "app" contains "checked"
    And the pod's condition "Initialized" is True within 1s

  @timescale=5
  Scenario: an init container waits for another module to be ready
    The seed's second init example: the app must not start before the service it needs
    answers. The init container polls it; the pod stays uninitialised until it is healthy.
    Given a backend "db" on port 80
    And the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: waits
      spec:
        initContainers:
        - name: wait-for-db
          image: busybox
          command: ["sh", "-c", "until busybox wget -q -O /dev/null http://db/healthz; do sleep 1; done"]
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
      """
    When the backend fails
    And it is applied
    Then the pod's condition "Initialized" stays False for at least 20s
    And the pod is Pending within 1s
    When the backend recovers
    Then the pod is Running within 15s
    And the containers started in the order "wait-for-db", "app"

  Scenario: containers that have not run yet wait in PodInitializing
    While the first init container fails and is retried, the second one and the app have not
    run: the kubelet reports them waiting with reason PodInitializing.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: initializing
      spec:
        initContainers:
        - name: init1
          image: busybox
          command: ["sh", "-c", "exit 1"]
        - name: init2
          image: busybox
          command: ["true"]
        containers:
        - name: app
          image: busybox
          command: ["sleep", "3600"]
      """
    When it is applied
    Then container "init1" is waiting with reason "CrashLoopBackOff" within 30s
    And container "init2" is waiting with reason "PodInitializing" within 1s
    And container "app" is waiting with reason "PodInitializing" within 1s
    And the pod is Pending within 1s
