//! Authorization codes (RFC 6749 §4.1.2, §10.5): 256 random bits, stored
//! only as their SHA-256, short-lived, and taken atomically so that exactly
//! one redemption can succeed, whichever instance serves it.
//!
//! A redeemed code leaves a "spent" marker naming the tokens minted from it.
//! A second redemption finds the marker and revokes those tokens
//! (RFC 6749 §4.1.2: "the authorization server … SHOULD revoke (when
//! possible) all tokens previously issued based on that authorization code").

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::authorize::request::AuthorizationRequest;
use super::grant::Grant;
use crate::app::AppState;
use crate::login::Session;
use crate::store::StoreError;

/// How long a spent marker is kept: well past any code's life.
const SPENT_MARKER_LIFETIME: Duration = Duration::from_mins(15);

/// What a code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    pub grant: Grant,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    /// Chosen now so that a replay can revoke what the first redemption minted.
    pub access_jti: String,
    pub family_id: Uuid,
}

/// The identifiers of what a redemption minted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spent {
    pub access_jti: String,
    pub family_id: Uuid,
}

pub enum Redemption {
    Valid(Box<CodeRecord>),
    /// Already redeemed: the tokens it minted are to be revoked.
    Replayed(Spent),
    Unknown,
}

fn code_key(code: &str) -> String {
    format!("code:{}", crate::security::sha256_b64url(code.as_bytes()))
}

fn spent_key(code: &str) -> String {
    format!(
        "code_spent:{}",
        crate::security::sha256_b64url(code.as_bytes())
    )
}

/// Stores a new code for `request`, signed in through `session`.
pub async fn issue(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<String, StoreError> {
    let code = crate::security::random_token(32);
    let lifetime = state.config.tokens.authorization_code_seconds;
    let record = CodeRecord {
        grant: Grant {
            sub: Some(session.sub),
            client_id: request.client_id.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            auth_time: Some(session.auth_time),
            acr: Some(session.acr.clone()),
            amr: session.amr.clone(),
            sid: Some(session.sid.clone()),
            claims: request.claims.clone(),
        },
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        expires_at: state.clock.unix() + i64::try_from(lifetime).unwrap_or(60),
        access_jti: crate::security::random_token(16),
        family_id: super::refresh::new_family_id(),
    };
    crate::store::put_json(
        state.store.as_ref(),
        &code_key(&code),
        &record,
        Duration::from_secs(lifetime),
    )
    .await?;
    Ok(code)
}

/// Takes the code once. The spent marker is written before any token is
/// minted, so a replay racing the first redemption still finds it.
pub async fn redeem(state: &AppState, code: &str) -> Result<Redemption, StoreError> {
    let store = state.store.as_ref();
    match crate::store::take_json::<CodeRecord>(store, &code_key(code)).await? {
        Some(record) => {
            let spent = Spent {
                access_jti: record.access_jti.clone(),
                family_id: record.family_id,
            };
            crate::store::put_json(store, &spent_key(code), &spent, SPENT_MARKER_LIFETIME).await?;
            Ok(Redemption::Valid(Box::new(record)))
        }
        None => Ok(crate::store::get_json::<Spent>(store, &spent_key(code))
            .await?
            .map_or(Redemption::Unknown, Redemption::Replayed)),
    }
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in
/// constant time; the verifier is 43–128 unreserved characters.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && crate::security::sha256_b64url(verifier.as_bytes())
            .as_bytes()
            .ct_eq(challenge.as_bytes())
            .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
        assert!(!pkce_matches(challenge, "short"));
    }
}
