@static
Feature: Manifests pasted from articles are rejected with diagnostics a QA engineer can act on
  The seed article's YAML, pasted as printed, carries the hazards of documentation snippets:
  elided lines, full-width punctuation, typographic quotes, typos in field names, shell
  wrappers. podlife names each one with its line and column and says what to do.

  Scenario: The war hooks snippet: every problem in one run
    Given the manifest "fixtures/seed/war-hooks.yaml"
    When it is validated
    Then it is invalid with 10 errors and 0 warnings
    And there is an error "documentation elision" at line 1, column 1
    And there is an error "`name` is indented more than `image`" at line 4, column 6
    And its help says "remove 3 spaces before `name`"
    And there is an error "full-width colon '：' (U+FF1A) after `lifecycle`" at line 5, column 15
    And there is an error "typographic quote" at line 9, column 13
    And its help says "the value is `“cp”`"
    And there is an error "unknown field `prestop`" at line 12, column 7
    And its help says "did you mean `preStop`?"
    And there is an error "unknown field `psth`" at line 15, column 9
    And its help says "did you mean `path`?"

  Scenario: nginx-demo without apiVersion and selector
    Given the manifest "fixtures/seed/nginx-demo.yaml"
    When it is validated
    Then it is invalid with 2 errors and 0 warnings
    And there is an error "the Deployment has no `apiVersion`" at line 1, column 1
    And its help says "add `apiVersion: apps/v1`"
    And there is an error "missing required field `selector`" at line 6, column 1
    And its help says 'matchLabels: {app: "nginx-demo"}'

  Scenario: The init-container Deployment wrapped in a shell here-document
    Given the manifest "fixtures/seed/init-container-deploy.yaml"
    When it is validated
    Then it is invalid with 3 errors and 2 warnings
    And there is an error "shell here-document" at line 1, column 1
    And its help says "save them as `lykops-deploy-init-container.yaml`"
    And there is a warning "`extensions/v1beta1` Deployment was removed in Kubernetes 1.16" at line 2, column 13
    And there is a warning "init-containers` annotation is ignored" at line 11, column 5
    And its help says "spec.template.spec.initContainers"

  Scenario: A liveness snippet that lost its indentation
    Given the manifest "fixtures/seed/liveness-tcp.yaml"
    When it is validated
    Then it is invalid with 4 errors and 0 warnings
    And there is an error "unknown field `tcpSocket`" at line 3, column 1
    And its help says "indent it under `livenessProbe`"

  Scenario Outline: The corrected fixtures are valid and run their pods
    Given the manifest "<manifest>"
    When it is validated
    Then it is valid
    And it runs <pods> pods

    Examples:
      | manifest                            | pods |
      | fixtures/war-hooks.yaml             | 1    |
      | fixtures/nginx-demo.yaml            | 1    |
      | fixtures/init-container-deploy.yaml | 1    |
      | fixtures/liveness-exec.yaml         | 1    |
      | fixtures/liveness-tcp.yaml          | 1    |
      | fixtures/inessprobe.yaml            | 6    |

  Scenario: A manifest written in the feature itself
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
      spec:
        containers:
        - name: web
          image: busybox
          readinessProbe:
            httpGet: {port: 80, scheme: http}
      """
    When it is validated
    Then it is invalid with 1 error and 0 warnings
    And there is an error 'Unsupported value: "http"' at line 10, column 35
    And its help says "did you mean `HTTP`?"

  Scenario: a stop signal without the pod's operating system
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: drainer
      spec:
        containers:
        - name: app
          image: busybox
          lifecycle:
            stopSignal: SIGQUIT
      """
    When it is validated
    Then it is invalid with 1 error and 0 warnings
    And there is an error "may not be set for containers with empty `spec.os.name`" at line 10, column 7
    And its help says "add `os: {name: linux}` to the pod spec"

  Scenario: a real-time stop signal is valid for Kubernetes, but podlife says it cannot send it
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: drainer
      spec:
        os:
          name: linux
        containers:
        - name: app
          image: busybox
          lifecycle:
            stopSignal: SIGRTMIN+3
      """
    When it is validated
    Then it is valid
    And there is a warning "podlife cannot send the real-time signal SIGRTMIN+3" at line 12, column 19
