//! Prints the ratio tables from the last `cargo bench` run. In: criterion's estimates under
//! `target/criterion` (or `$CRITERION_HOME`, or the directory given as the argument). Out:
//! Markdown on stdout, as pasted into docs/performance.md.

fn main() {
    let dir = std::env::args_os().nth(1).map(std::path::PathBuf::from).unwrap_or_else(gavel_peers::report::criterion_dir);
    if !dir.is_dir() {
        eprintln!("error: no criterion results in `{}`; run `cargo bench --manifest-path benches/peers/Cargo.toml` first", dir.display());
        std::process::exit(2);
    }
    print!("{}", gavel_peers::report::tables(&dir));
}
