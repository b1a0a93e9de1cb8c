//! Client registration by an operator: from `gatehouse client create` or a
//! `[[clients]]` entry of the config file. (Dynamic registration over HTTP,
//! RFC 7591, is not offered.)
//!
//! Every rule a client must meet is checked here, once, so the protocol
//! endpoints can trust a stored client:
//! 1. the client id and every URI parse (redirect URIs are kept verbatim:
//!    `OpenID` Connect Core §3.1.2.1 requires exact matching);
//! 2. the authentication method fits the credentials given: a secret for
//!    `client_secret_*` (generated when absent, refused when short), a JWKS
//!    for `private_key_jwt`, nothing for `none`;
//! 3. public clients always use PKCE and may not use `client_credentials`;
//! 4. a client that may use the authorization code grant has a redirect URI.

use std::path::Path;

use crate::clock::Clock;
use crate::config::ClientSpec;
use crate::db::Db;
use crate::db::clients::ClientRecord;
use crate::domain::{ClientId, RedirectUrl, Scope, SecretString};
use crate::security::client_secret::{
    generate_client_secret, hash_client_secret, validate_supplied_secret,
};

pub const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
];
pub const SIGNING_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// A client ready to store, with its secret in clear when one was generated
/// (to be shown once, never stored).
#[derive(Debug)]
pub struct Registered {
    pub record: ClientRecord,
    pub generated_secret: Option<SecretString>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("{0}")]
    Database(#[from] crate::db::DbError),
}

fn invalid(field: &str, problem: impl Into<String>) -> RegistrationError {
    RegistrationError::Invalid {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Checks a client description and turns it into a record to store.
pub fn register_client(spec: &ClientSpec, now: i64) -> Result<Registered, RegistrationError> {
    let client_id =
        ClientId::parse(&spec.client_id).map_err(|e| invalid("client_id", e.to_string()))?;
    let auth_method = spec.auth_method.as_deref().unwrap_or("client_secret_basic");
    if !AUTH_METHODS.contains(&auth_method) {
        return Err(invalid(
            "auth_method",
            format!("must be one of {}", AUTH_METHODS.join(", ")),
        ));
    }
    let grant_types = if spec.grant_types.is_empty() {
        vec!["authorization_code".to_owned()]
    } else {
        dedup(&spec.grant_types)
    };
    if let Some(bad) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(invalid(
            "grant_type",
            format!(
                "{bad} is not supported; use one of {}",
                GRANT_TYPES.join(", ")
            ),
        ));
    }
    let public = auth_method == "none";
    if public && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(invalid(
            "grant_type",
            "a public client cannot use client_credentials",
        ));
    }

    let redirect_uris = parse_uris("redirect_uri", &spec.redirect_uris)?;
    if redirect_uris.is_empty() && grant_types.iter().any(|g| g == "authorization_code") {
        return Err(invalid(
            "redirect_uri",
            "at least one is needed for the authorization_code grant",
        ));
    }
    let post_logout_redirect_uris =
        parse_uris("post_logout_redirect_uri", &spec.post_logout_redirect_uris)?;
    let backchannel_logout_uri = spec
        .backchannel_logout_uri
        .as_deref()
        .map(|uri| parse_uri("backchannel_logout_uri", uri))
        .transpose()?;
    let scopes = spec
        .scopes
        .iter()
        .map(|s| {
            Scope::parse(s)
                .map(|s| s.as_str().to_owned())
                .map_err(|e| invalid("scope", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let access_token_format = spec.access_token_format.as_deref().unwrap_or("jwt");
    if !matches!(access_token_format, "jwt" | "opaque") {
        return Err(invalid("access_token_format", "must be jwt or opaque"));
    }
    if let Some(alg) = spec.id_token_signed_response_alg.as_deref()
        && !SIGNING_ALGS.contains(&alg)
    {
        return Err(invalid(
            "id_token_signed_response_alg",
            "must be RS256, ES256 or EdDSA",
        ));
    }

    let (secret_hash, generated_secret) = credentials(spec, auth_method)?;
    let jwks = client_jwks(spec, auth_method)?;

    Ok(Registered {
        record: ClientRecord {
            client_id: client_id.as_str().to_owned(),
            name: spec.name.clone(),
            secret_hash,
            auth_method: auth_method.to_owned(),
            grant_types,
            scopes,
            first_party: spec.first_party,
            require_pkce: spec.require_pkce || public,
            require_par: spec.require_par,
            access_token_format: access_token_format.to_owned(),
            id_token_signed_response_alg: spec.id_token_signed_response_alg.clone(),
            jwks,
            backchannel_logout_uri,
            backchannel_logout_session_required: spec.backchannel_logout_session_required,
            from_config: false,
            created_at: now,
            updated_at: now,
            redirect_uris,
            post_logout_redirect_uris,
        },
        generated_secret,
    })
}

/// Creates or updates every client the config file declares, so the file is
/// the source of truth for them at each start.
pub async fn sync_declared_clients(
    db: &Db,
    clock: &dyn Clock,
    specs: &[ClientSpec],
) -> Result<(), RegistrationError> {
    for (i, spec) in specs.iter().enumerate() {
        let uses_secret = matches!(
            spec.auth_method.as_deref().unwrap_or("client_secret_basic"),
            "client_secret_basic" | "client_secret_post"
        );
        if uses_secret && spec.secret.is_none() && spec.secret_file.is_none() {
            // A generated secret would change at every start and be lost.
            return Err(invalid(
                &format!("clients[{i}].secret"),
                "is required for a declared client",
            ));
        }
        let mut registered = register_client(spec, clock.unix()).map_err(|e| match e {
            RegistrationError::Invalid { field, problem } => {
                invalid(&format!("clients[{i}].{field}"), problem)
            }
            RegistrationError::Database(e) => RegistrationError::Database(e),
        })?;
        registered.record.from_config = true;
        crate::db::clients::upsert_client(db, &registered.record).await?;
    }
    Ok(())
}

fn credentials(
    spec: &ClientSpec,
    auth_method: &str,
) -> Result<(Option<String>, Option<SecretString>), RegistrationError> {
    let supplied = match (&spec.secret, &spec.secret_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "secret",
                "give the secret or a secret file, not both",
            ));
        }
        (Some(secret), None) => Some(secret.clone()),
        (None, Some(path)) => Some(SecretString::from(read_trimmed("secret_file", path)?)),
        (None, None) => None,
    };
    match auth_method {
        "client_secret_basic" | "client_secret_post" => {
            if let Some(secret) = supplied {
                validate_supplied_secret(secret.expose())
                    .map_err(|e| invalid("secret", e.to_string()))?;
                Ok((Some(hash_client_secret(&secret)), None))
            } else {
                let secret = generate_client_secret();
                Ok((Some(hash_client_secret(&secret)), Some(secret)))
            }
        }
        _ if supplied.is_some() => Err(invalid(
            "secret",
            format!("a {auth_method} client has no secret"),
        )),
        _ => Ok((None, None)),
    }
}

fn client_jwks(
    spec: &ClientSpec,
    auth_method: &str,
) -> Result<Option<serde_json::Value>, RegistrationError> {
    let jwks = match (&spec.jwks, &spec.jwks_file) {
        (Some(_), Some(_)) => {
            return Err(invalid("jwks", "give the JWKS or a JWKS file, not both"));
        }
        (Some(jwks), None) => Some(jwks.clone()),
        (None, Some(path)) => {
            let text = read_trimmed("jwks_file", path)?;
            Some(serde_json::from_str(&text).map_err(|_| invalid("jwks_file", "is not JSON"))?)
        }
        (None, None) => None,
    };
    if let Some(jwks) = &jwks {
        let keys = jwks.get("keys").and_then(serde_json::Value::as_array);
        if keys.is_none_or(Vec::is_empty) {
            return Err(invalid(
                "jwks",
                "must be a JWK Set: {\"keys\": [ … ]} with at least one key",
            ));
        }
        let private = ["d", "p", "q", "dp", "dq", "qi", "k"];
        if keys
            .into_iter()
            .flatten()
            .any(|k| private.iter().any(|m| k.get(m).is_some()))
        {
            return Err(invalid(
                "jwks",
                "holds private key material; give public keys only",
            ));
        }
    }
    match (auth_method, &jwks) {
        ("private_key_jwt", None) => Err(invalid("jwks", "is required for private_key_jwt")),
        _ => Ok(jwks),
    }
}

fn read_trimmed(field: &str, path: &Path) -> Result<String, RegistrationError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| invalid(field, format!("{}: {e}", path.display())))
}

fn parse_uri(field: &str, uri: &str) -> Result<String, RegistrationError> {
    RedirectUrl::parse(uri)
        .map(|u| u.as_str().to_owned())
        .map_err(|e| invalid(field, format!("{uri}: {e}")))
}

fn parse_uris(field: &str, uris: &[String]) -> Result<Vec<String>, RegistrationError> {
    let parsed = uris
        .iter()
        .map(|u| parse_uri(field, u))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(dedup(&parsed))
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ClientSpec {
        ClientSpec {
            client_id: "console".into(),
            redirect_uris: vec!["https://console.example.com/cb".into()],
            ..ClientSpec::default()
        }
    }

    #[test]
    fn a_confidential_client_without_secret_gets_a_generated_one_stored_hashed() {
        let registered = register_client(&spec(), 0).unwrap();
        let secret = registered.generated_secret.expect("a secret is generated");
        assert!(secret.expose().len() >= 43);
        let hash = registered.record.secret_hash.unwrap();
        assert!(!hash.contains(secret.expose()));
        assert!(crate::security::client_secret::verify_client_secret(
            secret.expose(),
            &hash
        ));
        assert_eq!(registered.record.auth_method, "client_secret_basic");
        assert_eq!(registered.record.grant_types, vec!["authorization_code"]);
    }

    #[test]
    fn a_short_supplied_secret_is_refused() {
        let err = register_client(
            &ClientSpec {
                secret: Some(SecretString::from("too-short".to_owned())),
                ..spec()
            },
            0,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("secret:"), "{err}");
    }

    #[test]
    fn public_clients_always_require_pkce_and_cannot_use_client_credentials() {
        let public = ClientSpec {
            auth_method: Some("none".into()),
            ..spec()
        };
        let registered = register_client(&public, 0).unwrap();
        assert!(registered.record.require_pkce);
        assert!(registered.record.secret_hash.is_none());
        let err = register_client(
            &ClientSpec {
                grant_types: vec!["client_credentials".into()],
                ..public
            },
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("client_credentials"), "{err}");
    }

    #[test]
    fn redirect_uris_must_be_https_or_loopback_and_are_required_for_the_code_grant() {
        let err = register_client(
            &ClientSpec {
                redirect_uris: vec!["http://evil.example/cb".into()],
                ..spec()
            },
            0,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("redirect_uri:"), "{err}");
        let err = register_client(
            &ClientSpec {
                redirect_uris: vec![],
                ..spec()
            },
            0,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("redirect_uri:"), "{err}");
    }

    #[test]
    fn private_key_jwt_needs_a_public_jwks() {
        let pkjwt = ClientSpec {
            auth_method: Some("private_key_jwt".into()),
            ..spec()
        };
        assert!(
            register_client(&pkjwt, 0)
                .unwrap_err()
                .to_string()
                .starts_with("jwks:")
        );
        let with_private = ClientSpec {
            jwks: Some(serde_json::json!({"keys": [{"kty": "EC", "d": "secret"}]})),
            ..pkjwt.clone()
        };
        assert!(
            register_client(&with_private, 0)
                .unwrap_err()
                .to_string()
                .contains("private")
        );
        let ok = ClientSpec {
            jwks: Some(
                serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}),
            ),
            ..pkjwt
        };
        let registered = register_client(&ok, 0).unwrap();
        assert!(registered.generated_secret.is_none());
    }

    #[test]
    fn unknown_grant_types_and_methods_are_named_in_the_error() {
        let err = register_client(
            &ClientSpec {
                grant_types: vec!["password".into()],
                ..spec()
            },
            0,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("password is not supported"),
            "{err}"
        );
        let err = register_client(
            &ClientSpec {
                auth_method: Some("tls_client_auth".into()),
                ..spec()
            },
            0,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("auth_method:"), "{err}");
    }
}
