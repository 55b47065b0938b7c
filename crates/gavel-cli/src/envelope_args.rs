//! The envelope flags of the commands that sit where agents meet tools (`gavel hook`, `gavel
//! mcp-proxy`). In: `--agent`, `--user`, `--workspace`, `--environment` and `--envelope
//! FILE.json`. Out: the envelope fields every call is decided with (the call itself comes from
//! the agent).

use clap::Args;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Args)]
#[command(next_help_heading = "Envelope")]
pub struct EnvelopeArgs {
    /// `agent.id` of the envelope [default: `claude-code` for the hook, `mcp-proxy` for the proxy]
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// `user.id` of the envelope [default: $USER, else `local`]
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// `workspace` of the envelope (absent unless given)
    #[arg(long, value_name = "W")]
    workspace: Option<String>,
    /// `environment` of the envelope (absent unless given)
    #[arg(long, value_name = "E")]
    environment: Option<String>,
    /// A JSON object of other envelope fields, e.g. `context` (the flags above win)
    #[arg(long, value_name = "FILE.json")]
    envelope: Option<PathBuf>,
}

/// Fields of a call, never of the envelope file: they come from the agent.
const CALL_FIELDS: [&str; 6] = ["tool", "args", "mcp", "openai", "anthropic", "approval_id"];

impl EnvelopeArgs {
    /// The envelope fields: the file's, then the flags'; `agent` is `default_agent` unless given.
    pub fn fields(&self, default_agent: &str) -> Result<Map<String, Value>, String> {
        let mut out = match &self.envelope {
            None => Map::new(),
            Some(file) => read_file(file)?,
        };
        if let Some(key) = CALL_FIELDS.iter().find(|k| out.contains_key(**k)) {
            return Err(format!("`--envelope`: `{key}` is not an envelope field (the call comes from the agent)"));
        }
        let user = self.user.clone().or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty())).unwrap_or_else(|| "local".into());
        out.insert("agent".into(), json!({"id": self.agent.as_deref().unwrap_or(default_agent)}));
        out.insert("user".into(), json!({"id": user}));
        if let Some(w) = &self.workspace {
            out.insert("workspace".into(), json!(w));
        }
        if let Some(e) = &self.environment {
            out.insert("environment".into(), json!(e));
        }
        Ok(out)
    }
}

fn read_file(file: &std::path::Path) -> Result<Map<String, Value>, String> {
    let text = std::fs::read(file).map_err(|e| format!("cannot read `--envelope {}`: {e}", file.display()))?;
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("`--envelope {}` must hold a JSON object of envelope fields", file.display())),
        Err(e) => Err(format!("`--envelope {}` is not JSON: {e}", file.display())),
    }
}
