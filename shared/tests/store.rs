//! The DynamoDB store against DynamoDB Local: expiry on read, claims, logout.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use devkit::stack::TestStack;
use secrecy::ExposeSecret;
use wxlogin::clock::now_epoch_seconds;
use wxlogin::session::{ClaimError, Session, SessionToken};
use wxlogin::wechat::LoginCode;

fn session(expires_at: i64) -> Session {
    Session {
        openid: "oGZUI0egBJY1zhBYw2KhdUfwVJJE".into(),
        unionid: Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA".into()),
        session_key: "tiihtNczf5v6AKRyjwEUhQ==".to_owned().into(),
        created_at: expires_at - 7200,
        expires_at,
    }
}

#[tokio::test]
async fn sessions_round_trip_until_they_expire() {
    let stack = TestStack::start().await.unwrap();
    let store = stack.store();
    let now = now_epoch_seconds();
    let token = SessionToken::generate().unwrap();
    store
        .put_session(&token.hash(), &session(now + 100))
        .await
        .unwrap();

    let live = store
        .get_session(&token.hash(), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.openid, "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
    assert_eq!(
        live.unionid.as_deref(),
        Some("ocMvos6NjeKLIBqg5Mr9QjxrP1FA")
    );
    assert_eq!(live.session_key.expose_secret(), "tiihtNczf5v6AKRyjwEUhQ==");

    // DynamoDB Local never runs TTL, and AWS runs it late: the read must check.
    assert!(
        store
            .get_session(&token.hash(), now + 100)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_session(&token.hash(), now + 10_000)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn unknown_and_deleted_tokens_have_no_session() {
    let stack = TestStack::start().await.unwrap();
    let store = stack.store();
    let now = now_epoch_seconds();
    let token = SessionToken::generate().unwrap();
    assert!(
        store
            .get_session(&token.hash(), now)
            .await
            .unwrap()
            .is_none()
    );

    store
        .put_session(&token.hash(), &session(now + 100))
        .await
        .unwrap();
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
        .put_session(&expired.hash(), &session(now - 1))
        .await
        .unwrap();
    assert!(!store.delete_session(&expired.hash(), now).await.unwrap());
    assert!(
        stack.items().await.unwrap().is_empty(),
        "the expired item is gone too"
    );
}

#[tokio::test]
async fn a_live_claim_blocks_and_an_expired_one_does_not() {
    let stack = TestStack::start().await.unwrap();
    let store = stack.store();
    let now = now_epoch_seconds();
    let code = LoginCode::parse("raceMe").unwrap();

    let claim = store.claim_code(&code, now).await.unwrap();
    assert!(matches!(
        store.claim_code(&code, now + 299).await,
        Err(ClaimError::AlreadyClaimed)
    ));
    // Past the 5-minute life of a code the leftover item (TTL not yet run) is ignored.
    let later = store.claim_code(&code, now + 300).await.unwrap();

    // Releasing the stale claim must not free the newer one.
    store.release_code(claim).await.unwrap();
    assert!(matches!(
        store.claim_code(&code, now + 301).await,
        Err(ClaimError::AlreadyClaimed)
    ));
    store.release_code(later).await.unwrap();
    store.claim_code(&code, now + 302).await.unwrap();
}

#[tokio::test]
async fn a_mangled_session_item_reads_as_absent() {
    let stack = TestStack::start().await.unwrap();
    let token = SessionToken::generate().unwrap();
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.table)
        .item(
            "pk",
            AttributeValue::S(format!("session#{}", token.hash().as_hex())),
        )
        .item("openid", AttributeValue::N("12".into()))
        .item("expires_at", AttributeValue::S("soon".into()))
        .send()
        .await
        .unwrap();

    let read = stack
        .store()
        .get_session(&token.hash(), now_epoch_seconds())
        .await
        .unwrap();
    assert!(read.is_none());
}
