@conformance=restart @timescale=10
Feature: Restart policies and crash-loop back-off
  A container that keeps failing is restarted with a back-off that doubles from 10s
  (CrashLoopBackOff); under restartPolicy Never it is left failed, and so is the pod.

  Background:
    Given the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: crasher
      spec:
        containers:
        - name: app
          image: busybox
          command: ["sh", "-c", "echo crashing; exit 3"]
      """

  Scenario: Always: a crashing container ends up in CrashLoopBackOff
    When it is applied
    Then container "app" is waiting with reason "CrashLoopBackOff" within 60s
    And there is an event "BackOff" with message "Back-off restarting failed container app" within 1s
    And container "app" is terminated with exit code 3 (Error) within 1s

  Scenario: Never: the container is not restarted and the pod fails
    Given the restart policy is Never
    When it is applied
    Then the pod is Failed within 60s
    And container "app" is terminated with exit code 3 (Error) within 1s
    And container "app" is never restarted for at least 20s
