@conformance=workloads @timescale=10
Feature: Workload controllers: replacements, StatefulSet order, Jobs
  podlife has one node and no API server; what a workload's controller does with its pods
  after the first ones is done by the engine, as on a cluster: a ReplicaSet (a Deployment's,
  a ReplicationController) replaces a pod as soon as it begins terminating; a StatefulSet
  creates each pod once the one before it is Running and Ready, and brings a deleted pod back
  under its name; a Job runs pods until its completions have succeeded, replacing failed ones
  after a back-off of 10s, doubling, until more than backoffLimit have failed.

  Scenario: a deleted Deployment pod is replaced at once; the replacement joins the Service when Ready
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
                initialDelaySeconds: 5
                periodSeconds: 1
      """
    When it is applied
    Then service "web" has 2 ready endpoints within 60s
    When one of the pods is deleted
    Then there are 3 events "SuccessfulCreate" within 2s
    And that pod is not among the ready endpoints of service "web" within 1s
    And service "web" has 1 ready endpoint within 1s
    And service "web" has 2 ready endpoints within 20s
    And there are 3 events "SuccessfulCreate" within 1s

  Scenario: a StatefulSet creates each pod once the one before it is Ready, and brings a deleted pod back
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: db
      spec:
        selector:
          app: db
        ports:
        - port: 80
          targetPort: 8080
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata:
        name: db
      spec:
        serviceName: db
        replicas: 3
        selector:
          matchLabels:
            app: db
        template:
          metadata:
            labels:
              app: db
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--http", "8080"]
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                initialDelaySeconds: 3
                periodSeconds: 1
      """
    When it is applied
    Then all 3 pods are Ready within 60s
    And pod "db-1" was created after pod "db-0" became Ready
    And pod "db-2" was created after pod "db-1" became Ready
    And service "db" has 3 ready endpoints within 1s
    When pod "db-1" is deleted
    Then pod "db-1" is not among the ready endpoints of service "db" within 1s
    And there are 4 events "SuccessfulCreate" within 40s
    And pod "db-1" is Ready within 20s
    And pod "db-1" is among the ready endpoints of service "db" within 5s
    And there are 4 events "SuccessfulCreate" within 1s

  Scenario: a Job runs pods until its completions have succeeded
    Given the manifest:
      """
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: batch
      spec:
        completions: 3
        parallelism: 2
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: work
              image: busybox
              command: ["sh", "-c", "exit 0"]
      """
    When it is applied
    Then there is an event "Completed" with message "Job completed" within 60s
    And there are 3 events "SuccessfulCreate" within 1s
    And there is no event "BackoffLimitExceeded"

  Scenario: failed Job pods are replaced after 10s, then 20s, until the backoff limit
    Given the manifest:
      """
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: flaky
      spec:
        backoffLimit: 2
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: work
              image: busybox
              command: ["sh", "-c", "exit 1"]
      """
    When it is applied
    Then there is an event "BackoffLimitExceeded" with message "Job has reached the specified backoff limit" within 90s
    And there are 3 events "SuccessfulCreate" within 1s
    And the failed pods were replaced 10s, 20s after they failed, give or take 2s
    And there is no event "Completed"

  Scenario: under OnFailure a Job's container restarts in place, and its failures count against the backoff limit
    Given the manifest:
      """
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: stubborn
      spec:
        backoffLimit: 1
        template:
          spec:
            restartPolicy: OnFailure
            containers:
            - name: work
              image: busybox
              command: ["sh", "-c", "exit 1"]
      """
    When it is applied
    Then there is an event "BackoffLimitExceeded" within 60s
    And there is 1 event "SuccessfulCreate" within 1s
    And container "work" has restarted 1 time within 1s

  Scenario: a Job that runs past its activeDeadlineSeconds fails and its pod is deleted
    Given the manifest:
      """
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: slow
      spec:
        activeDeadlineSeconds: 20
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: work
              image: busybox
              command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
      """
    When it is applied
    Then the pod is Running within 60s
    And there is an event "DeadlineExceeded" with message "Job was active longer than specified deadline" within 30s
    And there is an event "SuccessfulDelete" within 1s
    And the stop signal was SIGTERM
    And container "work" is terminated with exit code 0 within 10s
    And there is no event "Completed"

  Scenario: StatefulSet pods reach each other by their stable DNS names
    Each pod is Ready only while GET http://db-0.db:8080/ answers, so db-1 and db-2 become
    Ready only by resolving db-0's name (its headless Service's record).
    Given the manifest:
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: db
      spec:
        clusterIP: None
        selector:
          app: db
        ports:
        - port: 8080
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata:
        name: db
      spec:
        serviceName: db
        replicas: 3
        selector:
          matchLabels:
            app: db
        template:
          metadata:
            labels:
              app: db
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--http", "8080", "--backend", "http://db-0.db:8080/"]
              readinessProbe:
                httpGet:
                  path: /backend
                  port: 8080
                periodSeconds: 1
      """
    When it is applied
    Then all 3 pods are Ready within 60s
    And pod "db-2" was created after pod "db-1" became Ready

  Scenario: a pod that started first reaches a StatefulSet's pods by name once they exist
    The client's /etc/hosts was written before db-1 existed: db-1's name reaches it later,
    as cluster DNS would answer it.
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: client
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080", "--backend", "http://db-1.db:8080/"]
          readinessProbe:
            httpGet:
              path: /backend
              port: 8080
            periodSeconds: 1
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata:
        name: db
      spec:
        serviceName: db
        replicas: 2
        selector:
          matchLabels:
            app: db
        template:
          metadata:
            labels:
              app: db
          spec:
            containers:
            - name: app
              image: podlife/testapp:1
              command: ["testapp", "--http", "8080"]
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                initialDelaySeconds: 20
                periodSeconds: 1
      """
    When it is applied
    Then pod "client" is Running within 60s
    And pod "client" stays not Ready for at least 15s
    And pod "client" is Ready within 60s

  Scenario: a rolling restart replaces every pod while the Service keeps all its pods available
    The default strategy for 3 replicas is maxSurge 1, maxUnavailable 0: an old pod goes only
    once a new one is Ready.
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
                initialDelaySeconds: 2
                periodSeconds: 1
      """
    When it is applied
    Then service "web" has 3 ready endpoints within 60s
    When deployment "web" is restarted
    Then there is an event "ScalingReplicaSet" within 1s
    And service "web" keeps at least 3 ready endpoints for at least 20s
    And there are 6 events "SuccessfulCreate" within 60s
    And there are 3 events "SuccessfulDelete" within 30s
    And service "web" has 3 ready endpoints within 20s
    When 30 HTTP requests are sent to service "web"
    Then every request was answered
    And the requests were answered by 3 different pods

  Scenario: a Recreate Deployment stops every old pod before it starts a new one
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
        strategy:
          type: Recreate
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
    Then service "web" has 2 ready endpoints within 60s
    When deployment "web" is restarted
    Then service "web" has 0 ready endpoints within 2s
    And there are 2 events "SuccessfulDelete" within 1s
    And there are 4 events "SuccessfulCreate" within 30s
    And service "web" has 2 ready endpoints within 30s

  Scenario: a changed Deployment rolls out at the pace of minReadySeconds
    The seed's Deployment has minReadySeconds: 30: a new pod counts as available only once it
    has been Ready that long, and with maxUnavailable 0 an old pod goes only when its
    replacement is available. Applying the changed manifest starts the rollout.
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
        minReadySeconds: 30
        strategy:
          type: RollingUpdate
          rollingUpdate:
            maxSurge: 1
            maxUnavailable: 0
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
              env:
              - name: VERSION
                value: "1"
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                periodSeconds: 1
      """
    When it is applied
    Then service "web" has 2 ready endpoints within 30s
    When the manifest is applied again as:
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
        minReadySeconds: 30
        strategy:
          type: RollingUpdate
          rollingUpdate:
            maxSurge: 1
            maxUnavailable: 0
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
              env:
              - name: VERSION
                value: "2"
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: 8080
                periodSeconds: 1
      """
    Then there are 3 events "SuccessfulCreate" within 5s
    And service "web" has 3 ready endpoints within 10s
    And service "web" keeps at least 3 ready endpoints for at least 20s
    And there is 1 event "SuccessfulDelete" within 15s
    And service "web" keeps at least 2 ready endpoints for at least 25s
    And there are 2 events "SuccessfulDelete" within 20s
    And there are 4 events "SuccessfulCreate" within 1s
