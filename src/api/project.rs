//! gazu's `project` module: the lookups a batch script starts from.

use crate::client::Client;
use crate::error::Result;
use crate::route::with_query;

/// GET `data/projects?name=...`: the first match, or `null`.
pub fn get_project_by_name(client: &Client, name: &str) -> Result<String> {
    client.get_first(&with_query("data/projects", &[("name", Some(name))]))
}

/// GET `data/projects/open`.
pub fn all_open_projects(client: &Client) -> Result<String> {
    client.get("data/projects/open")
}
