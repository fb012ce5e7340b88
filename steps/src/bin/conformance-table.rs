//! Prints, writes or checks the README's lifecycle-feature × runtime table from the results
//! the last test run recorded (`podlife::conformance`), so that the table is never typed by
//! hand.
//!
//! ```text
//! cargo run -p podlife-steps --bin conformance-table                     # print it
//! cargo run -p podlife-steps --bin conformance-table -- --write README.md
//! cargo run -p podlife-steps --bin conformance-table -- --check README.md # exit 1 if stale
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use podlife::conformance;

#[derive(Parser)]
#[command(about = "The lifecycle-feature × runtime table, from the recorded test results")]
struct Args {
    /// Replace the table between the markers in this file.
    #[arg(long, conflicts_with = "check")]
    write: Option<PathBuf>,
    /// Exit with 1 when the table in this file differs from the results.
    #[arg(long)]
    check: Option<PathBuf>,
    /// The results file (default: target/conformance/results.jsonl).
    #[arg(long)]
    results: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let results = args.results.unwrap_or_else(conformance::results_path);
    let outcomes = match conformance::load(&results) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            eprintln!(
                "conformance-table: cannot read {}: {e} (run `cargo test` first)",
                results.display()
            );
            return ExitCode::from(2);
        }
    };
    let table = conformance::table(&outcomes);
    let Some(path) = args.write.as_ref().or(args.check.as_ref()) else {
        print!("{table}");
        return ExitCode::SUCCESS;
    };
    let document = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("conformance-table: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let Some(updated) = conformance::splice(&document, &table) else {
        eprintln!(
            "conformance-table: {} has no table markers; put these two lines where it goes:\n{}\n{}",
            path.display(),
            conformance::BEGIN_MARKER,
            conformance::END_MARKER
        );
        return ExitCode::from(2);
    };
    if args.check.is_some() {
        if updated == document {
            println!(
                "{}: the conformance table matches the test results",
                path.display()
            );
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "{}: the conformance table differs from the test results; these are the results:\n{table}\nupdate it with `cargo run -p podlife-steps --bin conformance-table -- --write {}`",
            path.display(),
            path.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(path, updated) {
        eprintln!("conformance-table: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    println!("{}: conformance table written", path.display());
    ExitCode::SUCCESS
}
