//! The JWK Set document (RFC 7517 §5) served at the `jwks_uri`.
//!
//! Built once per key-set refresh and handed out as shared bytes, because
//! relying parties fetch it often and it only changes on rotation. Each key
//! is rebuilt from an allow-list of public members (RFC 7518 §6.2.1, §6.3.1;
//! RFC 8037 §2), so a private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`)
//! can never be published, whatever a row holds; `kid` and `alg` come from
//! the row's own columns so the document cannot disagree with the table.

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::{Alg, KeyError};

/// The curve each algorithm is used with here (`crv`), if it has one.
const fn curve(alg: Alg) -> Option<&'static str> {
    match alg {
        Alg::Rs256 => None,
        Alg::Es256 => Some("P-256"),
        Alg::EdDsa => Some("Ed25519"),
    }
}

/// Members that carry the public key itself, per key type.
const fn key_members(alg: Alg) -> &'static [&'static str] {
    match alg {
        Alg::Rs256 => &["n", "e"],
        Alg::Es256 => &["crv", "x", "y"],
        Alg::EdDsa => &["crv", "x"],
    }
}

const fn key_type(alg: Alg) -> &'static str {
    match alg {
        Alg::Rs256 => "RSA",
        Alg::Es256 => "EC",
        Alg::EdDsa => "OKP",
    }
}

/// The publishable JWK for a stored row: public members only, plus
/// `kty`, `kid`, `alg` and `use: "sig"`.
pub(super) fn public_jwk(
    kid: &str,
    alg: Alg,
    stored_json: &str,
) -> Result<Map<String, Value>, KeyError> {
    let corrupt = || KeyError::CorruptPublicKey {
        kid: kid.to_owned(),
    };
    let stored: Map<String, Value> = serde_json::from_str(stored_json).map_err(|_| corrupt())?;
    let field = |name: &str| stored.get(name).and_then(Value::as_str);
    if field("kty") != Some(key_type(alg))
        || curve(alg).is_some_and(|crv| field("crv") != Some(crv))
    {
        return Err(corrupt());
    }
    let mut jwk = Map::new();
    jwk.insert("kty".into(), key_type(alg).into());
    for &member in key_members(alg) {
        let value = stored
            .get(member)
            .filter(|v| v.is_string())
            .ok_or_else(corrupt)?;
        jwk.insert(member.into(), value.clone());
    }
    jwk.insert("kid".into(), kid.into());
    jwk.insert("alg".into(), alg.as_str().into());
    jwk.insert("use".into(), "sig".into());
    Ok(jwk)
}

/// Serialises `{"keys": [...]}`, in the order given. `Bytes` (the `bytes`
/// crate's, re-exported by axum) because clones share one buffer and the
/// JWKS route can answer with it as is.
pub(super) fn document<'a>(keys: impl IntoIterator<Item = &'a Map<String, Value>>) -> Bytes {
    let keys: Vec<&Map<String, Value>> = keys.into_iter().collect();
    let document = serde_json::json!({ "keys": keys });
    // Serialising a `Value` built from maps of strings cannot fail.
    Bytes::from(serde_json::to_vec(&document).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_PRIVATE_JWK: &str = r#"{"kty":"RSA","n":"AQAB","e":"AQAB","d":"secret","p":"s","q":"s","dp":"s","dq":"s","qi":"s","k":"s","kid":"other","alg":"HS256"}"#;

    #[test]
    fn private_members_are_never_published() {
        let jwk = public_jwk("kid-1", Alg::Rs256, RSA_PRIVATE_JWK).unwrap();
        for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(!jwk.contains_key(member), "{member} was published");
        }
        assert_eq!(jwk["n"], "AQAB");
    }

    #[test]
    fn kid_alg_and_use_come_from_the_row_not_the_stored_json() {
        let jwk = public_jwk("kid-1", Alg::Rs256, RSA_PRIVATE_JWK).unwrap();
        assert_eq!(jwk["kid"], "kid-1");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
    }

    #[test]
    fn a_jwk_of_the_wrong_type_or_missing_members_is_corrupt() {
        let ec = r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#;
        assert!(matches!(
            public_jwk("kid-1", Alg::Rs256, ec),
            Err(KeyError::CorruptPublicKey { .. })
        ));
        let no_y = r#"{"kty":"EC","crv":"P-256","x":"AA"}"#;
        assert!(matches!(
            public_jwk("kid-1", Alg::Es256, no_y),
            Err(KeyError::CorruptPublicKey { .. })
        ));
        let ed448 = r#"{"kty":"OKP","crv":"Ed448","x":"AA"}"#;
        assert!(matches!(
            public_jwk("kid-1", Alg::EdDsa, ed448),
            Err(KeyError::CorruptPublicKey { .. })
        ));
        assert!(matches!(
            public_jwk("kid-1", Alg::EdDsa, "not json"),
            Err(KeyError::CorruptPublicKey { .. })
        ));
    }

    #[test]
    fn document_wraps_keys_in_a_keys_array() {
        let okp = public_jwk(
            "kid-2",
            Alg::EdDsa,
            r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#,
        )
        .unwrap();
        let bytes = document([&okp]);
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["keys"][0]["kid"], "kid-2");
        assert_eq!(parsed["keys"].as_array().unwrap().len(), 1);
        assert_eq!(document([]), &br#"{"keys":[]}"#[..]);
    }
}
