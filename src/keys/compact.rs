//! JWS Compact Serialization (RFC 7515 §7.1), signing and verifying.
//!
//! Framed here rather than through josekit's `JwsHeader` helpers so each way
//! a token can be refused has its own error, and the header carries exactly
//! `alg`, `kid` and, when asked, `typ` (RFC 9068 §2.1 wants `at+jwt`; OIDC
//! Back-Channel Logout §2.4 wants `logout+jwt`). josekit still does the
//! cryptography. Verification follows RFC 7515 §5.2:
//!
//! 1. three base64url parts, a JSON object header;
//! 2. `alg` must be one we issue: `none` and HMAC are refused outright;
//! 3. no `crit` header, since we understand no extension (§4.1.11);
//! 4. the key is picked by `kid` among the published keys, and its algorithm
//!    must be the header's (no key confusion across algorithms);
//! 5. the signature is checked over `header.payload`;
//! 6. the payload must be a JSON object (the claims).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::loaded::LoadedKey;
use super::{Alg, KeyError};

pub(super) type Claims = Map<String, Value>;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// Signs `claims` (anything that serialises to a JSON object) with a key
/// that has its signer loaded.
pub(super) fn sign<C: Serialize + ?Sized>(
    key: &LoadedKey,
    typ: Option<&str>,
    claims: &C,
) -> Result<String, KeyError> {
    let signer = key.signer.as_ref().ok_or(KeyError::NoActiveKey(key.alg))?;
    let header = Header {
        alg: key.alg.as_str(),
        kid: &key.kid,
        typ,
    };
    let header = serde_json::to_vec(&header).map_err(KeyError::Serialise)?;
    let payload = serde_json::to_vec(claims).map_err(KeyError::Serialise)?;

    let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 400);
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// Verifies `token` with the published key `find_key` returns for its `kid`.
pub(super) fn verify<'k>(
    token: &str,
    find_key: impl Fn(&str) -> Option<&'k LoadedKey>,
) -> Result<Claims, KeyError> {
    // 1.
    let mut parts = token.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::MalformedToken);
    };
    let header: Claims = decode_json(header_part)?;

    // 2.
    let alg: Alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(KeyError::MalformedToken)?
        .parse()
        .map_err(|_| KeyError::AlgorithmRefused)?;

    // 3.
    if header.contains_key("crit") {
        return Err(KeyError::MalformedToken);
    }

    // 4.
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(KeyError::UnknownKey)?;
    let key = find_key(kid).ok_or(KeyError::UnknownKey)?;
    if key.alg != alg {
        return Err(KeyError::AlgorithmMismatch);
    }

    // 5.
    let signed_len = header_part.len() + 1 + payload_part.len();
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .map_err(|_| KeyError::MalformedToken)?;
    if !key
        .verifier
        .verify(&token.as_bytes()[..signed_len], &signature)
    {
        return Err(KeyError::BadSignature);
    }

    // 6.
    decode_json(payload_part)
}

fn decode_json(part: &str) -> Result<Claims, KeyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| KeyError::MalformedToken)?;
    serde_json::from_slice(&bytes).map_err(|_| KeyError::MalformedToken)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::keys::generate;

    fn signing_key(alg: Alg) -> LoadedKey {
        let key = generate::generate(alg).unwrap();
        let sealed = crate::keys::envelope::seal(&key.private_pem, &key.kid, None).unwrap();
        LoadedKey::signing(&key.kid, alg, &key.public_jwk, &sealed, None).unwrap()
    }

    fn claims() -> Claims {
        serde_json::json!({"sub": "248289761001", "aud": "s6BhdRkqt3", "exp": 1_311_281_970})
            .as_object()
            .unwrap()
            .clone()
    }

    fn keys_by_kid(keys: &[LoadedKey]) -> HashMap<&str, &LoadedKey> {
        keys.iter().map(|key| (key.kid.as_str(), key)).collect()
    }

    fn encode(json: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
    }

    fn parts(token: &str) -> Vec<&str> {
        token.split('.').collect()
    }

    #[test]
    fn each_alg_round_trips_and_writes_the_expected_header() {
        for alg in Alg::ALL {
            let key = signing_key(alg);
            let token = sign(&key, Some("at+jwt"), &claims()).unwrap();
            let header: Claims = decode_json(parts(&token)[0]).unwrap();
            assert_eq!(
                Value::Object(header),
                serde_json::json!({"alg": alg.as_str(), "kid": key.kid, "typ": "at+jwt"})
            );
            let keys = [key];
            let found = keys_by_kid(&keys);
            assert_eq!(
                verify(&token, |kid| found.get(kid).copied()).unwrap(),
                claims(),
                "{alg}"
            );
        }
    }

    #[test]
    fn typ_is_left_out_when_not_asked_for() {
        let key = signing_key(Alg::Es256);
        let token = sign(&key, None, &claims()).unwrap();
        let header: Claims = decode_json(parts(&token)[0]).unwrap();
        assert!(!header.contains_key("typ"));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let keys = [signing_key(Alg::EdDsa)];
        let token = sign(&keys[0], None, &claims()).unwrap();
        let mut forged = claims();
        forged.insert("sub".into(), "admin".into());
        let p = parts(&token);
        let tampered = format!("{}.{}.{}", p[0], encode(&Value::Object(forged)), p[2]);
        let found = keys_by_kid(&keys);
        assert!(matches!(
            verify(&tampered, |kid| found.get(kid).copied()),
            Err(KeyError::BadSignature)
        ));
    }

    #[test]
    fn alg_none_is_refused_even_with_a_known_kid() {
        let keys = [signing_key(Alg::Rs256)];
        let header = serde_json::json!({"alg": "none", "kid": keys[0].kid});
        let token = format!("{}.{}.", encode(&header), encode(&Value::Object(claims())));
        let found = keys_by_kid(&keys);
        assert!(matches!(
            verify(&token, |kid| found.get(kid).copied()),
            Err(KeyError::AlgorithmRefused)
        ));
    }

    #[test]
    fn unknown_or_missing_kid_is_refused() {
        let keys = [signing_key(Alg::Es256)];
        let token = sign(&keys[0], None, &claims()).unwrap();
        assert!(matches!(
            verify(&token, |_| None),
            Err(KeyError::UnknownKey)
        ));
        let header = serde_json::json!({"alg": "ES256"});
        let p = parts(&token);
        let no_kid = format!("{}.{}.{}", encode(&header), p[1], p[2]);
        let found = keys_by_kid(&keys);
        assert!(matches!(
            verify(&no_kid, |kid| found.get(kid).copied()),
            Err(KeyError::UnknownKey)
        ));
    }

    #[test]
    fn header_alg_different_from_the_keys_is_refused() {
        let rsa = signing_key(Alg::Rs256);
        let ec = signing_key(Alg::Es256);
        // A genuine ES256 signature, relabelled as the RSA key's.
        let token = sign(&ec, None, &claims()).unwrap();
        let header = serde_json::json!({"alg": "ES256", "kid": rsa.kid});
        let p = parts(&token);
        let relabelled = format!("{}.{}.{}", encode(&header), p[1], p[2]);
        let keys = [rsa, ec];
        let found = keys_by_kid(&keys);
        assert!(matches!(
            verify(&relabelled, |kid| found.get(kid).copied()),
            Err(KeyError::AlgorithmMismatch)
        ));
    }

    #[test]
    fn crit_headers_and_bad_framing_are_malformed() {
        let keys = [signing_key(Alg::EdDsa)];
        let found = keys_by_kid(&keys);
        let lookup = |kid: &str| found.get(kid).copied();
        let token = sign(&keys[0], None, &claims()).unwrap();
        let p = parts(&token);
        let crit =
            serde_json::json!({"alg": "EdDSA", "kid": keys[0].kid, "crit": ["exp"], "exp": 1});
        let with_crit = format!("{}.{}.{}", encode(&crit), p[1], p[2]);
        assert!(matches!(
            verify(&with_crit, lookup),
            Err(KeyError::MalformedToken)
        ));
        assert!(matches!(
            verify(&format!("{token}.x"), lookup),
            Err(KeyError::MalformedToken)
        ));
        assert!(matches!(
            verify("a.b", lookup),
            Err(KeyError::MalformedToken)
        ));
        assert!(matches!(
            verify(&format!("{}=.{}.{}", p[0], p[1], p[2]), lookup),
            Err(KeyError::MalformedToken)
        ));
    }

    #[test]
    fn a_payload_that_is_not_a_json_object_is_malformed() {
        let keys = [signing_key(Alg::Es256)];
        let key = &keys[0];
        let header = serde_json::json!({"alg": "ES256", "kid": key.kid});
        let message = format!(
            "{}.{}",
            encode(&header),
            encode(&serde_json::json!(["not", "claims"]))
        );
        let signature = key
            .signer
            .as_ref()
            .unwrap()
            .sign(message.as_bytes())
            .unwrap();
        let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature));
        let found = keys_by_kid(&keys);
        assert!(matches!(
            verify(&token, |kid| found.get(kid).copied()),
            Err(KeyError::MalformedToken)
        ));
    }

    #[test]
    fn a_verify_only_key_cannot_sign() {
        let key = generate::generate(Alg::Es256).unwrap();
        let verify_only = LoadedKey::verify_only(&key.kid, Alg::Es256, &key.public_jwk).unwrap();
        assert!(matches!(
            sign(&verify_only, None, &claims()),
            Err(KeyError::NoActiveKey(Alg::Es256))
        ));
    }
}
