//! gazu's `person` module: avatars and the person lookup.

use std::path::Path;

use super::files::{upload_avatar, AvatarOf};
use super::with_query;
use crate::client::Client;
use crate::error::Result;
use crate::transfer::progress::ProgressFn;

/// gazu's `person.set_avatar`: the same request as `files.upload_person_avatar`.
pub fn set_avatar(
    client: &Client,
    person_id: &str,
    file: &Path,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<String> {
    upload_avatar(client, AvatarOf::Person, person_id, file, progress)
}

/// GET `data/persons?email=...&is_bot=False`: the first match, or `null`.
pub fn get_person_by_email(client: &Client, email: &str) -> Result<String> {
    client.get_first(&with_query(
        "data/persons",
        &[("email", Some(email)), ("is_bot", Some("False"))],
    ))
}
