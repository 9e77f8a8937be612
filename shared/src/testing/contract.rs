//! The contract every store adapter must honour, one suite per port. Each takes a fresh,
//! empty store; `MemoryTable` runs them in this crate's tests and `DynamoTable` on
//! DynamoDB Local in `devkit/tests/store_contract.rs`. A suite panics on the first broken
//! promise, naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::clock::now_epoch_seconds;
use crate::domain::{CachedAccessToken, LoginCode, Session, SessionToken, WeChatLogin};
use crate::ports::{AccessTokenStore, CODE_CLAIM_TTL_SECONDS, ClaimError, CodeClaims, Sessions};

fn session_expiring_at(expires_at: i64) -> Session {
    let login = WeChatLogin {
        openid: "oGZUI0egBJY1zhBYw2KhdUfwVJJE".into(),
        unionid: Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA".into()),
        session_key: SecretString::from("tiihtNczf5v6AKRyjwEUhQ==".to_owned()),
    };
    Session::start(login, expires_at - 7200, Duration::from_secs(7200))
}

/// [`Sessions`]: round trip, expiry on read, logout once, leftovers deleted.
pub async fn sessions(store: &impl Sessions) {
    let now = now_epoch_seconds();
    let token = SessionToken::generate().unwrap();
    assert!(
        store
            .get_session(&token.hash(), now)
            .await
            .unwrap()
            .is_none(),
        "an unknown token has no session"
    );
    store
        .put_session(&token.hash(), &session_expiring_at(now + 100))
        .await
        .unwrap();
    let live = store
        .get_session(&token.hash(), now)
        .await
        .unwrap()
        .expect("a stored session reads back");
    assert_eq!(live.openid, "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
    assert_eq!(
        live.unionid.as_deref(),
        Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA")
    );
    assert_eq!(live.session_key.expose_secret(), "tiihtNczf5v6AKRyjwEUhQ==");
    assert_eq!((live.created_at, live.expires_at), (now - 7100, now + 100));

    // TTL deletion is lazy (never, in DynamoDB Local): the read itself must check.
    for later in [now + 100, now + 10_000] {
        assert!(
            store
                .get_session(&token.hash(), later)
                .await
                .unwrap()
                .is_none(),
            "a session is dead at its expires_at"
        );
    }

    assert!(store.delete_session(&token.hash(), now).await.unwrap());
    assert!(
        store
            .get_session(&token.hash(), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store.delete_session(&token.hash(), now).await.unwrap(),
        "a second logout finds nothing live"
    );

    let expired = SessionToken::generate().unwrap();
    store
        .put_session(&expired.hash(), &session_expiring_at(now - 1))
        .await
        .unwrap();
    assert!(!store.delete_session(&expired.hash(), now).await.unwrap());
    assert!(
        store
            .get_session(&expired.hash(), now - 10)
            .await
            .unwrap()
            .is_none(),
        "the expired leftover is deleted, not only refused"
    );
}

/// [`CodeClaims`]: one live claim per code; expired claims do not block; a stale claim's
/// release never frees a newer one.
pub async fn code_claims(store: &impl CodeClaims) {
    let now = now_epoch_seconds();
    let code = LoginCode::parse("raceMe").unwrap();

    let claim = store.claim_code(&code, now).await.unwrap();
    assert_eq!(
        store
            .claim_code(&code, now + CODE_CLAIM_TTL_SECONDS - 1)
            .await
            .unwrap_err(),
        ClaimError::AlreadyClaimed
    );
    let other = LoginCode::parse("another").unwrap();
    store.claim_code(&other, now).await.unwrap();

    // Past the 5-minute life of a code the leftover claim (TTL not yet run) is ignored.
    let later = store
        .claim_code(&code, now + CODE_CLAIM_TTL_SECONDS)
        .await
        .unwrap();
    store.release_code(claim).await.unwrap();
    assert_eq!(
        store
            .claim_code(&code, now + CODE_CLAIM_TTL_SECONDS + 1)
            .await
            .unwrap_err(),
        ClaimError::AlreadyClaimed,
        "releasing the stale claim must not free the newer one"
    );
    store.release_code(later).await.unwrap();
    store
        .claim_code(&code, now + CODE_CLAIM_TTL_SECONDS + 2)
        .await
        .expect("a released code can be claimed again");
}

/// [`AccessTokenStore`]: one token per appid, replaced whole, returned expired or not.
pub async fn access_tokens(store: &impl AccessTokenStore) {
    assert!(store.get_access_token("wxA").await.unwrap().is_none());
    // The first is long expired: the store returns it all the same, the caller decides.
    for (token, expires_at, fetched_at) in [("first", 2_000, 1_000), ("second", 9_000, 2_000)] {
        let cached = CachedAccessToken {
            token: token.into(),
            expires_at,
            fetched_at,
        };
        store.put_access_token("wxA", &cached).await.unwrap();
        let read = store.get_access_token("wxA").await.unwrap().unwrap();
        assert_eq!(
            (read.token.as_str(), read.expires_at, read.fetched_at),
            (token, expires_at, fetched_at)
        );
        assert!(
            store.get_access_token("wxB").await.unwrap().is_none(),
            "one token per appid"
        );
    }
}

#[cfg(test)]
mod memory_twin {
    use crate::testing::MemoryTable;

    #[tokio::test]
    async fn honours_the_sessions_contract() {
        super::sessions(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_code_claims_contract() {
        super::code_claims(&MemoryTable::new()).await;
    }

    #[tokio::test]
    async fn honours_the_access_token_contract() {
        super::access_tokens(&MemoryTable::new()).await;
    }
}
