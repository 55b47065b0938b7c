//! The `gavel serve` the proxy asks about approvals (`--server URL`). In: a decide body (the
//! MCP form with the envelope, and the remembered `approval_id` on a retry). Out: the
//! service's decision JSON (PRODUCT.md §4.1 `POST /v1/decide`), or why there is none (the
//! caller then denies).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Method, Request};
use serde_json::Value;
use std::time::Duration;

/// How long the service may take to answer one decide.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A `gavel serve` reached over plain HTTP (it listens on loopback by default).
pub struct ApprovalService {
    base: String,
    decide_url: hyper::Uri,
    token: Option<String>,
    client: crate::http::Client,
}

impl ApprovalService {
    /// `url` is the service's base (`http://127.0.0.1:8181`); `token` an agent token, sent as
    /// `Authorization: Bearer`.
    pub fn new(url: &str, token: Option<String>) -> Result<ApprovalService, String> {
        let base = url.trim_end_matches('/');
        let decide_url: hyper::Uri = format!("{base}/v1/decide").parse().map_err(|e| format!("`--server {url}` is not a URL: {e}"))?;
        if decide_url.scheme_str() != Some("http") {
            return Err(format!("`--server {url}`: only `http://` is supported (run the proxy beside `gavel serve`, or put a TLS terminator in front)"));
        }
        Ok(ApprovalService { base: base.to_string(), decide_url, token, client: crate::http::client() })
    }

    /// Asks the service to decide `body`.
    pub async fn decide(&self, body: Vec<u8>) -> Result<Value, String> {
        self.send(Method::POST, self.decide_url.clone(), body).await
    }

    /// The approval `id` as the service has it now (`status` tells whether it is still pending).
    pub async fn approval(&self, id: &str) -> Result<Value, String> {
        // An id is a UUID the service made; anything else is not asked about.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("`{id}` is not an approval id"));
        }
        let uri = format!("{}/v1/approvals/{id}", self.base).parse().map_err(|e| format!("bad approval URL: {e}"))?;
        self.send(Method::GET, uri, Vec::new()).await
    }

    async fn send(&self, method: Method, uri: hyper::Uri, body: Vec<u8>) -> Result<Value, String> {
        let mut request = Request::builder().method(method).uri(uri.clone()).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| format!("the request to the approval service could not be built: {e}"))?;
        let answer = async {
            let response = self.client.request(request).await.map_err(|e| format!("the approval service could not be reached at `{uri}`: {e}"))?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|e| format!("the approval service's answer could not be read: {e}"))?.to_bytes();
            let value: Value = serde_json::from_slice(&body).map_err(|_| format!("the approval service answered {status} with a body that is not JSON"))?;
            if !status.is_success() {
                let why = value.get("error").and_then(Value::as_str).unwrap_or("no reason given");
                return Err(format!("the approval service answered {status}: {why}"));
            }
            Ok(value)
        };
        tokio::time::timeout(TIMEOUT, answer).await.unwrap_or_else(|_| Err(format!("the approval service did not answer within {} s", TIMEOUT.as_secs())))
    }
}
