//! JSON requests inside a call (a composite's steps, a record read before a
//! download) and the blocking facade for any JSON route.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;

use super::call::{Call, TransferOptions};
use super::retry::{retrying, Idempotency};
use crate::client::{check_status, Auth, Client};
use crate::error::{Error, Result};

/// How safe a JSON request is to repeat, by its method: POST may create
/// something; GET, PUT and DELETE have the same effect when repeated.
pub(crate) fn idempotency_of(method: &Method) -> Idempotency {
    if *method == Method::POST {
        Idempotency::CreatesRecord
    } else {
        Idempotency::Repeatable
    }
}

/// Sends a JSON request (body already checked as JSON), retried as
/// `idempotency` allows, and returns the answer's text (`null` for an empty body).
pub(crate) async fn request_text(
    call: &mut Call<'_>,
    client: &Client,
    method: Method,
    path: &str,
    auth: Auth,
    body: Option<String>,
    idempotency: Idempotency,
) -> Result<String> {
    retrying(call, idempotency, async |call| {
        request_once(call, client, method.clone(), path, auth, body.as_deref()).await
    })
    .await
}

async fn request_once(
    call: &mut Call<'_>,
    client: &Client,
    method: Method,
    path: &str,
    auth: Auth,
    body: Option<&str>,
) -> Result<String> {
    call.begin_request(path, Vec::new(), 0)?;
    let response = call
        .drive(client.send(method.clone(), path, auth, |request| {
            Ok(match body {
                Some(text) => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(text.to_string()),
                None => request,
            })
        }))
        .await??;
    let response = call.drive(check_status(&method, path, response)).await??;
    let bytes = call.drive(read_capped(client, path, response)).await??;
    if bytes.is_empty() {
        return Ok("null".into());
    }
    String::from_utf8(bytes).map_err(|_| Error::InvalidResponse {
        path: path.into(),
        message: "the answer is not UTF-8 text".into(),
    })
}

/// A whole answer in memory, refused past the client's cap (checked
/// against Content-Length first, then as the bytes come).
pub(crate) async fn read_capped(
    client: &Client,
    path: &str,
    mut response: reqwest::Response,
) -> Result<Vec<u8>> {
    let config = client.config();
    let cap = config.max_memory_answer;
    let too_large = || Error::AnswerTooLarge {
        path: path.into(),
        cap,
    };
    if response.content_length().is_some_and(|length| length > cap) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::from_reqwest(path, e, config.connect_timeout.as_secs()))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > cap {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A JSON request with a bearer token, retried as `idempotency` allows, decoded.
pub async fn request(
    call: &mut Call<'_>,
    client: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
    idempotency: Idempotency,
) -> Result<Value> {
    let text = request_text(
        call,
        client,
        method,
        path,
        Auth::Bearer,
        body.map(Value::to_string),
        idempotency,
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| Error::InvalidResponse {
        path: path.into(),
        message: format!("the answer is not JSON: {e}"),
    })
}

fn checked_body(body: Option<&str>) -> Result<Option<String>> {
    match body {
        Some(text) => {
            serde_json::from_str::<Value>(text).map_err(|e| {
                Error::InvalidParameter(format!("the JSON body is not valid JSON: {e}"))
            })?;
            Ok(Some(text.to_string()))
        }
        None => Ok(None),
    }
}

impl Client {
    /// One JSON request as a call of its own; the answer's text.
    pub(crate) fn json_call(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        body: Option<&str>,
    ) -> Result<String> {
        let body = checked_body(body)?;
        let idempotency = idempotency_of(&method);
        self.run(TransferOptions::default(), async |call| {
            request_text(call, self, method, path, auth, body, idempotency).await
        })
    }

    /// GET `path`; the JSON answer as text.
    pub fn get(&self, path: &str) -> Result<String> {
        self.json_call(Method::GET, path, Auth::Bearer, None)
    }

    /// POST a JSON body (or none) to `path`.
    pub fn post(&self, path: &str, json_body: Option<&str>) -> Result<String> {
        self.json_call(Method::POST, path, Auth::Bearer, json_body)
    }

    /// PUT a JSON body (or none) to `path`.
    pub fn put(&self, path: &str, json_body: Option<&str>) -> Result<String> {
        self.json_call(Method::PUT, path, Auth::Bearer, json_body)
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> Result<String> {
        self.json_call(Method::DELETE, path, Auth::Bearer, None)
    }

    /// GET a JSON answer, decoded.
    pub fn get_value(&self, path: &str) -> Result<Value> {
        let text = self.get(path)?;
        serde_json::from_str(&text).map_err(|e| Error::InvalidResponse {
            path: path.into(),
            message: format!("the answer is not JSON: {e}"),
        })
    }
}
