@docker @conformance=readiness @timescale=20
Feature: The seed's readiness and liveness example, six replicas
  The article's `inessprobe` ReplicationController: six Apache pods whose readiness probe
  starts after 120s and whose liveness probe starts after 180s, 15s apart. Twenty times
  faster, the three and a half minutes it takes on a cluster pass in about ten seconds. It
  needs the `web:apache` image, so it runs on Docker.

  Scenario: all six replicas become Ready after the 120s delay and stay healthy past 180s
    Given the manifest "fixtures/inessprobe.yaml"
    When it is applied
    Then all 6 pods are not Ready within 60s
    And all pods stay not Ready for at least 100s
    And all 6 pods are Ready within 40s
    And service "inessprobe" has 6 ready endpoints within 1s
    And all pods stay Ready for at least 90s
    And there is no event "Unhealthy"
    And there is no event "Killing"
