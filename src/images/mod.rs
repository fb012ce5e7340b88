//! Container images podlife builds itself, for the Docker runtime. There is no registry to pull
//! from, so every image a test or a seed fixture uses is built here, with Docker's classic
//! builder and a build context made in memory, from Debian's `busybox-static` and podlife's own
//! binaries; the recipes (Dockerfiles and files) are in the source ([`recipes()`]).
//!
//! [`ensure`] is what the Docker runtime calls before it creates a container: an image that is
//! present is used as it is, one of ours that is missing or whose recipe changed (the
//! `io.podlife.recipe-hash` label differs) is built, base first, and anything else is pulled,
//! with an error that says how to provide the image when no registry answers. [`build`] is
//! `podlife images build`.
//!
//! Every image built here is labelled `io.podlife.image=true`, `io.podlife.recipe=<name>` and
//! `io.podlife.recipe-hash=<hash>`. An image under one of our names that is not labelled as ours
//! (a real `busybox:latest` pulled or loaded by someone) is used as it is and never retagged.

pub mod busybox;
mod context;
mod recipes;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::body_full;
use bollard::errors::Error as DockerError;
use bollard::models::ImageInspect;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use futures::StreamExt;

pub use recipes::Recipe;

/// The pod sandbox image: owns the pod's network namespace, sleeps, exits 0 on SIGTERM.
pub const PAUSE_IMAGE: &str = "podlife/pause:1";
/// podlife's test program (`testapp`), statically linked, on busybox.
pub const TESTAPP_IMAGE: &str = "podlife/testapp:1";
/// The base of every other image (also tagged `busybox:latest`).
pub const BUSYBOX_IMAGE: &str = recipes::BUSYBOX_BASE;

/// Label on every image podlife builds (value `true`).
pub const IMAGE_LABEL: &str = "io.podlife.image";
/// Label naming the recipe an image was built from.
pub const RECIPE_LABEL: &str = "io.podlife.recipe";
/// Label holding the content hash of the recipe (build context and base) an image was built from.
pub const HASH_LABEL: &str = "io.podlife.recipe-hash";

/// How long a pull may wait for the registry's first answer (and then for each further one).
const PULL_FIRST_ANSWER: Duration = Duration::from_secs(20);
const PULL_STALL: Duration = Duration::from_secs(120);

/// What podlife can build, each after its base, by image reference as manifests name them.
pub fn recipes() -> Vec<Recipe> {
    recipes::all().to_vec()
}

/// The recipe that builds `image` (any of its references, in any spelling Docker accepts:
/// `busybox`, `busybox:latest`, `docker.io/library/busybox:latest`).
pub fn recipe_for(image: &str) -> Option<&'static Recipe> {
    let wanted = normalize(image);
    recipes::all()
        .iter()
        .find(|r| r.references().any(|name| normalize(name) == wanted))
}

/// An image reference as Docker reads it: without `docker.io/` and `library/`, with `:latest`
/// when it has neither tag nor digest.
pub fn normalize(image: &str) -> String {
    let mut name = image.trim();
    for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
        }
    }
    let name = name.strip_prefix("library/").unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    if name.contains('@') || last.contains(':') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

/// Splits a reference into repository and tag (`None` for a digest reference).
fn split_reference(image: &str) -> (String, Option<String>) {
    let normalized = normalize(image);
    if normalized.contains('@') {
        return (normalized, None);
    }
    let slash = normalized.rfind('/').map_or(0, |i| i + 1);
    match normalized[slash..].rfind(':') {
        Some(colon) => (
            normalized[..slash + colon].to_owned(),
            Some(normalized[slash + colon + 1..].to_owned()),
        ),
        None => (normalized, None),
    }
}

/// Why an image could not be provided.
#[derive(Debug)]
pub enum ImageError {
    /// The Docker engine cannot be reached.
    Engine { reason: String },
    /// A Docker API call failed.
    Docker { what: String, message: String },
    /// The image is not local, podlife has no recipe for it, and pulling it failed.
    Unavailable {
        image: String,
        reason: String,
        /// True when no registry could be reached at all (rather than the registry having no
        /// such image).
        no_registry: bool,
    },
    /// A file a recipe needs is missing or unusable (busybox, the static testapp).
    Input {
        image: String,
        message: String,
        help: String,
    },
    /// Docker's build of a recipe failed.
    Build {
        image: String,
        message: String,
        /// The last lines of the build's output.
        output: Vec<String>,
    },
    /// `build` was given a name podlife has no recipe for.
    UnknownRecipe { name: String },
}

fn recipe_names() -> String {
    recipes::all()
        .iter()
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Engine { reason } => write!(
                f,
                "cannot reach the Docker engine: {reason}; is dockerd running, and may this user \
                 use its socket (/var/run/docker.sock, group `docker`)? DOCKER_HOST selects \
                 another engine"
            ),
            ImageError::Docker { what, message } => write!(f, "{what}: {message}"),
            ImageError::Unavailable {
                image,
                reason,
                no_registry,
            } => {
                if *no_registry {
                    write!(
                        f,
                        "image `{image}` is not in the local Docker and cannot be pulled: no \
                         registry is reachable ({reason})"
                    )?;
                } else {
                    write!(
                        f,
                        "image `{image}` is not in the local Docker and pulling it failed: \
                         {reason}"
                    )?;
                }
                write!(
                    f,
                    ". Provide it locally: `docker load -i FILE.tar` (an image saved with \
                     `docker save` where it exists), or `docker build -t {image} DIR` with a \
                     Dockerfile `FROM scratch` or `FROM {BUSYBOX_IMAGE}` (no registry images), \
                     or use an image podlife builds itself (`podlife images build`): {}",
                    recipe_names()
                )
            }
            ImageError::Input {
                image,
                message,
                help,
            } => write!(f, "cannot build {image}: {message}; {help}"),
            ImageError::Build {
                image,
                message,
                output,
            } => {
                write!(f, "building {image} failed: {message}")?;
                if !output.is_empty() {
                    let from = output.len().saturating_sub(6);
                    write!(f, " (build output: … {})", output[from..].join(" | "))?;
                }
                Ok(())
            }
            ImageError::UnknownRecipe { name } => write!(
                f,
                "podlife has no recipe for `{name}`; it builds {}",
                recipe_names()
            ),
        }
    }
}

impl std::error::Error for ImageError {}

fn docker_error(what: impl Into<String>, e: DockerError) -> ImageError {
    ImageError::Docker {
        what: what.into(),
        message: e.to_string(),
    }
}

/// Connects to the local Docker engine (`DOCKER_HOST` or the default socket) and checks that it
/// answers.
pub async fn connect() -> Result<Docker, ImageError> {
    let docker = Docker::connect_with_local_defaults().map_err(|e| ImageError::Engine {
        reason: e.to_string(),
    })?;
    match tokio::time::timeout(Duration::from_secs(10), docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(ImageError::Engine {
            reason: e.to_string(),
        }),
        Err(_) => Err(ImageError::Engine {
            reason: "no answer within 10 s".into(),
        }),
    }
}

/// Progress lines: what is being built or pulled, and why.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// What [`ensure`] had to do for an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// It was there already.
    Present,
    /// It was built (or rebuilt) from its recipe, or pulled.
    Fetched,
}

/// What this process knows of an image, behind the lock that serialises its builds.
#[derive(Default)]
struct State {
    /// The recipe hash checked or built in this process (the recipe's inputs, such as the
    /// testapp binary, are then not read again).
    verified: Option<String>,
}

type Lock = Arc<tokio::sync::Mutex<State>>;

static LOCKS: LazyLock<std::sync::Mutex<HashMap<String, Lock>>> = LazyLock::new(Default::default);

fn lock_for(key: &str) -> Lock {
    let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    locks.entry(key.to_owned()).or_default().clone()
}

async fn inspect(docker: &Docker, image: &str) -> Result<Option<ImageInspect>, ImageError> {
    match docker.inspect_image(image).await {
        Ok(found) => Ok(Some(found)),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(docker_error(format!("cannot inspect image {image}"), e)),
    }
}

fn label<'a>(image: &'a ImageInspect, key: &str) -> Option<&'a str> {
    image
        .config
        .as_ref()?
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn is_ours(image: &ImageInspect) -> bool {
    label(image, IMAGE_LABEL) == Some("true")
}

/// Makes sure `image` exists in the local Docker: present → done; one of podlife's, missing or
/// built from an older recipe → built (its base first); anything else → pulled, with progress
/// lines, and when that fails an error naming the image and how to provide it.
///
/// Safe to call concurrently: builds and pulls of one image are serialised in this process,
/// and another process building the same image at the same time is harmless.
pub async fn ensure(
    docker: &Docker,
    image: &str,
    progress: Progress<'_>,
) -> Result<Fetched, ImageError> {
    ensure_telling(docker, image, progress, &|| {}).await
}

/// [`ensure`], calling `fetching` once a build or pull is about to begin (the kubelet's
/// `Pulling` event comes then).
pub async fn ensure_telling(
    docker: &Docker,
    image: &str,
    progress: Progress<'_>,
    fetching: &(dyn Fn() + Sync),
) -> Result<Fetched, ImageError> {
    match recipe_for(image) {
        Some(recipe) => ensure_recipe(docker, recipe, image, progress, fetching).await,
        None => ensure_pulled(docker, image, progress, fetching).await,
    }
}

fn ensure_recipe<'a>(
    docker: &'a Docker,
    recipe: &'static Recipe,
    reference: &'a str,
    progress: Progress<'a>,
    fetching: &'a (dyn Fn() + Sync),
) -> Pin<Box<dyn Future<Output = Result<Fetched, ImageError>> + Send + 'a>> {
    Box::pin(async move {
        let lock = lock_for(recipe.name);
        let mut state = lock.lock().await;
        let prepared = match inspect(docker, reference).await? {
            // Someone else's image under this name: use it as it is.
            Some(found) if !is_ours(&found) => return Ok(Fetched::Present),
            Some(found) => {
                let have = label(&found, HASH_LABEL);
                if let Some(verified) = &state.verified
                    && have == Some(verified.as_str())
                {
                    return Ok(Fetched::Present);
                }
                match prepare(recipe, true, progress).await {
                    Ok(prepared) if have == Some(prepared.hash.as_str()) => {
                        state.verified = Some(prepared.hash);
                        return Ok(Fetched::Present);
                    }
                    Ok(prepared) => {
                        progress(&format!("{}: its recipe changed; rebuilding", recipe.name));
                        fetching();
                        prepared
                    }
                    Err(e) => {
                        progress(&format!(
                            "{}: present, but cannot be checked against its recipe ({e}); \
                             using it as it is",
                            recipe.name
                        ));
                        return Ok(Fetched::Present);
                    }
                }
            }
            None => {
                fetching();
                prepare(recipe, true, progress).await?
            }
        };
        let built = build_prepared(docker, recipe, prepared, false, progress).await?;
        state.verified = Some(built.hash);
        Ok(Fetched::Fetched)
    })
}

/// A recipe's build context and its hash.
struct Prepared {
    hash: String,
    context: Vec<u8>,
}

/// Reads a recipe's inputs (compiling the static testapp if `compile` and needed) and makes
/// its build context and hash (which covers the base's hash too).
fn prepare<'a>(
    recipe: &'static Recipe,
    compile: bool,
    progress: Progress<'a>,
) -> Pin<Box<dyn Future<Output = Result<Prepared, ImageError>> + Send + 'a>> {
    Box::pin(async move {
        let base_hash = match recipe.base.and_then(recipe_for) {
            Some(base) => Some(prepare(base, compile, progress).await?.hash),
            None => None,
        };
        let binary = match recipe.binary {
            Some(kind) => Some(context::load_binary(recipe, kind, compile, progress).await?),
            None => None,
        };
        let io_error = |e: std::io::Error| ImageError::Input {
            image: recipe.name.to_owned(),
            message: format!("cannot make the build context: {e}"),
            help: "this is a bug in podlife".into(),
        };
        tokio::task::spawn_blocking(move || {
            let context = context::tar(recipe, binary.as_deref())?;
            let hash = context::hash(recipe, &context, base_hash.as_deref());
            Ok(Prepared { hash, context })
        })
        .await
        .map_err(|e| io_error(std::io::Error::other(e)))?
        .map_err(io_error)
    })
}

/// What `build` did with one recipe.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The recipe's name.
    pub name: &'static str,
    pub status: BuildStatus,
    /// The image id (`sha256:…`), when there is an image.
    pub id: Option<String>,
    /// The image's size in bytes.
    pub size: Option<i64>,
    /// How long it took, reading inputs included.
    pub elapsed: Duration,
}

/// The result of building one recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStatus {
    /// Built: it was missing.
    Built,
    /// Rebuilt: its recipe changed since it was built.
    Rebuilt,
    /// Rebuilt because `force` said so.
    Forced,
    /// Skipped: present and built from the current recipe.
    UpToDate,
    /// Skipped: every name of it holds an image podlife did not build, which is left alone.
    NotOurs,
}

impl BuildStatus {
    /// Whether an image was built.
    pub fn built(self) -> bool {
        matches!(
            self,
            BuildStatus::Built | BuildStatus::Rebuilt | BuildStatus::Forced
        )
    }
}

impl BuildStatus {
    /// One word or two: `built`, `rebuilt`, `up to date`, `left alone`.
    pub fn word(self) -> &'static str {
        match self {
            BuildStatus::Built => "built",
            BuildStatus::Rebuilt | BuildStatus::Forced => "rebuilt",
            BuildStatus::UpToDate => "up to date",
            BuildStatus::NotOurs => "left alone",
        }
    }

    /// Why, when the word does not say it all.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            BuildStatus::Rebuilt => Some("recipe changed"),
            BuildStatus::Forced => Some("--force"),
            BuildStatus::NotOurs => Some("not built by podlife"),
            BuildStatus::Built | BuildStatus::UpToDate => None,
        }
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildStatus::Built => "built",
            BuildStatus::Rebuilt => "rebuilt (recipe changed)",
            BuildStatus::Forced => "rebuilt (--force)",
            BuildStatus::UpToDate => "up to date",
            BuildStatus::NotOurs => "left alone (not built by podlife)",
        })
    }
}

/// The recipes `only` names (every recipe when empty), each after its base, or an error naming
/// the first name that is no recipe.
pub fn select(only: &[String]) -> Result<Vec<&'static Recipe>, ImageError> {
    let mut wanted = Vec::new();
    for name in only {
        let recipe =
            recipe_for(name).ok_or_else(|| ImageError::UnknownRecipe { name: name.clone() })?;
        wanted.push(recipe.name);
    }
    Ok(recipes::all()
        .iter()
        .filter(|r| only.is_empty() || wanted.contains(&r.name))
        .collect())
}

/// Builds every recipe (or those `only` names), skipping up-to-date ones unless `force`;
/// returns the names of the images built.
pub async fn build(
    docker: &Docker,
    only: &[String],
    force: bool,
    progress: Progress<'_>,
) -> Result<Vec<String>, ImageError> {
    let outcomes = build_report(docker, only, force, progress, &|_| {}).await?;
    Ok(outcomes
        .into_iter()
        .filter(|o| o.status.built())
        .map(|o| o.name.to_owned())
        .collect())
}

/// Like [`build`], with what happened to each recipe, also told to `done` as each finishes.
/// Base images are built first, then the others at the same time (every step of Docker's
/// classic builder takes about a second, mostly waiting on the storage driver). On a failure,
/// the builds under way finish and the first error is returned.
pub async fn build_report(
    docker: &Docker,
    only: &[String],
    force: bool,
    progress: Progress<'_>,
    done: &(dyn Fn(&BuildOutcome) + Sync),
) -> Result<Vec<BuildOutcome>, ImageError> {
    let selected = select(only)?;
    let (bases, others): (Vec<_>, Vec<_>) = selected.into_iter().partition(|r| r.base.is_none());
    let mut outcomes = Vec::new();
    for recipe in bases {
        let outcome = build_recipe(docker, recipe, force, progress).await?;
        done(&outcome);
        outcomes.push(outcome);
    }
    let mut running: futures::stream::FuturesUnordered<_> = others
        .into_iter()
        .map(|recipe| build_recipe(docker, recipe, force, progress))
        .collect();
    let mut first_error = None;
    while let Some(result) = running.next().await {
        match result {
            Ok(outcome) => {
                done(&outcome);
                outcomes.push(outcome);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            let order = |name: &str| recipes::all().iter().position(|r| r.name == name);
            outcomes.sort_by_key(|o| order(o.name));
            Ok(outcomes)
        }
    }
}

/// Builds one recipe unless it is up to date (always with `force`, without the builder's
/// cache); its base is built first when missing or outdated.
pub async fn build_recipe(
    docker: &Docker,
    recipe: &'static Recipe,
    force: bool,
    progress: Progress<'_>,
) -> Result<BuildOutcome, ImageError> {
    let started = Instant::now();
    let lock = lock_for(recipe.name);
    let mut state = lock.lock().await;
    let prepared = prepare(recipe, true, progress).await?;
    let mut found = Vec::new();
    for reference in recipe.references() {
        found.push(inspect(docker, reference).await?);
    }
    let ours: Vec<&ImageInspect> = found.iter().flatten().filter(|i| is_ours(i)).collect();
    let missing = found.iter().any(Option::is_none);
    let current = ours
        .iter()
        .all(|i| label(i, HASH_LABEL) == Some(prepared.hash.as_str()));
    let skip = if ours.is_empty() && !missing {
        Some(BuildStatus::NotOurs)
    } else if !force && !missing && current {
        Some(BuildStatus::UpToDate)
    } else {
        None
    };
    if let Some(status) = skip {
        let image = found.iter().flatten().next();
        if status == BuildStatus::UpToDate {
            state.verified = Some(prepared.hash);
        }
        return Ok(BuildOutcome {
            name: recipe.name,
            status,
            id: image.and_then(|i| i.id.clone()),
            size: image.and_then(|i| i.size),
            elapsed: started.elapsed(),
        });
    }
    let status = if force {
        BuildStatus::Forced
    } else if ours.is_empty() {
        BuildStatus::Built
    } else if !current {
        BuildStatus::Rebuilt
    } else {
        // Present under one name, missing under another: tag it again (the cache makes the
        // build quick).
        BuildStatus::Built
    };
    let built = build_prepared(docker, recipe, prepared, force, progress).await?;
    state.verified = Some(built.hash);
    Ok(BuildOutcome {
        name: recipe.name,
        status,
        id: Some(built.id),
        size: built.size,
        elapsed: started.elapsed(),
    })
}

struct Built {
    hash: String,
    id: String,
    size: Option<i64>,
}

/// Builds a prepared recipe (its base first, if needed) and tags every name of it that is
/// free or ours. The caller holds the recipe's lock.
async fn build_prepared(
    docker: &Docker,
    recipe: &'static Recipe,
    prepared: Prepared,
    no_cache: bool,
    progress: Progress<'_>,
) -> Result<Built, ImageError> {
    if let Some(base) = recipe.base {
        let base_recipe = recipe_for(base).expect("a recipe's base is a recipe");
        ensure_recipe(docker, base_recipe, base, progress, &|| {}).await?;
    }
    let mut targets = Vec::new();
    let mut old_ids = Vec::new();
    for reference in recipe.references() {
        match inspect(docker, reference).await? {
            None => targets.push(reference),
            Some(found) if is_ours(&found) => {
                targets.push(reference);
                old_ids.extend(found.id);
            }
            Some(_) => progress(&format!(
                "{reference}: holds an image podlife did not build; left alone"
            )),
        }
    }
    let Some(&tag) = targets.first() else {
        let found = inspect(docker, recipe.name).await?.unwrap_or_default();
        return Ok(Built {
            hash: prepared.hash,
            id: found.id.unwrap_or_default(),
            size: found.size,
        });
    };
    progress(&format!(
        "building {} ({:.1} MB context)",
        recipe.references().collect::<Vec<_>>().join(", "),
        prepared.context.len() as f64 / 1e6
    ));
    let labels = HashMap::from([
        (IMAGE_LABEL, "true"),
        (RECIPE_LABEL, recipe.name),
        (HASH_LABEL, prepared.hash.as_str()),
    ]);
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .nocache(no_cache)
        .labels(&labels)
        .build();
    let mut output: Vec<String> = Vec::new();
    let mut stream = docker.build_image(options, None, Some(body_full(prepared.context.into())));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                for line in info.stream.iter().flat_map(|s| s.lines()) {
                    let line = line.trim();
                    if !line.is_empty() {
                        output.push(line.to_owned());
                    }
                }
            }
            Err(e) => {
                let message = match e {
                    DockerError::DockerStreamError { error } => error,
                    other => other.to_string(),
                };
                return Err(ImageError::Build {
                    image: recipe.name.to_owned(),
                    message,
                    output,
                });
            }
        }
    }
    let image = inspect(docker, tag)
        .await?
        .ok_or_else(|| ImageError::Build {
            image: recipe.name.to_owned(),
            message: format!("the build finished but {tag} is not there"),
            output: output.clone(),
        })?;
    let id = image.id.clone().unwrap_or_default();
    for reference in &targets[1..] {
        let (repo, version) = split_reference(reference);
        let options = TagImageOptionsBuilder::default()
            .repo(&repo)
            .tag(version.as_deref().unwrap_or("latest"))
            .build();
        docker
            .tag_image(&id, Some(options))
            .await
            .map_err(|e| docker_error(format!("cannot tag {id} as {reference}"), e))?;
    }
    // The images these names held before, when no name is left on them and no container uses
    // them (Docker refuses that).
    old_ids.sort();
    old_ids.dedup();
    for old in old_ids.iter().filter(|old| **old != id) {
        let untagged = match inspect(docker, old).await {
            Ok(Some(image)) => image
                .repo_tags
                .unwrap_or_default()
                .iter()
                .all(|t| t == "<none>:<none>"),
            _ => false,
        };
        if untagged {
            let options = RemoveImageOptionsBuilder::default().force(false).build();
            let _ = docker.remove_image(old, Some(options), None).await;
        }
    }
    Ok(Built {
        hash: prepared.hash,
        id,
        size: image.size,
    })
}

/// An image podlife has no recipe for: present → done, else pull it.
async fn ensure_pulled(
    docker: &Docker,
    image: &str,
    progress: Progress<'_>,
    fetching: &(dyn Fn() + Sync),
) -> Result<Fetched, ImageError> {
    let lock = lock_for(&normalize(image));
    let _serialised = lock.lock().await;
    if inspect(docker, image).await?.is_some() {
        return Ok(Fetched::Present);
    }
    fetching();
    pull(docker, image, progress).await?;
    match inspect(docker, image).await? {
        Some(_) => Ok(Fetched::Fetched),
        None => Err(ImageError::Unavailable {
            image: image.to_owned(),
            reason: "the pull finished, but the image is not there".into(),
            no_registry: false,
        }),
    }
}

/// Whether a pull error means that no registry could be reached at all.
fn is_unreachable(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "no such host",
        "dial tcp",
        "connection refused",
        "i/o timeout",
        "network is unreachable",
        "tls handshake timeout",
        "client.timeout",
        "server misbehaving",
        "temporary failure in name resolution",
        "no route to host",
        "connection reset",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

async fn pull(docker: &Docker, image: &str, progress: Progress<'_>) -> Result<(), ImageError> {
    let (repo, tag) = split_reference(image);
    let mut options = CreateImageOptionsBuilder::default().from_image(&repo);
    if let Some(tag) = &tag {
        options = options.tag(tag);
    }
    progress(&format!("pulling {image}"));
    let mut stream = docker.create_image(Some(options.build()), None, None);
    let mut last: HashMap<String, String> = HashMap::new();
    let mut wait = PULL_FIRST_ANSWER;
    loop {
        let item = match tokio::time::timeout(wait, stream.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => return Ok(()),
            Err(_) => {
                return Err(ImageError::Unavailable {
                    image: image.to_owned(),
                    reason: format!("no answer from the registry within {}s", wait.as_secs()),
                    no_registry: true,
                });
            }
        };
        wait = PULL_STALL;
        match item {
            Ok(info) => {
                let status = info.status.unwrap_or_default();
                let layer = info.id.unwrap_or_default();
                if !status.is_empty() && last.get(&layer) != Some(&status) {
                    if layer.is_empty() {
                        progress(&format!("pulling {image}: {status}"));
                    } else {
                        progress(&format!("pulling {image}: {layer}: {status}"));
                    }
                    last.insert(layer, status);
                }
            }
            Err(e) => {
                let reason = match e {
                    DockerError::DockerStreamError { error } => error,
                    DockerError::DockerResponseServerError { message, .. } => message,
                    other => other.to_string(),
                };
                return Err(ImageError::Unavailable {
                    image: image.to_owned(),
                    no_registry: is_unreachable(&reason),
                    reason,
                });
            }
        }
    }
}

/// Whether one recipe's image is in the local Docker, for `podlife images list`.
#[derive(Debug, Clone)]
pub struct ImageStatus {
    pub recipe: &'static Recipe,
    pub presence: Presence,
    /// The image id (`sha256:…`) under the recipe's name (or its first present reference).
    pub id: Option<String>,
    /// Its size in bytes.
    pub size: Option<i64>,
}

/// Whether a recipe's image is present, and built from the current recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Missing,
    /// Present under some names but not all.
    Partial,
    UpToDate,
    /// Built from an older recipe: `ensure` and `build` rebuild it.
    Outdated,
    /// Present, but its recipe's inputs are not at hand to check it (the reason).
    Unchecked(String),
    /// Its names hold images podlife did not build.
    NotOurs,
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Presence::Missing => f.write_str("missing"),
            Presence::Partial => f.write_str("partly tagged"),
            Presence::UpToDate => f.write_str("up to date"),
            Presence::Outdated => f.write_str("outdated"),
            Presence::Unchecked(_) => f.write_str("present (unchecked)"),
            Presence::NotOurs => f.write_str("present, not podlife's"),
        }
    }
}

/// The local state of every recipe's image. Nothing is compiled to check it: an image whose
/// inputs are not at hand (the static testapp not built yet) is reported unchecked.
pub async fn status(docker: &Docker) -> Result<Vec<ImageStatus>, ImageError> {
    let quiet = |_: &str| {};
    let mut statuses = Vec::new();
    for recipe in recipes::all() {
        let mut found = Vec::new();
        for reference in recipe.references() {
            found.push(inspect(docker, reference).await?);
        }
        let first = found.iter().flatten().next();
        let (id, size) = (first.and_then(|i| i.id.clone()), first.and_then(|i| i.size));
        let presence = if first.is_none() {
            Presence::Missing
        } else if !found.iter().flatten().any(is_ours) {
            Presence::NotOurs
        } else {
            match prepare(recipe, false, &quiet).await {
                Err(e) => Presence::Unchecked(e.to_string()),
                Ok(prepared) => {
                    let current = found
                        .iter()
                        .flatten()
                        .filter(|i| is_ours(i))
                        .all(|i| label(i, HASH_LABEL) == Some(prepared.hash.as_str()));
                    if !current {
                        Presence::Outdated
                    } else if found.iter().any(Option::is_none) {
                        Presence::Partial
                    } else {
                        Presence::UpToDate
                    }
                }
            }
        };
        statuses.push(ImageStatus {
            recipe,
            presence,
            id,
            size,
        });
    }
    Ok(statuses)
}

/// The statically linked `testapp` on this machine (built into `target/static` first when
/// needed): the program the process runtime runs where a manifest says `testapp`, and what
/// the testapp image contains.
pub async fn static_testapp(progress: Progress<'_>) -> Result<std::path::PathBuf, ImageError> {
    context::testapp_path(TESTAPP_IMAGE, true, progress).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised_like_docker_does() {
        assert_eq!(normalize("busybox"), "busybox:latest");
        assert_eq!(normalize("docker.io/library/busybox"), "busybox:latest");
        assert_eq!(normalize("library/busybox:1.36"), "busybox:1.36");
        assert_eq!(normalize("localhost:5000/web"), "localhost:5000/web:latest");
        assert_eq!(normalize("web:apache"), "web:apache");
        assert_eq!(normalize("x@sha256:abc"), "x@sha256:abc");
        assert_eq!(
            split_reference("localhost:5000/web:apache"),
            ("localhost:5000/web".into(), Some("apache".into()))
        );
        assert_eq!(
            split_reference("nosuch/image"),
            ("nosuch/image".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("x@sha256:abc"),
            ("x@sha256:abc".into(), None)
        );
    }

    #[test]
    fn recipes_cover_the_runtime_and_the_seed_fixtures() {
        for image in [
            PAUSE_IMAGE,
            TESTAPP_IMAGE,
            "testapp:latest",
            "busybox",
            "docker.io/library/busybox:latest",
            BUSYBOX_IMAGE,
            "sample:v2",
            "web:apache",
            "centos:nginx",
        ] {
            assert!(recipe_for(image).is_some(), "{image}");
        }
        assert!(recipe_for("busybox:1.36").is_none());
        assert!(recipe_for("nginx").is_none());
        assert_eq!(recipe_for("busybox").unwrap().name, "busybox:latest");
    }

    #[test]
    fn every_base_comes_first_and_every_image_is_labelled_ours() {
        let all = recipes();
        for (i, recipe) in all.iter().enumerate() {
            if let Some(base) = recipe.base {
                let at = all
                    .iter()
                    .position(|r| r.references().any(|n| n == base))
                    .expect("base is a recipe");
                assert!(at < i, "{} is built before its base", recipe.name);
                assert!(
                    recipe.dockerfile.contains(&format!("\nFROM {base}\n")),
                    "{}",
                    recipe.name
                );
            } else {
                assert!(recipe.dockerfile.contains("\nFROM scratch\n"));
            }
            assert!(!recipe.dockerfile.contains("# syntax="));
        }
    }

    #[test]
    fn select_names_recipes_in_build_order() {
        let names = |only: &[&str]| {
            let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
            select(&only).map(|rs| rs.iter().map(|r| r.name).collect::<Vec<_>>())
        };
        assert_eq!(names(&[]).unwrap().len(), recipes().len());
        assert_eq!(
            names(&["centos:nginx", "busybox"]).unwrap(),
            ["busybox:latest", "centos:nginx"]
        );
        let err = names(&["nginx:1"]).unwrap_err().to_string();
        assert!(
            err.contains("`nginx:1`") && err.contains("web:apache"),
            "{err}"
        );
    }

    #[test]
    fn the_no_registry_error_says_how_to_provide_the_image() {
        let err = ImageError::Unavailable {
            image: "nosuch/image:1".into(),
            reason: "dial tcp: lookup registry-1.docker.io: no such host".into(),
            no_registry: is_unreachable("dial tcp: lookup registry-1.docker.io: no such host"),
        };
        let text = err.to_string();
        for needle in [
            "`nosuch/image:1`",
            "no registry is reachable",
            "docker load",
            "docker build -t nosuch/image:1",
            "podlife images build",
        ] {
            assert!(text.contains(needle), "{needle} missing from: {text}");
        }
        assert!(!is_unreachable("pull access denied for nosuch/image"));
    }
}
