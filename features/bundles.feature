@conformance=inputs @timescale=5
Feature: Pod inputs: ConfigMaps, Secrets, downward API, claims
  A typical application bundle holds more than pods: a ServiceAccount, a ConfigMap, a Secret.
  podlife runs what it can, says what it does not run, and gives pods what they consume as
  the kubelet does: a ConfigMap's keys as files and as variables, the downward API.

  Scenario: a bundle with a ServiceAccount and a ConfigMap runs, and its postStart hook reads the ConfigMap's file
    Given the manifest:
      """
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: web
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: web-config
      data:
        greeting: hello
        app.conf: |
          port=8080
      ---
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
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 1
        selector:
          matchLabels:
            app: web
        template:
          metadata:
            labels:
              app: web
          spec:
            serviceAccountName: web
            containers:
            - name: app
              image: busybox
              command: ["sh", "-c", "echo \"$greeting from $POD\" > /tmp/env; sleep 3600"]
              envFrom:
              - configMapRef:
                  name: web-config
              env:
              - name: POD
                valueFrom:
                  fieldRef:
                    fieldPath: metadata.name
              volumeMounts:
              - name: config
                mountPath: /etc/web
              lifecycle:
                postStart:
                  exec:
                    command: ["sh", "-c", "cat /etc/web/app.conf > /tmp/seen-by-hook"]
            volumes:
            - name: config
              configMap:
                name: web-config
      """
    When it is applied
    Then the pod is Running within 60s
    And the file "/tmp/seen-by-hook" in container "app" contains "port=8080"
    And the file "/tmp/env" in container "app" contains "hello from web-"

  Scenario: a container waits in CreateContainerConfigError while its ConfigMap lacks a key
    Given the manifest:
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
      data:
        OTHER: x
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: early
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sleep", "3600"]
          env:
          - name: MODE
            valueFrom:
              configMapKeyRef:
                name: settings
                key: MODE
      """
    When it is applied
    Then container "app" is waiting with reason "CreateContainerConfigError" within 30s
    And there is an event "Failed" with message "Error: couldn't find key MODE in ConfigMap default/settings" within 1s
