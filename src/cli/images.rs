//! `podlife images`: build and list the images podlife builds itself for the Docker runtime.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use crate::images::{self, BuildOutcome, ImageError, Presence};

/// Build and list the container images podlife builds itself (no registry needed): busybox,
/// the pod sandbox, testapp, and the seed article's sample:v2, web:apache and centos:nginx.
///
/// They are built with the local Docker engine's classic builder from Debian's busybox-static
/// (/bin/busybox, or $PODLIFE_BUSYBOX) and a statically linked testapp
/// ($PODLIFE_TESTAPP_STATIC, or compiled from the podlife source tree). The Docker runtime
/// builds what it needs by itself; this command builds ahead of time, or again.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  podlife images build\n  podlife images build --force web:apache\n  podlife images list\n\nExit status: 0 success, 1 a build failed or Docker is unreachable, 2 usage error."
)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub command: ImagesCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build every image (or those named), skipping those built from the current recipe.
    Build(BuildArgs),
    /// List the images podlife can build, and whether each is in the local Docker.
    List,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Rebuild even images that are up to date (without the builder's cache).
    #[arg(long)]
    pub force: bool,

    /// Do not show progress (what is being compiled and built) on stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// Images to build, as manifests name them (busybox, web:apache, …); all when none.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

pub fn run(args: &ImagesArgs) -> i32 {
    // Unknown names are usage errors, found before Docker is asked anything.
    if let ImagesCommand::Build(build) = &args.command
        && let Err(e) = images::select(&build.names)
    {
        eprintln!("podlife: {e}");
        return EXIT_USAGE;
    }
    let tokio = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("podlife: cannot start the async runtime: {e}");
            return EXIT_INVALID;
        }
    };
    let result = tokio.block_on(async {
        let docker = images::connect().await?;
        match &args.command {
            ImagesCommand::Build(build) => run_build(&docker, build).await,
            ImagesCommand::List => run_list(&docker).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("podlife: {e}");
            EXIT_INVALID
        }
    }
}

async fn run_build(docker: &bollard::Docker, args: &BuildArgs) -> Result<i32, ImageError> {
    let quiet = args.quiet;
    let progress = move |line: &str| {
        if !quiet {
            eprintln!("  {line}");
        }
    };
    let width = images::select(&args.names)?
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    let done = |outcome: &BuildOutcome| println!("{}", build_line(outcome, width));
    images::build_report(docker, &args.names, args.force, &progress, &done).await?;
    Ok(EXIT_OK)
}

fn build_line(outcome: &BuildOutcome, width: usize) -> String {
    let mut line = format!(
        "{:<width$}  {:<10}  {:>5}",
        outcome.name,
        outcome.status.word(),
        seconds(outcome.elapsed),
    );
    if let Some(id) = &outcome.id {
        line.push_str(&format!("  {}", short_id(id)));
    }
    if let Some(size) = outcome.size {
        line.push_str(&format!("  {:>7}", megabytes(size)));
    }
    if let Some(reason) = outcome.status.reason() {
        line.push_str(&format!("  ({reason})"));
    }
    line
}

async fn run_list(docker: &bollard::Docker) -> Result<i32, ImageError> {
    let statuses = images::status(docker).await?;
    let rows: Vec<[String; 6]> = statuses
        .iter()
        .map(|s| {
            [
                s.recipe.name.to_owned(),
                s.recipe.also.join(", "),
                s.presence.to_string(),
                s.id.as_deref().map(short_id).unwrap_or_default(),
                s.size.map(megabytes).unwrap_or_default(),
                s.recipe.about.to_owned(),
            ]
        })
        .collect();
    let header = ["IMAGE", "ALSO", "STATUS", "ID", "SIZE", "WHAT"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", line.trim_end());
    }
    for s in &statuses {
        if let Presence::Unchecked(why) = &s.presence {
            println!(
                "note: {} cannot be checked against its recipe: {why}",
                s.recipe.name
            );
        }
    }
    let missing = statuses
        .iter()
        .filter(|s| !matches!(s.presence, Presence::UpToDate | Presence::NotOurs))
        .count();
    if missing > 0 {
        println!(
            "{missing} of {} not up to date: `podlife images build` builds them (the Docker runtime also does, when it needs them)",
            statuses.len()
        );
    }
    Ok(EXIT_OK)
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
