//! The DynamoDB adapter against DynamoDB Local: the same contract suites the in-memory
//! twin passes (`wxlogin::testing::contract`), so the two cannot drift, and what only a
//! real table can hold (a mangled item).

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use devkit::stack::TestStack;
use wxlogin::domain::SessionToken;
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::ports::Sessions;
use wxlogin::testing::contract;

#[tokio::test]
async fn the_table_honours_the_sessions_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::sessions(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_code_claims_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::code_claims(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_access_token_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::access_tokens(&stack.store()).await;
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

#[tokio::test]
async fn an_expired_session_leaves_the_table_at_logout() {
    use std::time::Duration;
    use wxlogin::domain::{Session, WeChatLogin};

    let stack = TestStack::start().await.unwrap();
    let store = stack.store();
    let now = now_epoch_seconds();
    let token = SessionToken::generate().unwrap();
    let login = WeChatLogin {
        openid: "o1".into(),
        unionid: None,
        session_key: "tiihtNczf5v6AKRyjwEUhQ==".to_owned().into(),
    };
    let expired = Session::start(login, now - 7300, Duration::from_secs(7200));
    store.put_session(&token.hash(), &expired).await.unwrap();
    assert!(!store.delete_session(&token.hash(), now).await.unwrap());
    assert!(
        stack.items().await.unwrap().is_empty(),
        "the expired item is gone too"
    );
}
