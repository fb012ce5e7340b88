@conformance=services @timescale=10
Feature: Services: endpoints follow readiness
  A pod is a ready endpoint of a Service while its Ready condition is true and it is not
  terminating, as Kubernetes' EndpointSlice controller decides.

  Scenario: a pod whose readiness fails leaves the service; the others stay
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: web
      spec:
        selector:
          app: web
        ports:
        - name: http
          port: 80
          targetPort: http
      ---
      apiVersion: v1
      kind: ReplicationController
      metadata:
        name: web
      spec:
        replicas: 3
        selector:
          app: web
        template:
          metadata:
            labels:
              app: web
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--http", "8080"]
              ports:
              - name: http
                containerPort: 8080
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: http
                periodSeconds: 2
                failureThreshold: 3
      """
    When it is applied
    Then service "web" has 3 ready endpoints within 60s
    When the health endpoint of container "app" in one of the pods starts failing
    Then that pod is not among the ready endpoints of service "web" within 10s
    And service "web" has 2 ready endpoints within 1s

  Scenario: a terminating pod leaves the service at once, before its preStop finishes
    Given the manifest:
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
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        labels:
          app: web
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
          readinessProbe:
            exec:
              command: ["true"]
            periodSeconds: 1
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "1"]
      """
    When it is applied
    Then the pod is among the ready endpoints of service "web" within 60s
    When the pod is deleted
    Then the pod is not among the ready endpoints of service "web" within 1s
    And the pod finished within 30s of its deletion
    And the pod left service "web" before preStop finished

  Scenario: requests through the service stop reaching a pod once it is unready
    Given the manifest:
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
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 3
        selector:
          matchLabels:
            app: web
        template:
          metadata:
            labels:
              app: web
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
                failureThreshold: 2
      """
    When it is applied
    Then service "web" has 3 ready endpoints within 60s
    When 30 HTTP requests are sent to service "web"
    Then every request was answered
    And the requests were answered by 3 different pods
    When the health endpoint of container "app" in one of the pods starts failing
    Then that pod is not among the ready endpoints of service "web" within 10s
    When 30 HTTP requests are sent to service "web"
    Then every request was answered
    And the requests were answered by 2 different pods
    And that pod answered none of them

  Scenario: a rolling shutdown: the terminating pod gets no new connections during its preStop
    The Deployment replaces the pod at once; the replacement joins when it is Ready.
    Given the manifest:
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
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 2
        selector:
          matchLabels:
            app: web
        template:
          metadata:
            labels:
              app: web
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--http", "8080"]
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                periodSeconds: 1
              lifecycle:
                preStop:
                  sleep:
                    seconds: 10
      """
    When it is applied
    Then service "web" has 2 ready endpoints within 60s
    When one of the pods is deleted
    Then that pod is not among the ready endpoints of service "web" within 1s
    When 20 HTTP requests are sent to service "web"
    Then every request was answered
    And that pod answered none of them
    And that pod left service "web" before preStop finished
    And service "web" has 2 ready endpoints within 20s

  Scenario: TCP connections through the service are spread over the ready pods
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: greeter
      spec:
        selector:
          app: greeter
        ports:
        - name: tcp
          port: 9000
          targetPort: greet
      ---
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata:
        name: greeter
      spec:
        replicas: 2
        selector:
          matchLabels:
            app: greeter
        template:
          metadata:
            labels:
              app: greeter
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--tcp", "9000"]
              ports:
              - name: greet
                containerPort: 9000
              readinessProbe:
                tcpSocket:
                  port: greet
                periodSeconds: 1
      """
    When it is applied
    Then service "greeter" has 2 ready endpoints within 60s
    When 10 TCP connections are made to service "greeter"
    Then every connection was answered
    And the connections were answered by 2 different pods

  Scenario: a pod reaches a Service by its DNS name, and only while the Service has a ready pod
    The frontend is Ready while GET http://backend/ through the Service answers. The backend
    keeps serving "/" when its readiness fails, so the frontend can only lose it by the
    Service dropping the backend from its endpoints.
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: backend
      spec:
        selector:
          app: backend
        ports:
        - port: 80
          targetPort: 8080
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: backend
        labels:
          app: backend
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 1
            failureThreshold: 1
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: frontend
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080", "--backend", "http://backend.default.svc.cluster.local/"]
          readinessProbe:
            httpGet:
              path: /backend
              port: 8080
            periodSeconds: 1
            failureThreshold: 1
      """
    When it is applied
    Then pod "frontend" is Ready within 60s
    When the health endpoint of container "app" of pod "backend" starts failing
    Then pod "backend" is not among the ready endpoints of service "backend" within 10s
    And pod "frontend" is not Ready within 10s
    And there is an event "Unhealthy" with message "Readiness probe failed: HTTP probe failed with statuscode: 503" within 1s
    When the health endpoint of container "app" of pod "backend" recovers
    Then pod "backend" is among the ready endpoints of service "backend" within 10s
    And pod "frontend" is Ready within 10s

  Scenario: a pod finds the Services that existed when it started in its environment
    As the kubelet does (enableServiceLinks): BACKEND_SERVICE_HOST, BACKEND_SERVICE_PORT and
    the Docker-link variables, usable as $(VAR) in the command.
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: backend
      spec:
        selector:
          app: backend
        ports:
        - name: http
          port: 80
          targetPort: 8080
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: backend
        labels:
          app: backend
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 1
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: frontend
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080", "--backend", "http://$(BACKEND_SERVICE_HOST):$(BACKEND_SERVICE_PORT_HTTP)/"]
          readinessProbe:
            httpGet:
              path: /backend
              port: 8080
            periodSeconds: 1
        - name: env
          image: busybox
          command: ["sh", "-c", "echo \"host=[$BACKEND_SERVICE_HOST] port=[$BACKEND_SERVICE_PORT] http=[$BACKEND_SERVICE_PORT_HTTP] link=[$BACKEND_PORT] proto=[$BACKEND_PORT_80_TCP_PROTO]\" > /data/env; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
          volumeMounts:
          - name: data
            mountPath: /data
        volumes:
        - name: data
          emptyDir: {}
      """
    When it is applied
    Then pod "frontend" is Ready within 60s
    And the file "/data/env" in container "env" of pod "frontend" contains "port=[80]"
    And the file "/data/env" in container "env" of pod "frontend" contains "http=[80]"
    And the file "/data/env" in container "env" of pod "frontend" contains "proto=[tcp]"
    And the file "/data/env" in container "env" of pod "frontend" contains "link=[tcp://"

  Scenario: with sessionAffinity ClientIP every request of a client goes to the same pod
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: web
      spec:
        selector:
          app: web
        sessionAffinity: ClientIP
        ports:
        - port: 80
          targetPort: 8080
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 3
        selector:
          matchLabels:
            app: web
        template:
          metadata:
            labels:
              app: web
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--http", "8080"]
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                periodSeconds: 1
      """
    When it is applied
    Then service "web" has 3 ready endpoints within 60s
    When 20 HTTP requests are sent to service "web"
    Then every request was answered
    And the requests were answered by 1 different pod

  Scenario: a Service applied again with publishNotReadyAddresses lists its unready pod at once
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: peers
      spec:
        selector:
          app: peers
        ports:
        - port: 80
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: peer
        labels:
          app: peers
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sleep", "300"]
          readinessProbe:
            exec:
              command: ["false"]
            periodSeconds: 1
      """
    When it is applied
    Then the pod is Running within 20s
    And the pod stays not among the ready endpoints of service "peers" for at least 3s
    When the manifest is applied again as:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: peers
      spec:
        publishNotReadyAddresses: true
        selector:
          app: peers
        ports:
        - port: 80
      """
    Then the pod is among the ready endpoints of service "peers" within 1s
    And the pod stays not Ready for at least 2s
