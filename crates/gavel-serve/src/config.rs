//! The service's TOML config (`--config gavel.toml`, PRODUCT.md §4.1). In: the file's text and
//! the environment (for `token_env`). Out: [`Config`] — the tokens and `approval_ttl` — or an
//! error naming the file and the entry.

use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// Who a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// May call `/v1/decide` (and `/v1/status`).
    Agent,
    /// May list, approve and reject approvals.
    Reviewer,
}

/// One `[[tokens]]` entry, its secret resolved.
#[derive(Debug, Clone)]
pub struct Token {
    /// The bearer token itself.
    pub secret: String,
    /// Agent or reviewer.
    pub kind: Kind,
    /// The caller's identity: an agent's `agent.id`, a reviewer's name in the log.
    pub name: String,
    /// A reviewer's roles: which approvals it may grant.
    pub roles: Vec<String>,
    /// An agent token that may speak for any `agent.id` (a gateway).
    pub any_agent: bool,
}

/// The service's TOML config (docs/serve.md): its tokens and how long approvals live.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every token, agents' and reviewers'.
    pub tokens: Vec<Token>,
    /// How long an approval stays pending before it expires.
    pub approval_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { tokens: Vec::new(), approval_ttl: Duration::from_secs(DEFAULT_TTL) }
    }
}

const DEFAULT_TTL: u64 = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    approval_ttl: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: Option<String>,
    token_env: Option<String>,
    kind: Kind,
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    any_agent: bool,
}

impl Config {
    /// Reads and checks the config file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the config `{}`: {e}", path.display()))?;
        Config::parse(&text, |name| std::env::var(name).ok()).map_err(|e| format!("the config `{}`: {e}", path.display()))
    }

    /// Parses a config's text; `env` reads an environment variable (for `token_env`).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        let mut tokens = Vec::new();
        for (i, t) in file.tokens.into_iter().enumerate() {
            let at = format!("`tokens[{i}]` (`{}`)", t.name);
            let secret = match (t.token, t.token_env) {
                (Some(s), None) => s,
                (None, Some(var)) => env(&var).ok_or_else(|| format!("{at}: the environment variable `{var}` is not set"))?,
                _ => return Err(format!("{at}: give exactly one of `token` and `token_env`")),
            };
            if secret.len() < 16 {
                return Err(format!("{at}: the token is shorter than 16 characters; use a long random one"));
            }
            if t.name.is_empty() {
                return Err(format!("`tokens[{i}]`: `name` is empty"));
            }
            if t.any_agent && t.kind != Kind::Agent {
                return Err(format!("{at}: `any_agent` is for agent tokens"));
            }
            if tokens.iter().any(|o: &Token| o.secret == secret) {
                return Err(format!("{at}: the same token is given twice"));
            }
            tokens.push(Token { secret, kind: t.kind, name: t.name, roles: t.roles, any_agent: t.any_agent });
        }
        let ttl = file.approval_ttl.unwrap_or(DEFAULT_TTL);
        if ttl == 0 {
            return Err("`approval_ttl` is 0: approvals would expire at once; give seconds, e.g. 300".into());
        }
        Ok(Config { tokens, approval_ttl: Duration::from_secs(ttl) })
    }

    /// The token with this secret, compared in constant time over every configured token.
    pub fn token(&self, secret: &str) -> Option<&Token> {
        let mut found = None;
        for t in &self.tokens {
            if constant_time_eq(t.secret.as_bytes(), secret.as_bytes()) {
                found = Some(t);
            }
        }
        found
    }
}

/// Equality whose time depends on the lengths only, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef";

    #[test]
    fn tokens_and_ttl() {
        let text = format!(
            "approval_ttl = 60\n[[tokens]]\ntoken = \"{T}\"\nkind = \"agent\"\nname = \"agent-7\"\n\n[[tokens]]\ntoken_env = \"REV\"\nkind = \"reviewer\"\nname = \"ana\"\nroles = [\"treasurer\"]\n"
        );
        let c = Config::parse(&text, |v| (v == "REV").then(|| "fedcba9876543210".to_string())).expect("parses");
        assert_eq!(c.approval_ttl, Duration::from_secs(60));
        assert_eq!(c.token(T).map(|t| (t.kind, t.name.as_str(), t.any_agent)), Some((Kind::Agent, "agent-7", false)));
        assert_eq!(c.token("fedcba9876543210").map(|t| t.roles.clone()), Some(vec!["treasurer".to_string()]));
        assert!(c.token("fedcba987654321").is_none());
        assert!(c.token("").is_none());
    }

    #[test]
    fn defaults() {
        let c = Config::parse("", |_| None).expect("parses");
        assert!(c.tokens.is_empty());
        assert_eq!(c.approval_ttl, Duration::from_secs(300));
    }

    #[test]
    fn errors_name_the_entry() {
        let bad = |text: &str| Config::parse(text, |_| None).expect_err(text);
        assert!(bad("[[tokens]]\nkind = \"agent\"\nname = \"a\"\n").contains("exactly one of"));
        assert!(bad("[[tokens]]\ntoken_env = \"NOPE\"\nkind = \"agent\"\nname = \"a\"\n").contains("`NOPE` is not set"));
        assert!(bad("[[tokens]]\ntoken = \"short\"\nkind = \"agent\"\nname = \"a\"\n").contains("shorter than 16"));
        assert!(bad(&format!("[[tokens]]\ntoken = \"{T}\"\nkind = \"admin\"\nname = \"a\"\n")).contains("admin"));
        assert!(bad(&format!("[[tokens]]\ntoken = \"{T}\"\nkind = \"reviewer\"\nname = \"a\"\nany_agent = true\n")).contains("for agent tokens"));
        assert!(bad(&format!("[[tokens]]\ntoken = \"{T}\"\nkind = \"agent\"\nname = \"a\"\n[[tokens]]\ntoken = \"{T}\"\nkind = \"agent\"\nname = \"b\"\n"))
            .contains("twice"));
        assert!(bad("approval_ttl = 0\n").contains("approval_ttl"));
        assert!(bad("tokenz = []\n").contains("tokenz"));
    }
}
