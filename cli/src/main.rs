//! `kitsu`: the command-line tool of libkitsu. Everything is in the
//! `kitsu_cli` library, so that its tests can use the same code.

fn main() -> std::process::ExitCode {
    kitsu_cli::main()
}
