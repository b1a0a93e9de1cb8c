//! Standard claims about a user (OpenID Connect Core §5.1), released by
//! scope (§5.4) and by name through the `claims` parameter (§5.5). Only what
//! Gatehouse knows is released: no claim is ever sent empty or as "null".

use serde_json::{Map, Value, json};

use crate::db::entity::users::Model as User;

/// Which claims each scope releases.
pub fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// Every claim name Gatehouse can release (for discovery).
pub const SUPPORTED: &[&str] = &[
    "sub",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
];

/// The claims of `user` released by the space-separated `scope` and the
/// explicitly `requested` names.
pub fn user_claims(user: &User, scope: &str, requested: &[String]) -> Map<String, Value> {
    let mut names: Vec<&str> = scope.split(' ').flat_map(scope_claims).copied().collect();
    names.extend(requested.iter().map(String::as_str));
    let mut out = Map::new();
    for name in names {
        if out.contains_key(name) {
            continue;
        }
        if let Some(value) = claim(user, name) {
            out.insert(name.to_owned(), value);
        }
    }
    out
}

fn claim(user: &User, name: &str) -> Option<Value> {
    let text = |v: &Option<String>| {
        v.as_ref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| json!(s))
    };
    match name {
        "name" => {
            let full = [user.given_name.as_deref(), user.family_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then(|| json!(full))
        }
        "given_name" => text(&user.given_name),
        "family_name" => text(&user.family_name),
        "preferred_username" => Some(json!(user.username)),
        "updated_at" => Some(json!(user.updated_at)),
        "email" => Some(json!(user.email)),
        "email_verified" => Some(json!(user.email_verified)),
        "phone_number" => text(&user.phone),
        "phone_number_verified" => user.phone.as_ref().map(|_| json!(user.phone_verified)),
        _ => None,
    }
}
