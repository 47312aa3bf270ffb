//! Kitsu's routes, one file per gazu module (`files`, `task`, `person`,
//! `project`, `playlist`, `asset`, `shot`, and `raw` for gazu's `client`
//! module), with gazu's function names. Transfer rules live in `transfer`;
//! this layer only knows routes, ids, options, gazu's conventions (its
//! Accept header, part names, form values) and the order of the calls a
//! gazu function makes.
//!
//! Every function that moves a file is async and runs inside a
//! [`Call`](crate::transfer::Call): `files::download_preview_file(&client,
//! call, id, target)`. Each module's `blocking` submodule holds the same
//! functions as one blocking call each, with the call's
//! [`TransferOptions`](crate::transfer::TransferOptions) last:
//! `files::blocking::download_preview_file(&client, id, target, options)`.

/// Generates a module's `blocking` forms: each runs the async function of
/// the same name as one call on the calling thread.
macro_rules! blocking {
    ($( $(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; )*) => {
        /// The blocking forms of this module's transfers: same names and
        /// arguments, then the call's options.
        pub mod blocking {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                pub fn $name(
                    client: &$crate::client::Client,
                    $($arg: $ty,)*
                    options: $crate::transfer::TransferOptions<'_>,
                ) -> $crate::error::Result<$ret> {
                    client.run(options, async |call| super::$name(client, call, $($arg),*).await)
                }
            )*
        }
    };
}

pub mod asset;
pub mod batch;
pub mod files;
pub mod person;
pub mod playlist;
pub mod project;
pub mod raw;
pub mod shot;
pub mod task;

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Map, Value};

use crate::client::{Auth, Client};
use crate::error::{failure_message_in_success, server_message, Error, Result};
use crate::transfer::upload::Part;
use crate::transfer::{Call, Idempotency};

/// gazu's DOWNLOAD_ACCEPT_HEADER: lets Zou answer 202 while a preview is processed.
pub const DOWNLOAD_ACCEPT: &str = "application/json, */*;q=0.1";

/// Checks an id as gazu's `normalize_model_parameter` does (a UUID), so no
/// caller text ever lands unescaped in a route.
pub fn check_id<'a>(name: &str, id: &'a str) -> Result<&'a str> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let valid = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if valid {
        Ok(id)
    } else {
        Err(Error::InvalidParameter(format!(
            "{name} {id:?} is not an id (a UUID such as 0e5ad4bd-0000-4000-8000-00000000abcd)"
        )))
    }
}

/// gazu's optional keyword arguments, given as a JSON object whose keys are
/// gazu's keyword names. Unknown keys are refused rather than ignored.
#[derive(Debug, Default, Clone)]
pub struct Options {
    map: Map<String, Value>,
}

impl Options {
    /// Parses `json` (None: gazu's defaults), accepting only `allowed` keys.
    pub fn parse(json: Option<&str>, allowed: &[&str]) -> Result<Options> {
        let Some(json) = json else {
            return Ok(Options::default());
        };
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::InvalidParameter(format!("options_json is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(Error::InvalidParameter(
                "options_json must be a JSON object".into(),
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::InvalidParameter(format!(
                "unknown option {unknown:?}; this function takes {}",
                if allowed.is_empty() {
                    "no option".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        Ok(Options { map })
    }

    /// Options built in Rust, checked the same way.
    pub fn from_value(value: Value, allowed: &[&str]) -> Result<Options> {
        Options::parse(Some(&value.to_string()), allowed)
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(Error::InvalidParameter(format!(
                "option {key} must be true or false, not {other}"
            ))),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::InvalidParameter(format!(
                "option {key} must be a string, not {other}"
            ))),
        }
    }

    pub fn integer(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                Error::InvalidParameter(format!("option {key} must be an integer, not {v}"))
            }),
        }
    }

    /// A model given as gazu accepts it: an id string, or an object with "id".
    pub fn id(&self, key: &str) -> Result<Option<String>> {
        let id = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => match o.get("id").and_then(Value::as_str) {
                Some(id) => id.to_string(),
                None => {
                    return Err(Error::InvalidParameter(format!(
                        "option {key} has no \"id\""
                    )))
                }
            },
            Some(other) => {
                return Err(Error::InvalidParameter(format!(
                    "option {key} must be an id or an object with \"id\", not {other}"
                )))
            }
        };
        check_id(key, &id)?;
        Ok(Some(id))
    }

    /// Any JSON value (lists such as `checklist` and `links`).
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// Parses a required JSON argument.
pub fn parse_json(name: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidParameter(format!("{name} is not valid JSON: {e}")))
}

impl Client {
    /// gazu's `fetch_first`: the first element of a list answer, or `null`.
    pub(crate) fn get_first(&self, path: &str) -> Result<String> {
        let value = self.get_value(path)?;
        let first = match value {
            Value::Array(items) => items.into_iter().next().unwrap_or(Value::Null),
            other => {
                return Err(Error::InvalidResponse {
                    path: path.into(),
                    message: format!("expected a list, got {other}"),
                })
            }
        };
        Ok(first.to_string())
    }

    /// POST `auth/login`; keeps the tokens and returns the server's answer
    /// (user, organisation, tokens) as JSON text.
    pub fn log_in(&self, email: &str, password: &str) -> Result<String> {
        let body = serde_json::json!({ "email": email, "password": password }).to_string();
        let answer = self
            .json_call(Method::POST, "auth/login", Auth::None, Some(&body))
            .map_err(|e| match e {
                Error::Http {
                    status, message, ..
                } if matches!(status, 400 | 401 | 403) => Error::AuthFailed { status, message },
                other => other,
            })?;
        let value: Value = serde_json::from_str(&answer).map_err(|e| Error::InvalidResponse {
            path: "auth/login".into(),
            message: format!("log-in answer is not JSON: {e}"),
        })?;
        let access = value.get("access_token").and_then(|v| v.as_str());
        let logged_in = value.get("login").and_then(|v| v.as_bool()) != Some(false);
        match access {
            Some(access) if logged_in => {
                let refresh = value.get("refresh_token").and_then(|v| v.as_str());
                self.set_tokens(Some(access), refresh);
                Ok(answer)
            }
            _ => {
                let mut message = server_message(answer.as_bytes());
                if value.get("two_factor_authentication_required").is_some() {
                    message = format!("two-factor authentication is required ({message})");
                }
                Err(Error::AuthFailed {
                    status: 200,
                    message,
                })
            }
        }
    }

    /// GET `auth/logout`, then forgets the tokens whatever the server said
    /// (gazu ignores 400 and 401 here too). Network failures are reported.
    pub fn log_out(&self) -> Result<()> {
        let result = self.json_call(Method::GET, "auth/logout", Auth::Bearer, None);
        self.set_tokens(None, None);
        match result {
            Ok(_) | Err(Error::Http { .. }) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

/// gazu's part names for a list of files: `file`, `file-1`, `file-2`...
pub fn numbered_file_parts(paths: &[PathBuf]) -> Vec<Part> {
    paths
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let name = if index == 0 {
                "file".to_string()
            } else {
                format!("file-{index}")
            };
            Part::file(name, path.clone())
        })
        .collect()
}

/// Extra form fields from a JSON object, converted as gazu does: strings as
/// is, booleans as `True`/`False` (Python's `str(bool)`), numbers as text,
/// arrays and objects as JSON text (gazu `json.dumps` them), nulls left out.
pub fn form_fields_from_json(json: &str) -> Result<Vec<(String, String)>> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| Error::InvalidParameter(format!("form_json is not valid JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| Error::InvalidParameter("form_json must be a JSON object".into()))?;
    Ok(object
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                Value::Bool(true) => "True".into(),
                Value::Bool(false) => "False".into(),
                other => other.to_string(),
            };
            Some((name.clone(), text))
        })
        .collect())
}

/// A download as gazu makes it (its Accept header, so Zou may answer 202).
pub(crate) async fn download(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
    target: &Path,
) -> Result<u64> {
    crate::transfer::download::to_file(call, client, route, DOWNLOAD_ACCEPT, target).await
}

/// A multipart POST with gazu's reading of the answer: JSON, and a 2xx
/// answer carrying an error `message` is a failure (gazu's UploadFailedException).
pub(crate) async fn send_parts(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
    parts: &[Part],
    idempotency: Idempotency,
) -> Result<String> {
    let text =
        crate::transfer::upload::send_multipart(call, client, route, parts, idempotency).await?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::InvalidResponse {
        path: route.into(),
        message: format!("the upload answer is not JSON: {e}"),
    })?;
    if let Some(message) = failure_message_in_success(&value) {
        return Err(Error::UploadFailed {
            path: route.into(),
            message,
        });
    }
    Ok(text)
}

/// An upload as gazu makes it: the fields, then the files as `file`, `file-1`...
pub(crate) async fn upload(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
    files: &[PathBuf],
    fields: &[(String, String)],
    idempotency: Idempotency,
) -> Result<String> {
    let mut parts: Vec<Part> = fields
        .iter()
        .map(|(name, value)| Part::field(name.clone(), value.clone()))
        .collect();
    parts.extend(numbered_file_parts(files));
    send_parts(client, call, route, &parts, idempotency).await
}

/// A one-file upload (part `file`).
pub(crate) async fn upload_one(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
    file: &Path,
    idempotency: Idempotency,
) -> Result<String> {
    upload(client, call, route, &[file.to_path_buf()], &[], idempotency).await
}

/// A JSON request of a composite, retried as its method allows, decoded.
pub(crate) async fn json(
    client: &Client,
    call: &mut Call<'_>,
    method: Method,
    route: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let idempotency = crate::transfer::json::idempotency_of(&method);
    crate::transfer::json::request(call, client, method, route, body, idempotency).await
}

/// A string field of a record, or an error naming the route.
pub(crate) fn field<'a>(record: &'a Value, key: &str, route: &str) -> Result<&'a str> {
    record
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidResponse {
            path: route.into(),
            message: format!("the record has no {key}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_uuids() {
        assert!(check_id("task", "0e5ad4bd-0000-4000-8000-00000000abcd").is_ok());
        assert!(check_id("task", "../../etc/passwd").is_err());
        assert!(check_id("task", "0e5ad4bd-0000-4000-8000-00000000abc").is_err());
    }

    #[test]
    fn unknown_options_are_refused() {
        let error = Options::parse(
            Some(r#"{"normalize":false}"#),
            &["normalize_movie", "no_job"],
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("normalize_movie, no_job"),
            "{error}"
        );
        let options = Options::parse(
            Some(r#"{"no_job":true,"person":{"id":"0e5ad4bd-0000-4000-8000-00000000abcd"}}"#),
            &["no_job", "person"],
        )
        .unwrap();
        assert!(options.bool("no_job", false).unwrap());
        assert_eq!(
            options.id("person").unwrap().as_deref(),
            Some("0e5ad4bd-0000-4000-8000-00000000abcd")
        );
        assert!(Options::parse(Some("[]"), &[]).is_err());
    }

    #[test]
    fn numbered_names_follow_gazu() {
        let parts =
            numbered_file_parts(&[PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c")]);
        let names: Vec<_> = parts
            .iter()
            .map(|p| match p {
                Part::File { name, .. } => name.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["file", "file-1", "file-2"]);
    }

    #[test]
    fn form_values_follow_python() {
        let fields =
            form_fields_from_json(r#"{"a":"x","b":true,"c":false,"d":3,"e":[1],"f":null}"#)
                .unwrap();
        assert_eq!(
            fields,
            [
                ("a".to_string(), "x".to_string()),
                ("b".into(), "True".into()),
                ("c".into(), "False".into()),
                ("d".into(), "3".into()),
                ("e".into(), "[1]".into())
            ]
        );
    }
}
