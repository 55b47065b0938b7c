//! The streamable-HTTP transport: the proxy listens on an address and relays every request
//! (any path, any method) to one upstream MCP endpoint. In: the guard, the upstream URL, the
//! listening address. Out: serves until the process is stopped. A `POST` body is decided as
//! one message (`Guard::on_message`): passed on as sent, rewritten, or answered by the proxy
//! with `application/json`; `GET` (the server's event stream) and `DELETE` (the session's
//! end) pass through. Headers pass through except the hop-by-hop ones; the upstream's answer
//! (JSON or an event stream) is streamed back as it comes.

use crate::{Action, Guard};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;

/// The HTTP client of the relay and of the approval service.
pub type Client = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> Client {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

/// Largest request body relayed (a `tools/call` beyond the policy's limit is denied anyway).
const MAX_BODY: usize = 16 << 20;

struct Relay {
    guard: Arc<Guard>,
    upstream: hyper::Uri,
    client: Client,
}

/// Headers that belong to one connection, not to the message.
fn hop_by_hop(name: &header::HeaderName) -> bool {
    matches!(name.as_str(), "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade" | "te" | "trailer" | "host" | "content-length")
}

/// Checks `upstream` and binds `listen`; the future serves until dropped.
pub async fn run(guard: Arc<Guard>, upstream: &str, listen: &str) -> Result<(), String> {
    let upstream: hyper::Uri = upstream.parse().map_err(|e| format!("`--upstream {upstream}` is not a URL: {e}"))?;
    if upstream.scheme_str() != Some("http") {
        return Err(format!("`--upstream {upstream}`: only `http://` upstreams are supported"));
    }
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on `{listen}`: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("gavel mcp-proxy: listening on http://{addr}, relaying to {upstream}");
    let relay = Arc::new(Relay { guard, upstream, client: client() });
    let app = axum::Router::new().fallback(relay_one).with_state(relay);
    axum::serve(listener, app).await.map_err(|e| format!("the proxy failed: {e}"))
}

fn plain(status: StatusCode, text: String) -> Response {
    (status, text).into_response()
}

async fn relay_one(State(relay): State<Arc<Relay>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return plain(StatusCode::PAYLOAD_TOO_LARGE, format!("gavel mcp-proxy: the request body could not be read: {e}")),
    };
    let body = if parts.method == axum::http::Method::POST && !body.is_empty() {
        match relay.guard.on_message(&body).await {
            Action::Pass => body,
            Action::Replace(bytes) => Bytes::from(bytes),
            Action::Answer(bytes) => return ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response(),
            // A notification answered by no one: accepted, as a server would.
            Action::Drop => return StatusCode::ACCEPTED.into_response(),
        }
    } else {
        body
    };
    let mut forward = hyper::Request::builder().method(parts.method).uri(relay.upstream.clone());
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            forward = forward.header(name, value);
        }
    }
    let forward = match forward.body(Full::new(body)) {
        Ok(f) => f,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("gavel mcp-proxy: {e}")),
    };
    match relay.client.request(forward).await {
        Ok(answer) => {
            let (parts, incoming) = answer.into_parts();
            let mut response = Response::new(Body::new(incoming));
            *response.status_mut() = parts.status;
            for (name, value) in &parts.headers {
                if !hop_by_hop(name) {
                    response.headers_mut().append(name, value.clone());
                }
            }
            response
        }
        Err(e) => plain(StatusCode::BAD_GATEWAY, format!("gavel mcp-proxy: the upstream server could not be reached: {e}")),
    }
}
