//! `gavel mcp-proxy` (PRODUCT.md §4.3): an MCP relay that decides every `tools/call` before
//! the server sees it. In: a [`Guard`] (an engine, the envelope fields, the decision log, how
//! to answer a refusal, optionally a `gavel serve` for approvals) and a transport: a child
//! process spoken to over stdio ([`stdio::run`]) or an upstream streamable-HTTP server
//! relayed from a listening address ([`http::run`]). Out: the client's messages reach the
//! server byte for byte, except `tools/call` requests: allowed ones are forwarded (re-encoded
//! only when `redact`/`set` changed their arguments), refused ones never reach the server and
//! are answered by the proxy (`isError` result, or JSON-RPC error -32001 with
//! `DenyAs::Error`). The server's messages reach the client unchanged. Every decision is a
//! line in the decision log (the §4.1 format) before the call is forwarded or answered.
//!
//! Why a relay and not the `rmcp` SDK, on both sides: the proxy only needs to recognise one
//! request and rewrite one field of it. Terminating MCP with an SDK on each side would decode
//! every message into typed structs and encode it again, dropping or reordering what the SDK
//! does not model (newer protocol revisions, `_meta` extensions, vendor fields), and would
//! make the proxy negotiate capabilities, sessions and protocol versions itself — a second
//! implementation that can disagree with the two real ones. A relay that reads only
//! `method` and `id` (`jsonrpc.rs`) is protocol-version agnostic: the client and the server
//! negotiate with each other as if the proxy were not there.
//!
//! Modules: `jsonrpc` (what a message is; the proxy's own answers), `text` (the reasons a
//! refusal gives), `service` (the `gavel serve` approval client), `guard` (deciding one
//! message), `stdio` and `http` (the transports).
//!
//! *Invariant* (fail closed): a `tools/call` is forwarded only after an `allow` was decided
//! and logged; any fault on the way (a message that cannot be read, a policy error, the log
//! or the approval service failing, a panic while deciding) answers it as denied.

mod guard;
pub mod http;
mod jsonrpc;
mod service;
pub mod stdio;

pub use guard::{Action, DenyAs, Guard, GuardOptions};
pub use service::ApprovalService;
