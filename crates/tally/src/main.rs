//! The `tally` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    tally::cli::main()
}
