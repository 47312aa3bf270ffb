//! Kitsu's routes, one file per gazu module (`files`, `task`, `person`,
//! `project`, `playlist`, `asset`, `shot`), with gazu's function names.
//! Transfer rules live in `transfer`; this layer only knows routes, ids,
//! options and the order of the calls a gazu function makes.

pub mod asset;
pub mod files;
pub mod person;
pub mod playlist;
pub mod project;
pub mod shot;
pub mod task;

use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::client::{Auth, Client};
use crate::error::{Error, Result};
use crate::transfer::progress::ProgressFn;

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

/// `path?k=v&...` with the values percent-encoded; pairs whose value is
/// `None` are left out (gazu's `build_path_with_params`).
pub fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (key, value) in pairs {
        if let Some(value) = value {
            query.append_pair(key, value);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", query.finish())
    } else {
        path.to_string()
    }
}

/// One path segment, percent-encoded (gazu leaves attachment names raw, so
/// `#` or `?` in a name cut its URL short).
pub fn segment(text: &str) -> String {
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(text, SEGMENT).to_string()
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
    /// A JSON request inside an operation already running on this thread.
    pub(crate) async fn json_value(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let body = body.map(Value::to_string);
        let text = self
            .json_request(method, path, Auth::Bearer, body.as_deref())
            .await?;
        serde_json::from_str(&text).map_err(|e| Error::InvalidResponse {
            path: path.into(),
            message: format!("the answer is not JSON: {e}"),
        })
    }

    /// GET a JSON answer (blocking).
    pub(crate) fn get_value(&self, path: &str) -> Result<Value> {
        self.block_on(self.json_value(Method::GET, path, None))
    }

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
}

/// A one-file upload (part `file`).
pub(crate) fn upload_one(
    client: &Client,
    route: &str,
    file: &Path,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<String> {
    client.upload(route, &[PathBuf::from(file)], &[], progress)
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
    fn queries_and_segments_are_encoded() {
        assert_eq!(
            with_query("data/projects", &[("name", Some("A & B"))]),
            "data/projects?name=A+%26+B"
        );
        assert_eq!(with_query("x", &[("a", None)]), "x");
        assert_eq!(segment("my file#1?.png"), "my%20file%231%3F.png");
    }
}
