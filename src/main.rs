//! The `podlife` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() {
    let cli = podlife::cli::Cli::parse();
    std::process::exit(podlife::cli::run(cli));
}
