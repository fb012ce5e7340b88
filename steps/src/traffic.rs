//! Traffic steps: requests to a Service through its proxy, and which pods answered them
//! (testapp answers `GET /` with `hello from <pod name>`).
//!
//! ```gherkin
//! When 30 HTTP requests are sent to service "web"
//! When 10 TCP connections are made to service "db"
//! Then every request was answered
//! And the requests were answered by 5 different pods
//! And that pod answered none of them
//! ```

use std::time::Duration;

use cucumber::{then, when};

use crate::PodlifeWorld;

/// One request's outcome: the pod that answered, or why none did.
pub type Answer = Result<String, String>;

#[when(regex = r#"^(\d+) HTTP requests? (?:is|are) sent to service "([^"]+)"$"#)]
async fn send_requests(world: &mut PodlifeWorld, count: usize, service: String) {
    let addresses = world.started().engine.service_addresses(&service);
    let (_, _, address) = *addresses
        .first()
        .unwrap_or_else(|| panic!("service {service:?} has no port to send to"));
    // A connection per request, so that each is a new choice of endpoint, as for clients
    // that do not keep connections alive.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(3))
        .build()
        .expect("an HTTP client");
    let mut answers = Vec::new();
    for _ in 0..count {
        let answer = match client.get(format!("http://{address}/")).send().await {
            Ok(response) if response.status().is_success() => {
                let body = response.text().await.unwrap_or_default();
                greeting(&body).ok_or_else(|| format!("no `hello from <pod>` in {body:?}"))
            }
            Ok(response) => Err(format!("status {}", response.status())),
            Err(e) => Err(e.to_string()),
        };
        answers.push(answer);
    }
    world.answers = answers;
}

#[when(regex = r#"^(\d+) TCP connections? (?:is|are) made to service "([^"]+)"$"#)]
async fn open_connections(world: &mut PodlifeWorld, count: usize, service: String) {
    use tokio::io::AsyncReadExt;
    let addresses = world.started().engine.service_addresses(&service);
    let (_, _, address) = *addresses
        .first()
        .unwrap_or_else(|| panic!("service {service:?} has no port to connect to"));
    let mut answers = Vec::new();
    for _ in 0..count {
        let answer = async {
            let mut stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| e.to_string())?;
            let mut text = String::new();
            tokio::time::timeout(Duration::from_secs(3), stream.read_to_string(&mut text))
                .await
                .map_err(|_| "no answer within 3 s".to_owned())?
                .map_err(|e| e.to_string())?;
            greeting(&text).ok_or_else(|| format!("no `hello from <pod>` in {text:?}"))
        }
        .await;
        answers.push(answer);
    }
    world.answers = answers;
}

/// The pod named in `hello from <pod>` (testapp's greeting; the web:apache page has it too).
fn greeting(body: &str) -> Option<String> {
    let rest = &body[body.find("hello from ")? + "hello from ".len()..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    (!name.is_empty()).then_some(name)
}

impl PodlifeWorld {
    fn answered(&self) -> Vec<&str> {
        self.answers
            .iter()
            .filter_map(|a| a.as_ref().ok().map(String::as_str))
            .collect()
    }

    fn answers_summary(&self) -> String {
        let mut counts = std::collections::BTreeMap::new();
        for answer in &self.answers {
            let key = match answer {
                Ok(pod) => pod.clone(),
                Err(e) => format!("(failed: {e})"),
            };
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[then(regex = r"^every (?:request|connection) was answered$")]
fn every_answered(world: &mut PodlifeWorld) {
    if world.answered().len() != world.answers.len() || world.answers.is_empty() {
        world.fail(&format!(
            "every request to be answered; the answers were: {}",
            world.answers_summary()
        ));
    }
}

#[then(regex = r"^no (?:request|connection) was answered$")]
fn none_answered(world: &mut PodlifeWorld) {
    if !world.answered().is_empty() {
        world.fail(&format!(
            "no request to be answered; the answers were: {}",
            world.answers_summary()
        ));
    }
}

#[then(regex = r"^the (?:requests|connections) were answered by (\d+) different pods?$")]
fn answered_by(world: &mut PodlifeWorld, count: usize) {
    let mut pods = world.answered();
    pods.sort();
    pods.dedup();
    if pods.len() != count {
        world.fail(&format!(
            "the requests to be answered by {count} pods; the answers were: {}",
            world.answers_summary()
        ));
    }
}

#[then(regex = r#"^(the pod|that pod|pod "[^"]+") answered (none|some) of them$"#)]
fn pod_answered(world: &mut PodlifeWorld, pod: String, how: String) {
    let pod = world.subject(&pod);
    let answered = world.answered().iter().filter(|p| **p == pod).count();
    if (how == "none") != (answered == 0) {
        world.fail(&format!(
            "{pod} to have answered {how} of the requests; the answers were: {}",
            world.answers_summary()
        ));
    }
}
