//! The `fwkit` command: parse arguments, run, map the outcome to an exit code.
//!
//! Exit codes: 0 verified (or done), 1 not verified, 2 usage error or input
//! that cannot be read or recognised.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::args::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut text = format!("error: {err}");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{text}");
            ExitCode::from(2)
        }
    }
}
