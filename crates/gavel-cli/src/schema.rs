//! `gavel schema import FILE [--from mcp|openai|jsonschema] [--merge POLFILE]` (PRODUCT.md
//! §4.3). In: a file of tool definitions (`-` reads stdin). Out: `tool` declarations
//! (`gavel_adapters::schema`): on stdout (or `--output FILE`) as a whole policy file with a
//! header; with `--merge`, the tools POLFILE does not declare yet appended to it, its own
//! text left byte for byte. Exit 0, or 2 with an error naming the file and the path in it.

use clap::{Args, Subcommand, ValueEnum};
use gavel_adapters::schema::{import, ImportOptions, SchemaForm};
use std::io::{Read, Write};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum SchemaCommand {
    /// Write `tool` declarations from MCP, OpenAI or JSON Schema tool definitions
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The tool definitions (JSON); `-` reads stdin
    file: PathBuf,
    /// The form of FILE (guessed from its shape when omitted)
    #[arg(long, value_enum)]
    from: Option<From>,
    /// Append the tools this `.pol` file does not declare yet; its own declarations are kept
    #[arg(long, value_name = "POLFILE", conflicts_with = "output")]
    merge: Option<PathBuf>,
    /// Write the policy here instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The policy name of the header [default: FILE's name]
    #[arg(long)]
    policy: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum From {
    Mcp,
    Openai,
    Jsonschema,
}

pub fn run(command: &SchemaCommand) -> u8 {
    match command {
        SchemaCommand::Import(a) => match import_file(a) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
    }
}

fn import_file(a: &ImportArgs) -> Result<(), String> {
    let shown = a.file.display();
    let mut json = String::new();
    if a.file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut json).map_err(|e| format!("cannot read stdin: {e}"))?;
    } else {
        json = std::fs::read_to_string(&a.file).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    }
    let existing = match &a.merge {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?),
        None => None,
    };
    let stem = a.file.file_stem().and_then(|s| s.to_str()).filter(|s| *s != "-").unwrap_or("tools");
    let options = ImportOptions {
        from: a.from.map(|f| match f {
            From::Mcp => SchemaForm::Mcp,
            From::Openai => SchemaForm::OpenAi,
            From::Jsonschema => SchemaForm::JsonSchema,
        }),
        policy: a.policy.as_deref().unwrap_or(stem),
        existing: existing.as_deref(),
        single_name: stem,
    };
    let imported = import(&json, &options).map_err(|e| format!("`{shown}`: {e}"))?;
    for kept in &imported.kept {
        eprintln!("kept: `{kept}` is already declared");
    }
    match (&a.merge, &a.output) {
        (Some(p), _) => {
            let mut text = imported.text;
            if existing.as_deref().is_some_and(|e| !e.is_empty() && !e.ends_with('\n')) {
                text.insert(0, '\n');
            }
            let mut f = std::fs::OpenOptions::new().append(true).open(p).map_err(|e| format!("cannot write `{}`: {e}", p.display()))?;
            f.write_all(text.as_bytes()).map_err(|e| format!("cannot write `{}`: {e}", p.display()))?;
            eprintln!("added {} tool(s) to `{}`", imported.declared.len(), p.display());
        }
        (None, Some(p)) => std::fs::write(p, &imported.text).map_err(|e| format!("cannot write `{}`: {e}", p.display()))?,
        (None, None) => std::io::stdout().write_all(imported.text.as_bytes()).map_err(|e| format!("cannot write stdout: {e}"))?,
    }
    Ok(())
}
