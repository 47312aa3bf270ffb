//! gazu's `person` module: avatars and the person lookup.

use std::path::Path;

use super::files::{upload_avatar, AvatarOf};
use crate::client::Client;
use crate::error::Result;
use crate::route::with_query;
use crate::transfer::Call;

/// gazu's `person.set_avatar`: the same request as `files.upload_person_avatar`.
pub async fn set_avatar(
    client: &Client,
    call: &mut Call<'_>,
    person_id: &str,
    file: &Path,
) -> Result<String> {
    upload_avatar(client, call, AvatarOf::Person, person_id, file).await
}

/// GET `data/persons?email=...&is_bot=False`: the first match, or `null`.
pub fn get_person_by_email(client: &Client, email: &str) -> Result<String> {
    client.get_first(&with_query(
        "data/persons",
        &[("email", Some(email)), ("is_bot", Some("False"))],
    ))
}

blocking! {
    fn set_avatar(person_id: &str, file: &Path) -> String;
}
