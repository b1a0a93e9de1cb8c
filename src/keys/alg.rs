//! The JWS algorithms Gatehouse signs with (RFC 7518 §3.1, RFC 8037 §3.1).
//!
//! Only three, on purpose: RS256 because OIDC Core §15.1 makes it
//! the one every relying party must support (and so the default for ID
//! tokens), ES256 and `EdDSA` (Ed25519) because they are much faster and give
//! short tokens. Each has a fixed key size, so there is nothing to configure
//! and nothing to get wrong: RSA 2048 bits, P-256, Ed25519.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A signing algorithm, spelled in JSON exactly as in a JOSE `alg` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Alg {
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Alg {
    /// Every algorithm, in the order keys are created and listed.
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name, as in the `alg` header, JWKS and the database column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name was none of `RS256`, `ES256`, `EdDSA` (JOSE names are case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signing algorithm (expected RS256, ES256 or EdDSA)")]
pub struct UnknownAlg;

impl FromStr for Alg {
    type Err = UnknownAlg;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Alg::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or(UnknownAlg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alg_parses_back_from_its_name() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>(), Ok(alg));
        }
    }

    #[test]
    fn names_are_case_sensitive_and_none_is_refused() {
        assert_eq!("rs256".parse::<Alg>(), Err(UnknownAlg));
        assert_eq!("EDDSA".parse::<Alg>(), Err(UnknownAlg));
        assert_eq!("none".parse::<Alg>(), Err(UnknownAlg));
        assert_eq!("HS256".parse::<Alg>(), Err(UnknownAlg));
    }

    #[test]
    fn serde_uses_the_jose_names() {
        assert_eq!(serde_json::to_string(&Alg::EdDsa).unwrap(), r#""EdDSA""#);
        assert_eq!(
            serde_json::from_str::<Alg>(r#""ES256""#).unwrap(),
            Alg::Es256
        );
        assert!(serde_json::from_str::<Alg>(r#""Es256""#).is_err());
    }
}
