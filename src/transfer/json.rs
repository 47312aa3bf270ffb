//! JSON requests inside a call (a composite's steps, a record read before a
//! download) and the blocking facade for any JSON route.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;

use super::call::{Call, TransferOptions};
use crate::client::{check_status, Auth, Client};
use crate::error::{Error, Result};

/// Sends a JSON request (body already checked as JSON) and returns the
/// answer's text (`null` for an empty body).
pub(crate) async fn request_text(
    call: &mut Call<'_>,
    client: &Client,
    method: Method,
    path: &str,
    auth: Auth,
    body: Option<String>,
) -> Result<String> {
    call.begin_request(path, Vec::new(), 0)?;
    let response = call
        .drive(client.send(method.clone(), path, auth, |request| {
            Ok(match &body {
                Some(text) => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(text.clone()),
                None => request,
            })
        }))
        .await??;
    let response = call.drive(check_status(&method, path, response)).await??;
    let connect_secs = client.config().connect_timeout.as_secs();
    let bytes = call
        .drive(response.bytes())
        .await?
        .map_err(|e| Error::from_reqwest(path, e, connect_secs))?;
    if bytes.is_empty() {
        return Ok("null".into());
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::InvalidResponse {
        path: path.into(),
        message: "the answer is not UTF-8 text".into(),
    })
}

/// A JSON request with a bearer token, decoded.
pub async fn request(
    call: &mut Call<'_>,
    client: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let text = request_text(
        call,
        client,
        method,
        path,
        Auth::Bearer,
        body.map(Value::to_string),
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
        self.run(TransferOptions::default(), async |call| {
            request_text(call, self, method, path, auth, body).await
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
