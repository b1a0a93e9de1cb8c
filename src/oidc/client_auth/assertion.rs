//! `private_key_jwt` client assertions (RFC 7523 §3, OpenID Connect Core
//! §9): the framing, signature and claims checks of one assertion.

#[allow(
    clippy::wildcard_imports,
    reason = "the parent's constants and imports"
)]
use super::*;

pub(super) struct Assertion<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// What the claims checks established.
pub(super) struct CheckedClaims<'a> {
    pub(super) client_id: &'a str,
    pub(super) exp: i64,
    pub(super) jti: &'a str,
}

impl<'a> Assertion<'a> {
    pub(super) fn parse(jwt: &'a str) -> Result<Self, &'static str> {
        if jwt.len() > MAX_ASSERTION_LEN {
            return Err("assertion too large");
        }
        let mut parts = jwt.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWS");
        };
        Ok(Self {
            header: decode_json(header)?,
            claims: decode_json(payload)?,
            signing_input: &jwt[..header.len() + 1 + payload.len()],
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|_| "malformed signature")?,
        })
    }

    /// RFC 7523 §3 items 1 to 7, except the signature (item 9).
    pub(super) fn check_claims(
        &self,
        audience: &Audience<'_>,
        now: i64,
    ) -> Result<CheckedClaims<'_>, &'static str> {
        let text = |name| self.claims.get(name).and_then(Value::as_str);
        let (Some(iss), Some(sub)) = (text("iss"), text("sub")) else {
            return Err("iss or sub missing");
        };
        if iss != sub {
            return Err("iss differs from sub");
        }
        let accepted = [audience.token_endpoint, audience.issuer, audience.endpoint];
        let names_us = |aud: &Value| aud.as_str().is_some_and(|aud| accepted.contains(&aud));
        let aud_ok = match self.claims.get("aud") {
            Some(Value::Array(auds)) => auds.iter().any(names_us),
            Some(aud) => names_us(aud),
            None => false,
        };
        if !aud_ok {
            return Err("aud does not name this server");
        }
        let exp = self.date("exp")?.ok_or("exp missing")?;
        if now >= exp + CLOCK_SKEW {
            return Err("expired");
        }
        if exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW {
            return Err("exp too far ahead");
        }
        for name in ["iat", "nbf"] {
            if self.date(name)?.is_some_and(|date| date > now + CLOCK_SKEW) {
                return Err("iat or nbf in the future");
            }
        }
        let jti = text("jti")
            .filter(|jti| !jti.is_empty())
            .ok_or("jti missing")?;
        Ok(CheckedClaims {
            client_id: iss,
            exp,
            jti,
        })
    }

    /// A `NumericDate` claim (RFC 7519 §2), which may have a fraction.
    pub(super) fn date(&self, name: &str) -> Result<Option<i64>, &'static str> {
        let Some(value) = self.claims.get(name) else {
            return Ok(None);
        };
        #[allow(
            clippy::cast_possible_truncation,
            reason = "`as` saturates; an absurd date is refused by the range checks anyway"
        )]
        let seconds = value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|seconds| seconds.is_finite())
                .map(|seconds| seconds.floor() as i64)
        });
        seconds.map(Some).ok_or("malformed date")
    }

    /// RFC 7515 §5.2 with the client's registered keys: the key is chosen by
    /// `kid` when there is one, else every key of the algorithm's type is
    /// tried. josekit also refuses a key whose `alg`, `use` or `key_ops`
    /// forbid this use.
    pub(super) fn verify_signature(&self, jwks: &Value) -> Result<(), &'static str> {
        let alg = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or("alg missing")?;
        let alg = AssertionAlg::from_name(alg).ok_or("alg refused")?;
        if self.header.contains_key("crit") {
            return Err("crit header");
        }
        let kid = match self.header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err("malformed kid"),
        };
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("unreadable jwks")?;
        let verified = keys
            .iter()
            .filter_map(Value::as_object)
            .filter(|key| key.get("kty").and_then(Value::as_str) == Some(alg.key_type()))
            .filter(|key| kid.is_none_or(|kid| key.get("kid").and_then(Value::as_str) == Some(kid)))
            .filter_map(|key| alg.verifier(key).ok())
            .any(|verifier| {
                verifier
                    .verify(self.signing_input.as_bytes(), &self.signature)
                    .is_ok()
            });
        if verified {
            Ok(())
        } else {
            Err("no registered key verifies the signature")
        }
    }
}

pub(super) fn decode_json(part: &str) -> Result<Map<String, Value>, &'static str> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| "malformed base64url")?;
    serde_json::from_slice(&bytes).map_err(|_| "malformed JSON")
}

/// The asymmetric algorithms accepted for assertions (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Clone, Copy)]
pub(super) enum AssertionAlg {
    Rs256,
    Ps256,
    Es256,
    EdDsa,
}

impl AssertionAlg {
    pub(super) fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    pub(super) fn key_type(self) -> &'static str {
        match self {
            Self::Rs256 | Self::Ps256 => "RSA",
            Self::Es256 => "EC",
            Self::EdDsa => "OKP",
        }
    }

    pub(super) fn verifier(
        self,
        key: &Map<String, Value>,
    ) -> Result<Box<dyn JwsVerifier>, JoseError> {
        let jwk = Jwk::from_map(key.clone())?;
        Ok(match self {
            Self::Rs256 => Box::new(RS256.verifier_from_jwk(&jwk)?),
            Self::Ps256 => Box::new(PS256.verifier_from_jwk(&jwk)?),
            Self::Es256 => Box::new(ES256.verifier_from_jwk(&jwk)?),
            Self::EdDsa => Box::new(EdDSA.verifier_from_jwk(&jwk)?),
        })
    }
}
