//! The `podlife` command line: one module per subcommand.

pub mod checks;
pub mod images;
pub mod monitor;
pub mod run;
pub mod validate;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit status: everything valid (warnings allowed).
pub const EXIT_OK: i32 = 0;
/// Exit status: a manifest is invalid or unreadable.
pub const EXIT_INVALID: i32 = 1;
/// Exit status: the command line itself is wrong (clap uses 2 as well).
pub const EXIT_USAGE: i32 = 2;

/// podlife runs Kubernetes pod manifests with the kubelet's lifecycle semantics — init
/// containers, postStart/preStop hooks, probes, graceful deletion, restart back-off — and
/// shows what happens, when.
#[derive(Debug, Parser)]
#[command(name = "podlife", version, propagate_version = true)]
#[command(after_help = "Exit status: 0 success, 1 invalid manifest or failed run, 2 usage error.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::ValidateArgs),
    Run(run::RunArgs),
    Images(images::ImagesArgs),
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Images(args) => images::run(&args),
    }
}
