//! The key ring against a real (in-memory `SQLite`) database: first start,
//! rotation through its whole lifecycle, and encryption at rest.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::*;
use crate::clock::{Clock, ManualClock, SharedClock};
use crate::db::signing_keys::SigningKey;
use crate::db::{self, Db};

const OVERLAP: Duration = Duration::from_hours(1);
const RETAIN: Duration = Duration::from_hours(2);
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

async fn fresh_db() -> Db {
    let db = db::connect("sqlite::memory:", 1).await.unwrap();
    db::migrate(&db).await.unwrap();
    db
}

fn settings(encryption_key: Option<[u8; 32]>) -> KeySettings {
    KeySettings {
        encryption_key,
        rotation_overlap: OVERLAP,
        retain_after_retire: RETAIN,
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::macros::datetime!(2030-01-01 00:00 UTC),
    ))
}

async fn ring(
    db: &Db,
    clock: &Arc<ManualClock>,
    settings: KeySettings,
) -> Result<KeyRing, KeyError> {
    KeyRing::load(db, Arc::clone(clock) as SharedClock, settings).await
}

fn jwks_kids(ring: &KeyRing) -> Vec<String> {
    let jwks: Value = serde_json::from_slice(&ring.jwks_json()).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn claims() -> Map<String, Value> {
    json!({"iss": "https://gatehouse.example", "sub": "5b0c3c9e"})
        .as_object()
        .unwrap()
        .clone()
}

async fn rows(db: &Db) -> Vec<SigningKey> {
    db::signing_keys::find_signing_keys(db).await.unwrap()
}

#[tokio::test]
async fn fresh_database_gets_one_active_key_per_alg_and_a_public_jwks_of_three() {
    let db = fresh_db().await;
    let ring = ring(&db, &clock(), settings(None)).await.unwrap();

    let jwks: Value = serde_json::from_slice(&ring.jwks_json()).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let kids: HashSet<&str> = keys
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 3, "kids are not unique");
    for key in keys {
        assert_eq!(key["use"], "sig");
        for member in PRIVATE_MEMBERS {
            assert!(
                key.get(member).is_none(),
                "JWKS publishes private member {member}: {key}"
            );
        }
    }
    for alg in Alg::ALL {
        let kid = ring.active_kid(alg).unwrap();
        let published = keys.iter().find(|key| key["kid"] == kid.as_str()).unwrap();
        assert_eq!(published["alg"], alg.as_str());
    }
}

#[tokio::test]
async fn loading_again_reuses_the_existing_keys() {
    let db = fresh_db().await;
    let clock = clock();
    let first = ring(&db, &clock, settings(None)).await.unwrap();
    let second = ring(&db, &clock, settings(None)).await.unwrap();
    assert_eq!(rows(&db).await.len(), 3);
    for alg in Alg::ALL {
        assert_eq!(first.active_kid(alg), second.active_kid(alg));
    }
}

#[tokio::test]
async fn every_alg_signs_with_its_active_key_and_verifies() {
    let db = fresh_db().await;
    let ring = ring(&db, &clock(), settings(None)).await.unwrap();
    for alg in Alg::ALL {
        let token = ring.sign(alg, Some("JWT"), &claims()).unwrap();
        assert_eq!(ring.verify(&token).unwrap(), claims(), "{alg}");
        let header = token.split('.').next().unwrap();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], ring.active_kid(alg).unwrap().as_str());
        assert_eq!(header["alg"], alg.as_str());
    }
}

#[tokio::test]
async fn a_rotated_key_goes_through_upcoming_active_retired_then_leaves_the_jwks() {
    let db = fresh_db().await;
    let clock = clock();
    let ring = ring(&db, &clock, settings(None)).await.unwrap();
    let old_kid = ring.active_kid(Alg::Es256).unwrap();
    let old_token = ring.sign(Alg::Es256, None, &claims()).unwrap();

    // Rotation publishes the new key at the next refresh, but does not sign with it yet.
    let new = rotate(&db, clock.as_ref(), &settings(None), Some(Alg::Es256))
        .await
        .unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].state, KeyState::Upcoming);
    assert_eq!(new[0].activates_at, clock.unix() + 3_600);
    let before = ring.generation();
    ring.refresh(&db).await.unwrap();
    assert!(jwks_kids(&ring).contains(&new[0].kid));
    let published = ring.generation();
    assert_ne!(published, before, "a key was published");
    ring.refresh(&db).await.unwrap();
    assert_eq!(ring.generation(), published, "nothing changed since");
    assert_eq!(ring.active_kid(Alg::Es256), Some(old_kid.clone()));

    // Past the overlap the new key signs; the old one still verifies its tokens.
    clock.advance(OVERLAP);
    ring.refresh(&db).await.unwrap();
    assert_eq!(ring.active_kid(Alg::Es256), Some(new[0].kid.clone()));
    assert!(jwks_kids(&ring).contains(&old_kid));
    assert_eq!(ring.verify(&old_token).unwrap(), claims());
    let old = list(&db, clock.as_ref(), &settings(None))
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == old_kid)
        .unwrap();
    assert_eq!(old.state, KeyState::Retired);
    assert_eq!(old.published_until, Some(new[0].activates_at + 7_200));

    // Once every token it signed has expired, the old key is unpublished.
    clock.advance(RETAIN);
    let before = ring.generation();
    ring.refresh(&db).await.unwrap();
    assert_ne!(ring.generation(), before, "a key was withdrawn");
    assert!(!jwks_kids(&ring).contains(&old_kid));
    assert_eq!(jwks_kids(&ring).len(), 3);
    assert!(matches!(ring.verify(&old_token), Err(KeyError::UnknownKey)));
}

#[tokio::test]
async fn rotating_every_alg_adds_one_upcoming_key_each_and_list_reports_them() {
    let db = fresh_db().await;
    let clock = clock();
    let ring = ring(&db, &clock, settings(None)).await.unwrap();
    let new = rotate(&db, clock.as_ref(), &settings(None), None)
        .await
        .unwrap();
    assert_eq!(
        new.iter().map(|key| key.alg).collect::<Vec<_>>(),
        Alg::ALL.to_vec()
    );

    let listed = list(&db, clock.as_ref(), &settings(None)).await.unwrap();
    assert_eq!(listed.len(), 6);
    assert_eq!(
        listed
            .iter()
            .filter(|key| key.state == KeyState::Active)
            .count(),
        3
    );
    assert_eq!(
        listed
            .iter()
            .filter(|key| key.state == KeyState::Upcoming)
            .count(),
        3
    );
    for alg in Alg::ALL {
        let active = listed
            .iter()
            .find(|key| key.alg == alg && key.state == KeyState::Active)
            .unwrap();
        assert_eq!(ring.active_kid(alg).as_deref(), Some(active.kid.as_str()));
    }
    let shown = serde_json::to_value(&listed[0]).unwrap();
    assert_eq!(shown["state"], "active");
    assert_eq!(shown["alg"], "RS256");
}

#[tokio::test]
async fn encrypted_rows_hold_no_clear_private_key_and_reload_with_the_same_key() {
    let db = fresh_db().await;
    let clock = clock();
    let key = Some([42; 32]);
    let first = ring(&db, &clock, settings(key)).await.unwrap();
    for row in rows(&db).await {
        assert!(row.private_key.starts_with("v1:aes256gcm:"), "{}", row.kid);
        assert!(!row.private_key.contains("PRIVATE KEY"), "{}", row.kid);
    }
    let again = ring(&db, &clock, settings(key)).await.unwrap();
    let token = again.sign(Alg::Rs256, None, &claims()).unwrap();
    assert_eq!(first.verify(&token).unwrap(), claims());
}

#[tokio::test]
async fn encrypted_keys_refuse_to_load_with_a_wrong_or_missing_key_naming_the_kid() {
    let db = fresh_db().await;
    let clock = clock();
    ring(&db, &clock, settings(Some([1; 32]))).await.unwrap();
    let kids: Vec<String> = rows(&db).await.into_iter().map(|row| row.kid).collect();

    let wrong = ring(&db, &clock, settings(Some([2; 32])))
        .await
        .unwrap_err();
    assert!(
        matches!(&wrong, KeyError::CannotDecrypt { kid } if kids.contains(kid)),
        "{wrong:?}"
    );
    assert!(
        kids.iter()
            .any(|kid| wrong.to_string().contains(kid.as_str()))
    );

    let missing = ring(&db, &clock, settings(None)).await.unwrap_err();
    assert!(
        matches!(&missing, KeyError::EncryptionKeyMissing { kid } if kids.contains(kid)),
        "{missing:?}"
    );
}

#[tokio::test]
async fn plain_keys_still_load_once_encryption_is_turned_on() {
    let db = fresh_db().await;
    let clock = clock();
    let plain = ring(&db, &clock, settings(None)).await.unwrap();
    let encrypted = ring(&db, &clock, settings(Some([7; 32]))).await.unwrap();
    assert_eq!(
        plain.active_kid(Alg::EdDsa),
        encrypted.active_kid(Alg::EdDsa)
    );
    let token = encrypted.sign(Alg::EdDsa, None, &claims()).unwrap();
    assert_eq!(plain.verify(&token).unwrap(), claims());
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_kid_does_not_load() {
    let db = fresh_db().await;
    let clock = clock();
    let key = Some([9; 32]);
    ring(&db, &clock, settings(key)).await.unwrap();
    let original = rows(&db)
        .await
        .into_iter()
        .find(|row| row.alg == "ES256")
        .unwrap();
    let copy = SigningKey {
        kid: "copied-kid".to_owned(),
        activates_at: original.activates_at + 1,
        ..original
    };
    db::signing_keys::insert_signing_key(&db, &copy)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let error = ring(&db, &clock, settings(key)).await.unwrap_err();
    assert!(
        matches!(&error, KeyError::CannotDecrypt { kid } if kid == "copied-kid"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_forged_signature_is_refused_by_the_ring() {
    let db = fresh_db().await;
    let ring = ring(&db, &clock(), settings(None)).await.unwrap();
    let token = ring.sign(Alg::Rs256, None, &claims()).unwrap();
    let forged = format!("{}.{}", token.rsplit_once('.').unwrap().0, "AAAA");
    assert!(matches!(ring.verify(&forged), Err(KeyError::BadSignature)));
}

#[test]
fn settings_debug_hides_the_encryption_key() {
    let debug = format!("{:?}", settings(Some([0xAB; 32])));
    assert!(debug.contains("<redacted>"));
    assert!(!debug.contains("171"), "{debug}");
}
