@docker @conformance=poststart
Feature: postStart hooks: exec, httpGet, sleep, tcpSocket; failure
  The seed's war example as the article prints it (corrected): the image `sample:v2` has
  the war, postStart copies it into /app before the container counts as started, and
  preStop tells monitor.com. It needs the image, so it runs on Docker.

  Scenario: postStart deploys the war file, preStop tells the monitor
    Given a monitor "monitor.com" on port 8080
    And the manifest "fixtures/war-hooks.yaml"
    When it is applied
    Then the pod is Running within 60s
    And the file "/app/sample.war" exists in container "war" within 1s
    When the pod is deleted
    Then the pod finished within 10s of its deletion
    And the monitor "monitor.com" received GET "/waring" before the stop signal was sent
