//! The DynamoDB adapter against DynamoDB Local: the same contract suites the in-memory
//! twin passes (`wxlogin::testing::contract`), so the two cannot drift, and what only a
//! real table can hold (a mangled item).

use aws_sdk_dynamodb::types::AttributeValue;
use devkit::stack::TestStack;
use wxlogin::domain::SessionToken;
use wxlogin::domain::clock::now_epoch_millis;
use wxlogin::ports::Sessions;
use wxlogin::testing::contract;

#[tokio::test]
async fn the_table_honours_the_sessions_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::sessions(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_users_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::users(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_user_directory_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::user_directory(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_code_claims_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::code_claims(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_quotas_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::quotas(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_access_token_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::access_tokens(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_pack_readings_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::pack_readings(&stack.store()).await;
}

#[tokio::test]
async fn the_table_honours_the_erasure_contract() {
    let stack = TestStack::start().await.unwrap();
    contract::erasure(&stack.store(), async || {
        let items = stack.items().await.unwrap();
        items
            .iter()
            .map(|item| item["pk"].as_s().unwrap().clone())
            .collect()
    })
    .await;
}

#[tokio::test]
async fn a_mangled_session_item_reads_as_absent() {
    let stack = TestStack::start().await.unwrap();
    let token = wxlogin::testing::unknown_token();
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
        .get_session(&token, now_epoch_millis())
        .await
        .unwrap();
    assert!(read.is_none());
}

#[tokio::test]
async fn a_user_item_lists_sessions_and_holds_no_ttl() {
    let stack = TestStack::start().await.unwrap();
    let (token, _) = stack.logged_in_user(serde_json::json!({})).await.unwrap();
    let token = SessionToken::parse(&token).unwrap();
    let items = stack.items().await.unwrap();
    let user = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap().starts_with("user#"))
        .expect("a login writes the user");
    assert_eq!(
        user["pk"].as_s().unwrap(),
        &format!("user#{}", token.user_key().as_hex())
    );
    assert!(
        !user.contains_key("expires_at"),
        "a stack keeping users for good gives them no TTL"
    );
    let listed = user["sessions"].as_ss().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].ends_with(token.hash().as_hex()));
}

/// DynamoDB Local holds session keys and phone numbers: a web page of another origin open
/// on this machine gets no CORS grant from it, so its browser cannot read the answers.
#[tokio::test]
async fn dynamodb_local_grants_no_web_page_cross_origin_access() {
    let stack = TestStack::start().await.unwrap();
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, &stack.dynamodb_endpoint)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target",
        )
        .send()
        .await
        .unwrap();
    let list = http
        .post(&stack.dynamodb_endpoint)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.ListTables")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    for response in [&preflight, &list] {
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{:?}",
            response.headers()
        );
    }
}
