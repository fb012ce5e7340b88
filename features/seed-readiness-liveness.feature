@docker @conformance=readiness @timescale=20
Feature: The seed's readiness and liveness example, six replicas
  The article's `inessprobe` ReplicationController: six Apache pods whose readiness probe
  starts after 120s and whose liveness probe starts after 180s, 15s apart. Twenty times
  faster, the three and a half minutes it takes on a cluster pass in about ten seconds. It
  needs the `web:apache` image, so it runs on Docker. The delays count from each container's
  start, so the bounds count from the moment all six run (Docker takes seconds of wall time
  to create six containers: at 20x that is minutes of manifest time).

  Scenario: six replicas become Ready after 120s, stay healthy, and a broken one gets no traffic
    Given the manifest "fixtures/inessprobe.yaml"
    When it is applied
    Then all 6 pods are Running within 400s
    And all pods stay not Ready for at least 100s
    And all 6 pods are Ready within 60s
    And service "inessprobe" has 6 ready endpoints within 1s
    And all pods stay Ready for at least 90s
    And there is no event "Unhealthy"
    And there is no event "Killing"
    When 60 HTTP requests are sent to service "inessprobe"
    Then every request was answered
    And the requests were answered by 6 different pods
    When the file "/var/www/index.html" is removed from container "inessprobe" in one of the pods
    Then that pod is not among the ready endpoints of service "inessprobe" within 60s
    When 60 HTTP requests are sent to service "inessprobe"
    Then every request was answered
    And the requests were answered by 5 different pods
    And that pod answered none of them
