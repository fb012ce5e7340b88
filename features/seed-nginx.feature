@docker @conformance=prestop
Feature: nginx-demo quits gracefully through its preStop hook
  The seed's nginx-demo Deployment: `nginx -s quit` in preStop drains and quits, where
  SIGTERM alone would make nginx exit at once. Its image `centos:nginx` is built locally.

  Scenario: the preStop quit ends nginx by itself, well within the grace period
    Given the manifest "fixtures/nginx-demo.yaml"
    When it is applied
    Then the pod is Running within 60s
    When the pod is deleted
    Then container "nginx-demo" is terminated with exit code 0 within 10s
    And there is no SIGKILL
    And the pod finished within 10s of its deletion
