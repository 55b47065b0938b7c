//! `gavel fmt PATH... [--check]` (PRODUCT.md §2). In: `.pol` files and directories (read
//! recursively). Out: each file rewritten in place in the canonical layout
//! (`gavel::syntax::format`, docs/language.md "Formatting"); with `--check`, nothing
//! written: the files that would change are listed and the exit code is 1. A file that does
//! not parse is reported with its diagnostics and never rewritten (exit 1); a path that
//! cannot be read or written is exit 2.

use clap::Args;
use gavel::syntax::format::format_source;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct FmtArgs {
    /// `.pol` files or directories (read recursively)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write nothing: list the files that are not formatted and exit 1 if there is any
    #[arg(long)]
    check: bool,
}

pub fn run(args: &FmtArgs) -> u8 {
    let mut files = Vec::new();
    for p in &args.paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("error: cannot read `{}`: {e}", p.display());
            return 2;
        }
    }
    let color = std::io::stderr().is_terminal();
    let (mut unformatted, mut broken, mut io_errors) = (0, 0, 0);
    for file in &files {
        let shown = file.display().to_string();
        let src = match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(_) => {
                    eprintln!("error: `{shown}` is not UTF-8 text; it is left as it is");
                    broken += 1;
                    continue;
                }
            },
            Err(e) => {
                eprintln!("error: cannot read `{shown}`: {e}");
                io_errors += 1;
                continue;
            }
        };
        let formatted = match format_source(&shown, &src) {
            Ok(f) => f,
            Err(d) => {
                for item in &d.items {
                    eprint!("{}", gavel::diagnostics::render(item, &d.sources, color));
                }
                eprintln!("error: `{shown}` does not parse; it is left as it is");
                broken += 1;
                continue;
            }
        };
        if formatted == src {
            continue;
        }
        unformatted += 1;
        if args.check {
            // A closed stdout (`| head`) is not an error of the formatting.
            let _ = writeln!(std::io::stdout(), "{shown}");
        } else if let Err(e) = std::fs::write(file, formatted) {
            eprintln!("error: cannot write `{shown}`: {e}");
            io_errors += 1;
        }
    }
    if args.check && unformatted > 0 {
        eprintln!(
            "{unformatted} file{} not formatted; run `gavel fmt` on {}",
            if unformatted == 1 { " is" } else { "s are" },
            if unformatted == 1 { "it" } else { "them" }
        );
    }
    if io_errors > 0 {
        2
    } else if broken > 0 || (args.check && unformatted > 0) {
        1
    } else {
        0
    }
}

/// The `.pol` files of `path` (itself when a file), sorted within each directory.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !std::fs::metadata(path)?.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if std::fs::symlink_metadata(&p)?.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "pol") {
            out.push(p);
        }
    }
    Ok(())
}
