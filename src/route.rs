//! URL building, in one place: a route joined to the host as gazu's
//! `url_path_join` does, query strings, and path segments, percent-encoded.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

/// `{host}/{route}` as a URL (`host` without its trailing slash).
pub fn join(host: &str, route: &str) -> Result<reqwest::Url> {
    let joined = format!("{host}/{}", route.trim_start_matches('/'));
    reqwest::Url::parse(&joined)
        .map_err(|e| Error::InvalidParameter(format!("path {route:?} gives no valid URL: {e}")))
}

/// `route?k=v&...` with the values percent-encoded; pairs whose value is
/// `None` are left out (gazu's `build_path_with_params`).
pub fn with_query(route: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (key, value) in pairs {
        if let Some(value) = value {
            query.append_pair(key, value);
            any = true;
        }
    }
    if any {
        format!("{route}?{}", query.finish())
    } else {
        route.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_segments_are_encoded() {
        assert_eq!(
            with_query("data/projects", &[("name", Some("A & B"))]),
            "data/projects?name=A+%26+B"
        );
        assert_eq!(with_query("x", &[("a", None)]), "x");
        assert_eq!(
            with_query(
                "p",
                &[("normalize", Some("false")), ("no_job", Some("true"))]
            ),
            "p?normalize=false&no_job=true"
        );
        assert_eq!(segment("my file#1?.png"), "my%20file%231%3F.png");
        assert_eq!(
            join("http://h/api", "/data/x").unwrap().as_str(),
            "http://h/api/data/x"
        );
    }
}
