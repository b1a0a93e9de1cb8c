//! Every query against the real migrated schema, on SQLite and PostgreSQL.
//!
//! Each body below takes a fresh, migrated database. [`on_both_backends!`]
//! runs each body as its own test on an in-memory SQLite database, and all of
//! them in sequence on one throw-away PostgreSQL cluster (initdb costs
//! seconds), each body in a database of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use gatehouse_migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tokio::sync::Barrier;
use uuid::Uuid;

use super::Unique as _;
use super::audit::{NewAuditEvent, find_audit_events, insert_audit_event};
use super::clients::{
    ClientRecord, delete_client, find_client, find_clients, insert_client, upsert_client,
};
use super::consents::{delete_consent, find_consent, upsert_consent};
use super::entity::{
    client_redirect_uris, clients as client_rows, consents as consent_rows, password_credentials,
    refresh_tokens as refresh_token_rows, user_roles,
};
use super::organisations::{
    NewOrganisation, find_organisation_by_id, find_organisation_by_name, insert_organisation,
};
use super::refresh_tokens::{
    Family, NewFamily, RotateOutcome, Rotation, TokenRow, delete_expired_families, find_family,
    find_token, insert_family, record_rotations, revoke_family, rotate,
};
use super::signing_keys::{SigningKey, find_signing_keys, insert_signing_key};
use super::users::{
    Authentication, NewUser, delete_role, find_password_hash, find_roles, find_user_by_id,
    find_user_by_username, find_user_with_password_hash, find_users_by_email, insert_role,
    insert_user, update_mfa_enforcement, upsert_password_hash,
};
use super::{Db, DbError, SqliteTarget, connect, migrate, ping};

const NOW: i64 = 1_900_000_000;

/// Runs each test body on its own fresh in-memory SQLite database, and all of
/// them in sequence on one throw-away PostgreSQL cluster (a database each):
/// one cluster per suite, because `initdb` costs seconds.
macro_rules! on_both_backends {
    ($suite:literal, $pg_test:ident; $($body:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $body() {
                    super::$body(&$crate::db::tests::fresh_sqlite().await).await;
                }
            )*
        }

        #[tokio::test]
        async fn $pg_test() {
            let Some(server) = $crate::testing::services::postgres($suite) else { return };
            let admin = $crate::db::tests::connect_with_retry(&server.url).await;
            $(
                eprintln!("{}: {}", $suite, stringify!($body));
                let db = $crate::db::tests::fresh_postgres_database(&admin, &server.url).await;
                $body(&db).await;
                db.close().await.unwrap();
            )*
        }
    };
}
pub(super) use on_both_backends;

on_both_backends!(
    "db::postgres",
    every_query_behaves_the_same_on_postgres;
    migrations_apply_once_and_a_second_run_changes_nothing,
    migrations_roll_back_and_apply_again,
    organisation_is_found_by_name_and_by_id,
    duplicate_organisation_name_is_a_conflict,
    user_is_found_by_username_by_id_and_by_shared_email,
    duplicate_username_is_a_conflict,
    user_of_an_unknown_organisation_is_refused,
    roles_are_granted_once_and_listed_in_order,
    mfa_enforcement_is_set_per_authentication,
    password_hash_upsert_replaces_the_previous_hash,
    user_and_password_hash_come_back_together_by_username,
    deleting_a_user_removes_their_roles_and_password,
    client_is_found_with_its_redirect_uris,
    duplicate_client_id_is_a_conflict_and_changes_nothing,
    upsert_replaces_fields_and_uris_but_keeps_created_at,
    all_clients_are_listed_in_id_order_with_their_own_uris,
    deleting_a_client_removes_its_redirect_uris,
    corrupt_json_column_is_reported_as_corrupt,
    signing_keys_come_back_by_alg_then_activation,
    duplicate_kid_is_a_conflict,
    audit_events_come_back_newest_first_and_per_organisation,
    refresh_family_and_first_token_are_found_by_hash,
    family_of_an_unknown_client_is_refused,
    family_whose_first_token_hash_is_taken_is_not_stored,
    rotation_spends_the_old_token_once_and_links_the_new_one,
    rotation_to_a_taken_hash_leaves_the_old_token_unspent,
    recorded_rotations_land_in_one_batch_even_as_a_chain,
    a_recorded_rotation_of_a_deleted_family_is_not_found,
    a_long_chain_recorded_at_once_leaves_only_its_last_token_unspent,
    family_is_revoked_once_and_keeps_the_first_time,
    expired_families_are_deleted_with_their_tokens,
    concurrent_rotations_of_one_token_yield_exactly_one_rotated,
    consent_grants_accumulate_as_a_sorted_union,
    consent_is_deleted_once_and_only_for_its_client,
    consent_for_an_unknown_user_is_refused,
    concurrent_consent_grants_are_all_kept,
);

/// A pooled PostgreSQL connection the server dropped while it sat idle (a
/// restart, a proxy's idle timeout) is pinged when taken out and replaced,
/// so the query that takes it still succeeds; connections in constant use
/// are not pinged (see the module docs).
#[tokio::test]
async fn a_postgres_connection_dropped_while_idle_is_replaced_unseen() {
    let Some(server) = crate::testing::services::postgres("db::postgres_idle_ping") else {
        return;
    };
    let admin = connect_with_retry(&server.url).await;
    let db = fresh_postgres_database(&admin, &server.url).await;
    crate::db::users::find_user_by_username(&db, "nobody")
        .await
        .unwrap();
    let dropped = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname <> current_database() AND backend_type = 'client backend'",
        ))
        .await
        .unwrap();
    assert!(!dropped.is_empty(), "the pool had no connection to drop");
    tokio::time::sleep(super::PING_IF_IDLE_FOR + Duration::from_millis(300)).await;
    for _ in 0..4 {
        crate::db::users::find_user_by_username(&db, "nobody")
            .await
            .expect("a dropped idle connection is replaced before use");
    }
}

pub(crate) async fn fresh_sqlite() -> Db {
    // More than one connection asked for: an in-memory database must get one.
    let db = connect("sqlite::memory:", 4).await.unwrap();
    migrate(&db).await.unwrap();
    db
}

/// PostgreSQL may refuse connections ("starting up") just after its port opens.
pub(super) async fn connect_with_retry(url: &str) -> Db {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = match connect(url, 2).await {
            Ok(db) => ping(&db).await.map(|()| db),
            Err(err) => Err(err),
        };
        match attempt {
            Ok(db) => return db,
            Err(err) if Instant::now() < deadline => {
                eprintln!("db::postgres: not ready yet ({err:?})");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("PostgreSQL did not accept connections: {err:?}"),
        }
    }
}

pub(super) async fn fresh_postgres_database(admin: &Db, server_url: &str) -> Db {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("gatehouse_test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let mut url = url::Url::parse(server_url).unwrap();
    url.set_path(&name);
    let db = connect(url.as_str(), 4).await.unwrap();
    migrate(&db).await.unwrap();
    db
}

fn new_user(username: &str, email: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: email.to_owned(),
        ..NewUser::default()
    }
}

fn new_organisation(name: &str) -> NewOrganisation {
    NewOrganisation {
        name: name.to_owned(),
        address: Some("1 Quay Street, Dublin".to_owned()),
        registration_number: Some("IE123456".to_owned()),
        manager_name: Some("Ada Manager".to_owned()),
        manager_email: Some("ada@example.com".to_owned()),
    }
}

fn sample_client(client_id: &str) -> ClientRecord {
    ClientRecord {
        client_id: client_id.to_owned(),
        name: Some("Customer console".to_owned()),
        secret_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        auth_method: "client_secret_basic".to_owned(),
        grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
        scopes: vec![],
        redirect_uris: vec![
            "https://console.example.com/callback".to_owned(),
            "http://127.0.0.1:8080/cb".to_owned(),
        ],
        post_logout_redirect_uris: vec!["https://console.example.com/bye".to_owned()],
        first_party: true,
        require_pkce: true,
        require_par: false,
        access_token_format: "jwt".to_owned(),
        id_token_signed_response_alg: None,
        jwks: Some(json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"}]})),
        backchannel_logout_uri: Some("https://console.example.com/bcl".to_owned()),
        backchannel_logout_session_required: true,
        from_config: false,
        created_at: NOW,
        updated_at: NOW,
    }
}

/// The record as `find_client` returns it: URIs sorted.
fn as_stored(mut client: ClientRecord) -> ClientRecord {
    client.redirect_uris.sort();
    client.post_logout_redirect_uris.sort();
    client
}

async fn redirect_uri_rows(db: &Db, client_id: &str) -> u64 {
    client_redirect_uris::Entity::find()
        .filter(client_redirect_uris::Column::ClientId.eq(client_id))
        .count(db)
        .await
        .unwrap()
}

async fn migrations_apply_once_and_a_second_run_changes_nothing(db: &Db) {
    let expected = Migrator::migrations().len();
    assert_eq!(
        Migrator::get_applied_migrations(db).await.unwrap().len(),
        expected
    );

    migrate(db).await.unwrap();

    assert_eq!(
        Migrator::get_applied_migrations(db).await.unwrap().len(),
        expected
    );
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn migrations_roll_back_and_apply_again(db: &Db) {
    Migrator::down(db, None).await.unwrap();
    let gone = find_user_by_username(db, "anyone").await;
    assert!(matches!(gone, Err(DbError::Unavailable(_))), "{gone:?}");

    migrate(db).await.unwrap();
    let user = insert_user(db, new_user("alice", "alice@example.com"), NOW)
        .await
        .unwrap();
    assert_eq!(find_user_by_id(db, user.id).await.unwrap(), Some(user));
}

async fn organisation_is_found_by_name_and_by_id(db: &Db) {
    let org = insert_organisation(db, new_organisation("Acme"), NOW)
        .await
        .unwrap();
    assert_eq!(org.name, "Acme");
    assert_eq!(org.created_at, NOW);

    assert_eq!(
        find_organisation_by_name(db, "Acme").await.unwrap(),
        Some(org.clone())
    );
    assert_eq!(
        find_organisation_by_id(db, org.id).await.unwrap(),
        Some(org)
    );
    assert_eq!(find_organisation_by_name(db, "Nobody").await.unwrap(), None);
    assert_eq!(
        find_organisation_by_id(db, Uuid::new_v4()).await.unwrap(),
        None
    );
}

async fn duplicate_organisation_name_is_a_conflict(db: &Db) {
    insert_organisation(db, new_organisation("Acme"), NOW)
        .await
        .unwrap();
    let err = insert_organisation(db, new_organisation("Acme"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    assert_eq!(err.to_string(), "organisation `Acme` already exists");
}

async fn user_is_found_by_username_by_id_and_by_shared_email(db: &Db) {
    let org = insert_organisation(db, new_organisation("Acme"), NOW)
        .await
        .unwrap();
    let bob = insert_user(
        db,
        NewUser {
            org_id: Some(org.id),
            title: Some("mr".to_owned()),
            given_name: Some("Bob".to_owned()),
            family_name: Some("Builder".to_owned()),
            phone: Some("+353861234567".to_owned()),
            ..new_user("bob", "team@example.com")
        },
        NOW,
    )
    .await
    .unwrap();
    let alice = insert_user(db, new_user("alice", "team@example.com"), NOW)
        .await
        .unwrap();
    insert_user(db, new_user("carol", "carol@example.com"), NOW)
        .await
        .unwrap();

    assert_ne!(alice.id, bob.id);
    assert_eq!(bob.org_id, Some(org.id));
    assert!(!bob.email_verified && !bob.mfa_console && !bob.mfa_api && !bob.disabled);
    assert_eq!(
        find_user_by_username(db, "bob").await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        find_user_by_id(db, bob.id).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(find_user_by_username(db, "nobody").await.unwrap(), None);
    assert_eq!(
        find_users_by_email(db, "team@example.com").await.unwrap(),
        vec![alice, bob],
    );
}

async fn duplicate_username_is_a_conflict(db: &Db) {
    insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();
    let err = insert_user(db, new_user("alice", "other@example.com"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    assert_eq!(err.to_string(), "user `alice` already exists");
    assert_eq!(
        find_users_by_email(db, "other@example.com").await.unwrap(),
        vec![]
    );
}

async fn user_of_an_unknown_organisation_is_refused(db: &Db) {
    let user = NewUser {
        org_id: Some(Uuid::new_v4()),
        ..new_user("alice", "a@example.com")
    };
    let err = insert_user(db, user, NOW).await.unwrap_err();
    assert!(matches!(err, DbError::NotFound("organisation")), "{err:?}");
    assert_eq!(find_user_by_username(db, "alice").await.unwrap(), None);
}

async fn roles_are_granted_once_and_listed_in_order(db: &Db) {
    let user = insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();
    assert_eq!(find_roles(db, user.id).await.unwrap(), Vec::<String>::new());

    insert_role(db, user.id, "security_manager").await.unwrap();
    insert_role(db, user.id, "billing").await.unwrap();
    insert_role(db, user.id, "security_manager").await.unwrap();

    assert_eq!(
        find_roles(db, user.id).await.unwrap(),
        ["billing", "security_manager"]
    );
    assert!(delete_role(db, user.id, "billing").await.unwrap());
    assert!(!delete_role(db, user.id, "billing").await.unwrap());
    assert_eq!(find_roles(db, user.id).await.unwrap(), ["security_manager"]);
    let err = insert_role(db, Uuid::new_v4(), "billing")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound("user")), "{err:?}");
}

async fn mfa_enforcement_is_set_per_authentication(db: &Db) {
    let user = insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();

    update_mfa_enforcement(db, user.id, Authentication::Console, true, NOW + 10)
        .await
        .unwrap();
    let stored = find_user_by_id(db, user.id).await.unwrap().unwrap();
    assert!(stored.mfa_console);
    assert!(!stored.mfa_api);
    assert_eq!(stored.updated_at, NOW + 10);

    update_mfa_enforcement(db, user.id, Authentication::Api, true, NOW + 20)
        .await
        .unwrap();
    update_mfa_enforcement(db, user.id, Authentication::Console, false, NOW + 30)
        .await
        .unwrap();
    let stored = find_user_by_id(db, user.id).await.unwrap().unwrap();
    assert!(!stored.mfa_console);
    assert!(stored.mfa_api);

    let err = update_mfa_enforcement(db, Uuid::new_v4(), Authentication::Api, true, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound("user")), "{err:?}");
}

async fn password_hash_upsert_replaces_the_previous_hash(db: &Db) {
    let user = insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();
    assert_eq!(find_password_hash(db, user.id).await.unwrap(), None);

    upsert_password_hash(db, user.id, "$argon2id$first", NOW)
        .await
        .unwrap();
    upsert_password_hash(db, user.id, "$argon2id$second", NOW + 60)
        .await
        .unwrap();

    assert_eq!(
        find_password_hash(db, user.id).await.unwrap().as_deref(),
        Some("$argon2id$second"),
    );
    let row = password_credentials::Entity::find_by_id(user.id)
        .unique(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.updated_at, NOW + 60);
    let err = upsert_password_hash(db, Uuid::new_v4(), "$argon2id$x", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound("user")), "{err:?}");
}

async fn user_and_password_hash_come_back_together_by_username(db: &Db) {
    let alice = insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();
    insert_user(db, new_user("bob", "b@example.com"), NOW)
        .await
        .unwrap();
    upsert_password_hash(db, alice.id, "$argon2id$alice", NOW)
        .await
        .unwrap();

    let (user, hash) = find_user_with_password_hash(db, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, alice.id);
    assert_eq!(hash.as_deref(), Some("$argon2id$alice"));
    let (user, hash) = find_user_with_password_hash(db, "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, "bob");
    assert_eq!(hash, None, "no password set yet");
    assert!(
        find_user_with_password_hash(db, "carol")
            .await
            .unwrap()
            .is_none()
    );
}

async fn deleting_a_user_removes_their_roles_and_password(db: &Db) {
    let user = insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();
    insert_role(db, user.id, "security_manager").await.unwrap();
    upsert_password_hash(db, user.id, "$argon2id$hash", NOW)
        .await
        .unwrap();

    super::entity::users::Entity::delete_by_id(user.id)
        .exec(db)
        .await
        .unwrap();

    assert_eq!(find_password_hash(db, user.id).await.unwrap(), None);
    let roles = user_roles::Entity::find()
        .filter(user_roles::Column::UserId.eq(user.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(roles, 0);
}

async fn client_is_found_with_its_redirect_uris(db: &Db) {
    let client = sample_client("console");
    insert_client(db, &client).await.unwrap();

    let found = find_client(db, "console").await.unwrap();
    assert_eq!(found, Some(as_stored(client)));
    assert_eq!(find_client(db, "unknown").await.unwrap(), None);
}

async fn duplicate_client_id_is_a_conflict_and_changes_nothing(db: &Db) {
    let client = sample_client("console");
    insert_client(db, &client).await.unwrap();
    let mut other = sample_client("console");
    other.name = Some("Impostor".to_owned());
    other.redirect_uris = vec!["https://evil.example.net/cb".to_owned()];

    let err = insert_client(db, &other).await.unwrap_err();

    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    assert_eq!(err.to_string(), "client `console` already exists");
    assert_eq!(
        find_client(db, "console").await.unwrap(),
        Some(as_stored(client))
    );
}

async fn upsert_replaces_fields_and_uris_but_keeps_created_at(db: &Db) {
    let mut client = sample_client("from-file");
    client.from_config = true;
    upsert_client(db, &client).await.unwrap();
    assert_eq!(
        find_client(db, "from-file").await.unwrap(),
        Some(as_stored(client.clone()))
    );

    let changed = ClientRecord {
        name: None,
        secret_hash: None,
        auth_method: "none".to_owned(),
        grant_types: vec!["urn:ietf:params:oauth:grant-type:device_code".to_owned()],
        scopes: vec!["openid".to_owned(), "api".to_owned()],
        redirect_uris: vec!["https://new.example.com/cb".to_owned()],
        post_logout_redirect_uris: vec![],
        first_party: false,
        require_par: true,
        access_token_format: "opaque".to_owned(),
        id_token_signed_response_alg: Some("ES256".to_owned()),
        jwks: None,
        created_at: NOW + 500,
        updated_at: NOW + 500,
        ..client.clone()
    };
    upsert_client(db, &changed).await.unwrap();

    let stored = find_client(db, "from-file").await.unwrap().unwrap();
    assert_eq!(
        stored,
        ClientRecord {
            created_at: NOW,
            ..changed
        }
    );
    assert_eq!(redirect_uri_rows(db, "from-file").await, 1);
}

async fn all_clients_are_listed_in_id_order_with_their_own_uris(db: &Db) {
    let mut zeta = sample_client("zeta");
    zeta.redirect_uris = vec!["https://zeta.example.com/cb".to_owned()];
    zeta.post_logout_redirect_uris = vec![];
    let alpha = sample_client("alpha");
    let mut bare = sample_client("middle");
    bare.redirect_uris = vec![];
    bare.post_logout_redirect_uris = vec![];
    for client in [&zeta, &alpha, &bare] {
        insert_client(db, client).await.unwrap();
    }

    let all = find_clients(db).await.unwrap();

    assert_eq!(all, vec![as_stored(alpha), bare, zeta]);
}

async fn deleting_a_client_removes_its_redirect_uris(db: &Db) {
    insert_client(db, &sample_client("gone")).await.unwrap();
    insert_client(db, &sample_client("kept")).await.unwrap();
    assert_eq!(redirect_uri_rows(db, "gone").await, 3);

    assert!(delete_client(db, "gone").await.unwrap());

    assert_eq!(redirect_uri_rows(db, "gone").await, 0);
    assert_eq!(redirect_uri_rows(db, "kept").await, 3);
    assert_eq!(find_client(db, "gone").await.unwrap(), None);
    assert!(!delete_client(db, "gone").await.unwrap());
}

async fn corrupt_json_column_is_reported_as_corrupt(db: &Db) {
    insert_client(db, &sample_client("broken")).await.unwrap();
    client_rows::Entity::update_many()
        .col_expr(client_rows::Column::GrantTypes, Expr::value("[not json"))
        .filter(client_rows::Column::ClientId.eq("broken"))
        .exec(db)
        .await
        .unwrap();

    let err = find_client(db, "broken").await.unwrap_err();

    assert!(
        matches!(&err, DbError::Corrupt(column) if column == "clients.grant_types"),
        "{err:?}"
    );
    assert!(matches!(find_clients(db).await, Err(DbError::Corrupt(_))));
}

fn signing_key(kid: &str, alg: &str, activates_at: i64) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        alg: alg.to_owned(),
        private_key: format!("envelope:v1:{kid}"),
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        created_at: NOW,
        activates_at,
    }
}

async fn signing_keys_come_back_by_alg_then_activation(db: &Db) {
    let keys = [
        signing_key("rsa-new", "RS256", NOW + 86_400),
        signing_key("ec-1", "ES256", NOW),
        signing_key("rsa-old", "RS256", NOW - 86_400),
        signing_key("ed-1", "EdDSA", NOW),
        signing_key("rsa-now", "RS256", NOW),
    ];
    for key in &keys {
        insert_signing_key(db, key).await.unwrap();
    }

    let found = find_signing_keys(db).await.unwrap();

    let order: Vec<&str> = found.iter().map(|key| key.kid.as_str()).collect();
    assert_eq!(order, ["ec-1", "ed-1", "rsa-old", "rsa-now", "rsa-new"]);
    assert_eq!(found[0], keys[1]);
}

async fn duplicate_kid_is_a_conflict(db: &Db) {
    insert_signing_key(db, &signing_key("k1", "RS256", NOW))
        .await
        .unwrap();
    let err = insert_signing_key(db, &signing_key("k1", "ES256", NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    assert_eq!(find_signing_keys(db).await.unwrap()[0].alg, "RS256");
}

async fn audit_events_come_back_newest_first_and_per_organisation(db: &Db) {
    let (acme, other) = (Uuid::new_v4(), Uuid::new_v4());
    let event = |kind: &str, org_id: Uuid, at: i64| NewAuditEvent {
        kind: kind.to_owned(),
        actor: "system".to_owned(),
        user_id: Some(Uuid::new_v4()),
        org_id: Some(org_id),
        client_id: Some("console".to_owned()),
        ip: Some("192.0.2.7".to_owned()),
        detail: json!({"kind": kind}),
        at,
    };
    for (kind, org_id, at) in [
        ("first", acme, NOW),
        ("elsewhere", other, NOW + 5),
        ("second", acme, NOW + 10),
        ("third-same-second", acme, NOW + 10),
    ] {
        insert_audit_event(db, event(kind, org_id, at))
            .await
            .unwrap();
    }

    let kinds = |events: Vec<super::audit::AuditEvent>| -> Vec<String> {
        events.into_iter().map(|e| e.kind).collect()
    };
    assert_eq!(
        kinds(find_audit_events(db, Some(acme), 10).await.unwrap()),
        ["third-same-second", "second", "first"],
    );
    assert_eq!(
        kinds(find_audit_events(db, None, 2).await.unwrap()),
        ["third-same-second", "second"],
    );
    let newest = find_audit_events(db, Some(other), 10).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].detail, json!({"kind": "elsewhere"}));
    assert_eq!(newest[0].ip.as_deref(), Some("192.0.2.7"));
}

/// A client and a user for grants to hang on; returns the user's id.
pub(crate) async fn grant_parties(db: &Db) -> Uuid {
    insert_client(db, &sample_client("console")).await.unwrap();
    insert_user(db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap()
        .id
}

pub(crate) fn new_family(user_id: Uuid, expires_at: i64) -> NewFamily {
    NewFamily {
        id: Uuid::new_v4(),
        client_id: "console".to_owned(),
        user_id: Some(user_id),
        scope: "openid profile offline_access".to_owned(),
        sid: Some("sid-1".to_owned()),
        auth_time: NOW - 30,
        acr: Some("urn:gatehouse:mfa".to_owned()),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        created_at: NOW,
        expires_at,
    }
}

async fn token_rows_of(db: &Db, family_id: Uuid) -> u64 {
    refresh_token_rows::Entity::find()
        .filter(refresh_token_rows::Column::FamilyId.eq(family_id))
        .count(db)
        .await
        .unwrap()
}

async fn refresh_family_and_first_token_are_found_by_hash(db: &Db) {
    let user_id = grant_parties(db).await;
    let new = new_family(user_id, NOW + 86_400);
    insert_family(db, &new, "hash-1").await.unwrap();

    let (token, family) = find_token(db, "hash-1").await.unwrap().unwrap();

    assert_eq!(
        token,
        TokenRow {
            token_hash: "hash-1".to_owned(),
            family_id: new.id,
            issued_at: NOW,
            spent_at: None,
        }
    );
    let expected = Family {
        id: new.id,
        client_id: "console".to_owned(),
        user_id: Some(user_id),
        scope: new.scope.clone(),
        sid: new.sid.clone(),
        auth_time: NOW - 30,
        acr: new.acr.clone(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        created_at: NOW,
        expires_at: NOW + 86_400,
        revoked_at: None,
    };
    assert_eq!(family, expected);
    assert_eq!(find_family(db, new.id).await.unwrap(), Some(expected));
    assert_eq!(find_token(db, "never-issued").await.unwrap(), None);
    assert_eq!(find_family(db, Uuid::new_v4()).await.unwrap(), None);
}

async fn family_of_an_unknown_client_is_refused(db: &Db) {
    let user_id = grant_parties(db).await;
    let family = NewFamily {
        client_id: "unknown".to_owned(),
        ..new_family(user_id, NOW + 60)
    };

    let err = insert_family(db, &family, "hash-1").await.unwrap_err();

    assert!(matches!(err, DbError::NotFound(_)), "{err:?}");
    assert_eq!(find_token(db, "hash-1").await.unwrap(), None);
}

async fn family_whose_first_token_hash_is_taken_is_not_stored(db: &Db) {
    let user_id = grant_parties(db).await;
    insert_family(db, &new_family(user_id, NOW + 60), "hash-1")
        .await
        .unwrap();
    let second = new_family(user_id, NOW + 60);

    let err = insert_family(db, &second, "hash-1").await.unwrap_err();

    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    assert_eq!(err.to_string(), "refresh token already exists");
    assert_eq!(find_family(db, second.id).await.unwrap(), None);
}

async fn rotation_spends_the_old_token_once_and_links_the_new_one(db: &Db) {
    let user_id = grant_parties(db).await;
    let family = new_family(user_id, NOW + 86_400);
    insert_family(db, &family, "old").await.unwrap();

    let first = rotate(db, "old", "new", NOW + 60).await.unwrap();
    let replay = rotate(db, "old", "replayed", NOW + 120).await.unwrap();
    let unknown = rotate(db, &Uuid::new_v4().to_string(), "x", NOW)
        .await
        .unwrap();

    assert_eq!(first, RotateOutcome::Rotated);
    assert_eq!(replay, RotateOutcome::AlreadySpent);
    assert_eq!(unknown, RotateOutcome::Unknown);
    let (old, _) = find_token(db, "old").await.unwrap().unwrap();
    assert_eq!(old.spent_at, Some(NOW + 60), "the replay changed nothing");
    let (new, new_family_row) = find_token(db, "new").await.unwrap().unwrap();
    assert_eq!(new.family_id, family.id);
    assert_eq!(new.issued_at, NOW + 60);
    assert_eq!(new.spent_at, None);
    assert_eq!(new_family_row.id, family.id);
    assert_eq!(find_token(db, "replayed").await.unwrap(), None);
    assert_eq!(find_token(db, "x").await.unwrap(), None);
    assert_eq!(
        rotate(db, "new", "newer", NOW + 180).await.unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(token_rows_of(db, family.id).await, 3);
}

async fn rotation_to_a_taken_hash_leaves_the_old_token_unspent(db: &Db) {
    let user_id = grant_parties(db).await;
    insert_family(db, &new_family(user_id, NOW + 60), "old")
        .await
        .unwrap();
    insert_family(db, &new_family(user_id, NOW + 60), "taken")
        .await
        .unwrap();

    let err = rotate(db, "old", "taken", NOW + 1).await.unwrap_err();

    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    let (old, _) = find_token(db, "old").await.unwrap().unwrap();
    assert_eq!(old.spent_at, None);
    assert_eq!(
        rotate(db, "old", "fresh", NOW + 2).await.unwrap(),
        RotateOutcome::Rotated
    );
}

fn rotation(old: &str, new: &str, family_id: Uuid, at: i64) -> Rotation {
    Rotation {
        old_hash: old.to_owned(),
        new_hash: new.to_owned(),
        family_id,
        at,
    }
}

async fn recorded_rotations_land_in_one_batch_even_as_a_chain(db: &Db) {
    let user_id = grant_parties(db).await;
    let one = new_family(user_id, NOW + 86_400);
    let two = new_family(user_id, NOW + 86_400);
    insert_family(db, &one, "a").await.unwrap();
    insert_family(db, &two, "x").await.unwrap();
    let batch = [
        rotation("a", "b", one.id, NOW + 1),
        rotation("x", "y", two.id, NOW + 2),
        rotation("b", "c", one.id, NOW + 3),
    ];

    record_rotations(db, &batch).await.unwrap();
    record_rotations(db, &batch).await.unwrap(); // again: changes nothing
    record_rotations(db, &[]).await.unwrap();

    for spent in ["a", "b", "x"] {
        let (row, _) = find_token(db, spent).await.unwrap().unwrap();
        assert_eq!(row.spent_at, Some(NOW + 3), "{spent}");
    }
    let (c, family) = find_token(db, "c").await.unwrap().unwrap();
    assert_eq!(
        (c.spent_at, c.issued_at, family.id),
        (None, NOW + 3, one.id)
    );
    let (y, family) = find_token(db, "y").await.unwrap().unwrap();
    assert_eq!(
        (y.spent_at, y.issued_at, family.id),
        (None, NOW + 2, two.id)
    );
    assert_eq!(token_rows_of(db, one.id).await, 3);
    assert_eq!(
        rotate(db, "b", "b2", NOW + 4).await.unwrap(),
        RotateOutcome::AlreadySpent,
        "the database now recognises a replay of a token spent in the store"
    );
}

async fn a_long_chain_recorded_at_once_leaves_only_its_last_token_unspent(db: &Db) {
    let user_id = grant_parties(db).await;
    let family = new_family(user_id, NOW + 86_400);
    insert_family(db, &family, "t0").await.unwrap();
    // 73 rotations: more than one statement's worth, in several shapes.
    let chain: Vec<Rotation> = (0..73)
        .map(|i| rotation(&format!("t{i}"), &format!("t{}", i + 1), family.id, NOW + i))
        .collect();

    record_rotations(db, &chain).await.unwrap();

    assert_eq!(token_rows_of(db, family.id).await, 74);
    for i in 0..73 {
        let (row, _) = find_token(db, &format!("t{i}")).await.unwrap().unwrap();
        assert_eq!(row.spent_at, Some(NOW + 72), "t{i}");
    }
    let (last, _) = find_token(db, "t73").await.unwrap().unwrap();
    assert_eq!(last.spent_at, None);
}

async fn a_recorded_rotation_of_a_deleted_family_is_not_found(db: &Db) {
    let user_id = grant_parties(db).await;
    let family = new_family(user_id, NOW + 86_400);
    insert_family(db, &family, "a").await.unwrap();

    let err = record_rotations(db, &[rotation("a", "b", Uuid::new_v4(), NOW + 1)])
        .await
        .unwrap_err();

    assert!(matches!(err, DbError::NotFound(_)), "{err:?}");
    let (a, _) = find_token(db, "a").await.unwrap().unwrap();
    assert_eq!(a.spent_at, None, "nothing of a failed batch is kept");
}

async fn family_is_revoked_once_and_keeps_the_first_time(db: &Db) {
    let user_id = grant_parties(db).await;
    let family = new_family(user_id, NOW + 60);
    insert_family(db, &family, "hash-1").await.unwrap();

    assert!(revoke_family(db, family.id, NOW + 5).await.unwrap());
    assert!(!revoke_family(db, family.id, NOW + 9).await.unwrap());
    assert!(!revoke_family(db, Uuid::new_v4(), NOW).await.unwrap());

    let (_, stored) = find_token(db, "hash-1").await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, Some(NOW + 5));
}

async fn expired_families_are_deleted_with_their_tokens(db: &Db) {
    let user_id = grant_parties(db).await;
    let expired = new_family(user_id, NOW - 1);
    let ends_now = new_family(user_id, NOW);
    let live = new_family(user_id, NOW + 60);
    insert_family(db, &expired, "expired").await.unwrap();
    rotate(db, "expired", "expired-2", NOW - 10).await.unwrap();
    insert_family(db, &ends_now, "ends-now").await.unwrap();
    insert_family(db, &live, "live").await.unwrap();

    assert_eq!(delete_expired_families(db, NOW).await.unwrap(), 1);

    assert_eq!(find_family(db, expired.id).await.unwrap(), None);
    assert_eq!(token_rows_of(db, expired.id).await, 0);
    assert_eq!(find_token(db, "expired-2").await.unwrap(), None);
    assert!(find_token(db, "ends-now").await.unwrap().is_some());
    assert!(find_token(db, "live").await.unwrap().is_some());
    assert_eq!(delete_expired_families(db, NOW).await.unwrap(), 0);
}

async fn concurrent_rotations_of_one_token_yield_exactly_one_rotated(db: &Db) {
    const RACERS: usize = 20;
    let user_id = grant_parties(db).await;
    let family = new_family(user_id, NOW + 60);
    insert_family(db, &family, "contested").await.unwrap();
    let start = Arc::new(Barrier::new(RACERS));

    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (db, start) = (db.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                let outcome = rotate(&db, "contested", &format!("successor-{i}"), NOW + 1).await;
                (i, outcome)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        let (i, outcome) = racer.await.unwrap();
        match outcome.unwrap() {
            RotateOutcome::Rotated => winners.push(i),
            RotateOutcome::AlreadySpent => {}
            RotateOutcome::Unknown => panic!("racer {i} did not find the token"),
        }
    }

    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(token_rows_of(db, family.id).await, 2);
    let (successor, _) = find_token(db, &format!("successor-{}", winners[0]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(successor.family_id, family.id);
}

async fn consent_grants_accumulate_as_a_sorted_union(db: &Db) {
    let user_id = grant_parties(db).await;
    let scopes = |names: &[&str]| names.iter().map(|&s| s.to_owned()).collect::<Vec<_>>();
    assert_eq!(find_consent(db, user_id, "console").await.unwrap(), None);

    upsert_consent(db, user_id, "console", &scopes(&["profile", "openid"]), NOW)
        .await
        .unwrap();
    upsert_consent(
        db,
        user_id,
        "console",
        &scopes(&["openid", "email", "email"]),
        NOW + 60,
    )
    .await
    .unwrap();

    assert_eq!(
        find_consent(db, user_id, "console").await.unwrap(),
        Some(scopes(&["email", "openid", "profile"]))
    );
    let row = consent_rows::Entity::find_by_id((user_id, "console".to_owned()))
        .unique(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.granted_at, NOW + 60);
}

async fn consent_is_deleted_once_and_only_for_its_client(db: &Db) {
    let user_id = grant_parties(db).await;
    insert_client(db, &sample_client("other")).await.unwrap();
    let openid = ["openid".to_owned()];
    upsert_consent(db, user_id, "console", &openid, NOW)
        .await
        .unwrap();
    upsert_consent(db, user_id, "other", &openid, NOW)
        .await
        .unwrap();

    assert!(delete_consent(db, user_id, "console").await.unwrap());
    assert!(!delete_consent(db, user_id, "console").await.unwrap());

    assert_eq!(find_consent(db, user_id, "console").await.unwrap(), None);
    assert_eq!(
        find_consent(db, user_id, "other").await.unwrap(),
        Some(openid.to_vec())
    );
}

async fn consent_for_an_unknown_user_is_refused(db: &Db) {
    grant_parties(db).await;
    let stranger = Uuid::new_v4();

    let err = upsert_consent(db, stranger, "console", &["openid".to_owned()], NOW)
        .await
        .unwrap_err();

    assert!(matches!(err, DbError::NotFound(_)), "{err:?}");
    assert_eq!(find_consent(db, stranger, "console").await.unwrap(), None);
}

async fn concurrent_consent_grants_are_all_kept(db: &Db) {
    const GRANTS: usize = 10;
    let user_id = grant_parties(db).await;
    let start = Arc::new(Barrier::new(GRANTS));

    let grants: Vec<_> = (0..GRANTS)
        .map(|i| {
            let (db, start) = (db.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                upsert_consent(&db, user_id, "console", &[format!("scope-{i:02}")], NOW).await
            })
        })
        .collect();
    for grant in grants {
        grant.await.unwrap().unwrap();
    }

    let expected: Vec<String> = (0..GRANTS).map(|i| format!("scope-{i:02}")).collect();
    assert_eq!(
        find_consent(db, user_id, "console").await.unwrap(),
        Some(expected)
    );
}

/// The races above on SQLite files shared by several connections, as when
/// several tasks of one instance refresh at once (an in-memory database has a
/// single connection, which would serialise them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_with_several_connections_settles_races_like_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let fresh_file = |name: &str| {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        async move {
            let db = connect(&url, 8).await.unwrap();
            migrate(&db).await.unwrap();
            db
        }
    };

    concurrent_rotations_of_one_token_yield_exactly_one_rotated(&fresh_file("rotate.db").await)
        .await;
    concurrent_consent_grants_are_all_kept(&fresh_file("consent.db").await).await;
}

#[tokio::test]
async fn file_database_is_created_with_its_directory_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/gatehouse.db");
    let db = connect(&format!("sqlite://{}", path.display()), 4)
        .await
        .unwrap();

    assert!(path.is_file());
    let pragma = |name: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("PRAGMA {name}"),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("foreign_keys").await, "1");
    assert_eq!(pragma("busy_timeout").await, "5000");
    assert_eq!(pragma("cache_size").await, "-1024", "1 MiB per connection");
    migrate(&db).await.unwrap();
    insert_user(&db, new_user("alice", "a@example.com"), NOW)
        .await
        .unwrap();
}

#[tokio::test]
async fn explicit_mode_is_respected_for_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");

    let err = connect(&format!("sqlite://{}?mode=rw", path.display()), 1)
        .await
        .unwrap_err();

    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn sqlite_urls_are_told_apart() {
    assert_eq!(
        SqliteTarget::of("sqlite::memory:"),
        Some(SqliteTarget::Memory)
    );
    assert_eq!(
        SqliteTarget::of("sqlite://:memory:"),
        Some(SqliteTarget::Memory)
    );
    assert_eq!(
        SqliteTarget::of("sqlite://?mode=memory"),
        Some(SqliteTarget::Memory)
    );
    assert_eq!(
        SqliteTarget::of("sqlite://data/gatehouse.db"),
        Some(SqliteTarget::File {
            path: "data/gatehouse.db".into(),
            mode_given: false
        }),
    );
    assert_eq!(
        SqliteTarget::of("sqlite:///var/lib/gatehouse/db.sqlite?mode=ro"),
        Some(SqliteTarget::File {
            path: "/var/lib/gatehouse/db.sqlite".into(),
            mode_given: true
        }),
    );
    assert_eq!(
        SqliteTarget::of("postgres://postgres@127.0.0.1/postgres"),
        None
    );
}

#[test]
fn database_error_text_is_not_shown_to_people() {
    let err = DbError::Unavailable(DbErr::Custom(
        "connection to postgres://admin:hunter2@db failed".to_owned(),
    ));
    assert_eq!(err.to_string(), "the database is unavailable");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("hunter2"), "the cause is kept for the log");
}

#[test]
fn batches_are_cut_into_three_sizes_only_and_nothing_is_lost() {
    let items: Vec<u32> = (0..150).collect();
    let sizes: Vec<usize> = super::in_few_shapes(&items).map(<[u32]>::len).collect();
    assert_eq!(sizes, [64, 64, 8, 8, 1, 1, 1, 1, 1, 1]);
    let joined: Vec<u32> = super::in_few_shapes(&items).flatten().copied().collect();
    assert_eq!(joined, items);
    assert_eq!(super::in_few_shapes::<u32>(&[]).count(), 0);
}
