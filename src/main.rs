//! The `fwkit` command: parse arguments, run, map the outcome to an exit code.
//!
//! Exit codes (chosen in `cli::Code`): 0 verified (or done), 1 not verified,
//! 2 usage error or input that cannot be read or recognised.

mod cli;

use std::process::ExitCode;

/// mimalloc for the many small allocations of a many-member package (see
/// Cargo.toml): `bench/run.sh --many` zip verify took 233 ms with glibc's
/// malloc and 175 ms with this one, the code otherwise the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::args::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(err) => {
            let code = cli::Code::of_error(&err);
            if code == cli::Code::Error {
                // The one place an error is printed: its chain, once.
                let mut text = format!("error: {err}");
                for cause in err.chain().skip(1) {
                    text.push_str(&format!("\n  caused by: {cause}"));
                }
                eprintln!("{text}");
            }
            code.into()
        }
    }
}
