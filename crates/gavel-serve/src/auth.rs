//! Who is calling (PRODUCT.md §4.1 tokens). In: the `Authorization: Bearer` header and the
//! configured tokens. Out: a [`Caller`], or the 401 (missing or unknown token) / 403 (a token
//! of the wrong kind, an agent speaking for another agent) to answer.
//!
//! With no tokens configured the service is open — only on loopback, which `serve` checks
//! at start — to agents (any `agent.id`), and nobody is a reviewer: nobody can list, approve
//! or reject approvals, or reload over HTTP (SIGHUP and file changes still reload).

use crate::config::{Kind, Token};
use crate::{json_error, Answer};
use axum::http::{header, HeaderMap, StatusCode};

/// The caller of one request.
#[derive(Clone, Debug)]
pub enum Caller {
    /// No tokens are configured.
    Open,
    Token(Token),
}

/// What a route needs of its caller.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Agent,
    Reviewer,
    /// Any token (an agent or a reviewer).
    Any,
}

pub fn caller(config: &crate::config::Config, headers: &HeaderMap, need: Need) -> Result<Caller, Answer> {
    if config.tokens.is_empty() {
        return match need {
            Need::Reviewer => Err(json_error(StatusCode::FORBIDDEN, "no reviewer token is configured: nobody can approve, reject or reload over HTTP")),
            Need::Agent | Need::Any => Ok(Caller::Open),
        };
    }
    let secret = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    let Some(secret) = secret else { return Err(unauthorized("missing token: send `Authorization: Bearer TOKEN`")) };
    let Some(token) = config.token(secret) else { return Err(unauthorized("unknown token")) };
    let fits = match need {
        Need::Agent => token.kind == Kind::Agent,
        Need::Reviewer => token.kind == Kind::Reviewer,
        Need::Any => true,
    };
    if !fits {
        let want = if need == Need::Agent { "an agent" } else { "a reviewer" };
        return Err(json_error(StatusCode::FORBIDDEN, &format!("this route needs {want} token; `{}` is not one", token.name)));
    }
    Ok(Caller::Token(token.clone()))
}

fn unauthorized(message: &str) -> Answer {
    let mut answer = json_error(StatusCode::UNAUTHORIZED, message);
    answer.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    answer
}

impl Caller {
    /// `None` when this caller may send a call as `agent_id`; else the 403 to answer. An agent
    /// token's name is its identity, unless it says `any_agent`.
    pub fn may_speak_for(&self, agent_id: Option<&str>) -> Option<Answer> {
        match self {
            Caller::Open => None,
            Caller::Token(t) if t.any_agent || agent_id == Some(t.name.as_str()) => None,
            Caller::Token(t) => Some(json_error(
                StatusCode::FORBIDDEN,
                &format!(
                    "the token `{}` may only send calls as `agent.id` \"{}\", this one is {}; a gateway's token needs `any_agent = true`",
                    t.name,
                    t.name,
                    agent_id.map_or("missing".to_string(), |a| format!("\"{a}\""))
                ),
            )),
        }
    }

    /// Whether this caller may read an approval asked by `agent`: a reviewer, the asking
    /// agent, a gateway's token, or anyone on an open service.
    pub fn may_read(&self, agent: &str) -> bool {
        match self {
            Caller::Open => true,
            Caller::Token(t) => t.kind == Kind::Reviewer || t.any_agent || t.name == agent,
        }
    }
}
