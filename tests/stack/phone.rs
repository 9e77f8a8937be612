//! Every row of the API's `/decrypt-phone` table, through the handler with real
//! DynamoDB Local and a real sandbox over HTTP.

use std::time::Duration;

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use devkit::stack::{
    TEST_APPID, TestResponse, TestStack, assert_error, post, post_with_bearer, wechat_fault_table,
};
use lambda_http::Request;
use serde_json::{Value, json};
use wxlogin::adapters::dynamodb::DynamoTable;
use wxlogin::adapters::wechat::WeChatClient;
use wxlogin::domain::SessionToken;
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::ports::{AccessTokenStore, Sessions};
use wxlogin::testing::ServeHttp;
use wxlogin::usecases::PhoneNumbers;

const PHONE: &str = "13800138000";

async fn call(service: &PhoneNumbers<DynamoTable, WeChatClient>, request: Request) -> TestResponse {
    TestResponse::from_response(service.handle(request).await).unwrap()
}

async fn decrypt(
    service: &PhoneNumbers<DynamoTable, WeChatClient>,
    token: &str,
    body: &Value,
) -> TestResponse {
    call(service, post_with_bearer(token, body.to_string())).await
}

fn assert_phone(response: &TestResponse, phone: &str, pure: &str, country: &str) {
    assert_eq!(response.status, 200, "{:?}", response.json);
    assert_eq!(
        response.json,
        json!({ "phoneNumber": phone, "purePhoneNumber": pure, "countryCode": country }),
        "exactly the three fields"
    );
}

/// A logged-in user and the getPhoneNumber button's output for them.
async fn user_with_phone(stack: &TestStack) -> (String, Value, Value) {
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let phone = stack
        .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": PHONE }))
        .await
        .unwrap();
    (token, user, phone)
}

fn legacy(phone: &Value) -> Value {
    json!({ "encryptedData": phone["encryptedData"], "iv": phone["iv"] })
}

/// Encrypts `plaintext` as WeChat documents it (AES-128-CBC, PKCS#7, key = base64
/// session_key), independent of the sandbox.
fn wechat_encrypt(session_key: &str, iv: [u8; 16], plaintext: &Value) -> Value {
    let key: [u8; 16] = STANDARD.decode(session_key).unwrap().try_into().unwrap();
    let ciphertext = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
        .encrypt_padded_vec::<Pkcs7>(plaintext.to_string().as_bytes());
    json!({ "encryptedData": STANDARD.encode(ciphertext), "iv": STANDARD.encode(iv) })
}

#[tokio::test]
async fn the_legacy_form_decrypts_to_the_three_fields() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;

    let response = decrypt(&service, &token, &legacy(&phone)).await;

    assert_phone(&response, PHONE, PHONE, "86");
    assert_eq!(response.headers["cache-control"], "no-store");
    assert_eq!(
        stack.wechat_calls("getuserphonenumber").await.unwrap(),
        0,
        "no WeChat call"
    );
}

#[tokio::test]
async fn documented_wechat_plaintext_decrypts_including_foreign_numbers() {
    let stack = TestStack::start().await.unwrap();
    let service = without_watermark_age_check(&stack).await;
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let plaintext = json!({
        "phoneNumber": "+1 4155552671",
        "purePhoneNumber": "4155552671",
        "countryCode": "1",
        "watermark": { "timestamp": 1_477_314_187, "appid": TEST_APPID }
    });
    let body = wechat_encrypt(user["session_key"].as_str().unwrap(), [7; 16], &plaintext);

    assert_phone(
        &decrypt(&service, &token, &body).await,
        "+1 4155552671",
        "4155552671",
        "1",
    );
}

#[tokio::test]
async fn the_current_form_exchanges_the_code() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;

    let response = decrypt(&service, &token, &json!({ "code": phone["code"] })).await;

    assert_phone(&response, PHONE, PHONE, "86");
}

#[tokio::test]
async fn a_numeric_country_code_is_answered_as_a_string() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let phone = stack
        .sandbox_phone(
            json!({ "openid": user["openid"], "phoneNumber": PHONE, "countryCodeAsNumber": true }),
        )
        .await
        .unwrap();

    let response = decrypt(&service, &token, &json!({ "code": phone["code"] })).await;

    assert_phone(&response, PHONE, PHONE, "86");
}

#[tokio::test]
async fn the_access_token_is_fetched_once_and_shared_across_instances() {
    let stack = TestStack::start().await.unwrap();
    let first = stack.phone_service().await.unwrap();
    let second = stack.phone_service().await.unwrap();
    for service in [&first, &first, &second] {
        let (token, _, phone) = user_with_phone(&stack).await;
        let response = decrypt(service, &token, &json!({ "code": phone["code"] })).await;
        assert_eq!(response.status, 200, "{:?}", response.json);
    }
    assert_eq!(stack.wechat_calls("stable_token").await.unwrap(), 1);
    let cached = stack
        .store()
        .get_access_token(TEST_APPID)
        .await
        .unwrap()
        .expect("cached under its own key");
    assert!(cached.expires_at > now_epoch_seconds() + 7000);
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_once_and_the_call_retried() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;
    stack
        .sandbox_fault(json!({ "api": "getuserphonenumber", "errcode": 40001, "times": 1 }))
        .await
        .unwrap();
    let response = decrypt(&service, &token, &json!({ "code": phone["code"] })).await;
    assert_phone(&response, PHONE, PHONE, "86");
    // One plain refresh (the same token back), then the forced one.
    assert_eq!(stack.wechat_calls("stable_token").await.unwrap(), 1 + 2);
    assert_eq!(stack.sandbox_stats().await.unwrap()["forced_refreshes"], 1);

    // Within five minutes of that forced refresh no instance forces another: a second
    // rejection the plain refresh cannot cure is a clear 502, and the user taps again.
    let (token, _, phone) = user_with_phone(&stack).await;
    stack
        .sandbox_fault(json!({ "api": "getuserphonenumber", "errcode": 42001, "times": 1 }))
        .await
        .unwrap();
    let response = decrypt(&service, &token, &json!({ "code": phone["code"] })).await;
    assert_error(&response, 502, "wechat_error");
    assert_eq!(stack.wechat_calls("stable_token").await.unwrap(), 1 + 2 + 1);
    assert_eq!(stack.sandbox_stats().await.unwrap()["forced_refreshes"], 1);
    assert_eq!(stack.wechat_calls("getuserphonenumber").await.unwrap(), 3);
}

#[tokio::test]
async fn a_token_rejected_twice_is_wechat_error() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;
    stack
        .sandbox_fault(json!({ "api": "getuserphonenumber", "errcode": 40001, "times": 2 }))
        .await
        .unwrap();

    let response = decrypt(&service, &token, &json!({ "code": phone["code"] })).await;

    assert_error(&response, 502, "wechat_error");
    assert_eq!(
        stack.wechat_calls("getuserphonenumber").await.unwrap(),
        2,
        "retried once only"
    );
}

#[tokio::test]
async fn current_form_upstream_errors_follow_the_table() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let phone_code = || async {
        let phone = stack
            .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": PHONE }))
            .await
            .unwrap();
        json!({ "code": phone["code"] })
    };

    let unknown = decrypt(
        &service,
        &token,
        &json!({ "code": "0a3Xk9000AbCdE1fGh2iJk3lMn4oPq5r" }),
    )
    .await;
    assert_error(&unknown, 401, "invalid_code");

    let body = phone_code().await;
    assert_eq!(decrypt(&service, &token, &body).await.status, 200);
    assert_error(&decrypt(&service, &token, &body).await, 401, "invalid_code");

    for (fault, status, code) in wechat_fault_table() {
        let mut fault = fault;
        fault["api"] = json!("getuserphonenumber");
        stack.sandbox_fault(fault.clone()).await.unwrap();
        let response = decrypt(&service, &token, &phone_code().await).await;
        assert_error(&response, status, code);
        if status == 429 {
            assert_eq!(response.headers["retry-after"], "60");
        }
    }

    // stable_token failing is an upstream failure too, not a crash.
    let fresh_instance = stack.phone_service().await.unwrap();
    stack
        .store()
        .put_access_token(
            TEST_APPID,
            // Fetched now (a later write than the live token's, so it replaces it) but
            // already expired: the fresh instance must ask stable_token.
            &wxlogin::domain::CachedAccessToken {
                token: "expired".into(),
                expires_at: 0,
                requested_at_ms: wxlogin::domain::clock::now_epoch_millis(),
                fetched_at_ms: wxlogin::domain::clock::now_epoch_millis(),
            },
        )
        .await
        .unwrap();
    stack
        .sandbox_fault(json!({ "api": "stable_token", "errcode": -1, "times": 2 }))
        .await
        .unwrap();
    assert_error(
        &decrypt(&fresh_instance, &token, &phone_code().await).await,
        503,
        "wechat_unavailable",
    );
    assert_eq!(
        decrypt(&fresh_instance, &token, &phone_code().await)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn tokens_that_are_missing_malformed_unknown_expired_or_revoked_are_401() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, user, phone) = user_with_phone(&stack).await;
    let body = legacy(&phone).to_string();

    assert_error(
        &call(&service, post(body.clone())).await,
        401,
        "invalid_token",
    );
    let mut basic = post(body.clone());
    basic
        .headers_mut()
        .insert("authorization", format!("Basic {token}").parse().unwrap());
    assert_error(&call(&service, basic).await, 401, "invalid_token");
    assert_error(
        &call(&service, post_with_bearer("short", body.clone())).await,
        401,
        "invalid_token",
    );
    let unknown = wxlogin::testing::unknown_token();
    let response = call(&service, post_with_bearer(unknown.expose(), body.clone())).await;
    assert_error(&response, 401, "invalid_token");
    assert_eq!(response.headers["www-authenticate"], "Bearer");

    let expired = stack.expired_session(&user).await.unwrap();
    assert_error(
        &call(&service, post_with_bearer(expired.expose(), body.clone())).await,
        401,
        "invalid_token",
    );

    assert_eq!(
        call(&service, post_with_bearer(&token, body.clone()))
            .await
            .status,
        200
    );
    let parsed = SessionToken::parse(&token).unwrap();
    stack.store().delete_session(&parsed.hash()).await.unwrap();
    assert_error(
        &call(&service, post_with_bearer(&token, body)).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_and_never_reach_wechat() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;
    let data = phone["encryptedData"].as_str().unwrap();
    let iv = phone["iv"].as_str().unwrap();
    let sixteen = STANDARD.encode([1u8; 16]);

    for (name, body) in [
        ("not JSON", json!("{oops")),
        ("neither form", json!({})),
        (
            "both forms",
            json!({ "encryptedData": data, "iv": iv, "code": phone["code"] }),
        ),
        ("encryptedData without iv", json!({ "encryptedData": data })),
        ("iv without encryptedData", json!({ "iv": iv })),
        ("iv and code", json!({ "iv": iv, "code": phone["code"] })),
        (
            "encryptedData is a number",
            json!({ "encryptedData": 5, "iv": iv }),
        ),
        ("code is a number", json!({ "code": 5 })),
        ("code has a newline", json!({ "code": "abc\ndef" })),
        (
            "encryptedData not base64",
            json!({ "encryptedData": "%%%%", "iv": iv }),
        ),
        (
            "encryptedData URL alphabet",
            json!({ "encryptedData": data.replace('+', "-").replace('/', "_"), "iv": iv }),
        ),
        (
            "encryptedData empty",
            json!({ "encryptedData": "", "iv": iv }),
        ),
        (
            "encryptedData 17 bytes",
            json!({ "encryptedData": STANDARD.encode([1u8; 17]), "iv": iv }),
        ),
        (
            "iv 15 bytes",
            json!({ "encryptedData": data, "iv": STANDARD.encode([1u8; 15]) }),
        ),
        (
            "iv 17 bytes",
            json!({ "encryptedData": data, "iv": STANDARD.encode([1u8; 17]) }),
        ),
        (
            "iv without padding",
            json!({ "encryptedData": data, "iv": sixteen.trim_end_matches('=') }),
        ),
    ] {
        let body = match &body {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        };
        let response = call(&service, post_with_bearer(&token, body)).await;
        assert_error(&response, 400, "invalid_request");
        assert!(
            !response.json["message"].as_str().unwrap().contains(data),
            "{name}: never echo input"
        );
    }
    let big = json!({ "encryptedData": "A".repeat(20_000), "iv": iv });
    assert_error(
        &decrypt(&service, &token, &big).await,
        413,
        "payload_too_large",
    );
    let mut get = post_with_bearer(&token, legacy(&phone).to_string());
    *get.method_mut() = http::Method::GET;
    assert_error(&call(&service, get).await, 405, "method_not_allowed");
    assert_eq!(stack.wechat_calls("getuserphonenumber").await.unwrap(), 0);
}

#[tokio::test]
async fn a_plus_that_arrived_as_a_space_is_repaired() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    // Retry until the sandbox's random ciphertext contains a '+', so the repair is exercised.
    for _ in 0..20 {
        let (token, _, phone) = user_with_phone(&stack).await;
        let body = legacy(&phone).to_string();
        if !body.contains('+') {
            continue;
        }
        let response = decrypt(
            &service,
            &token,
            &serde_json::from_str::<Value>(&body.replace('+', " ")).unwrap(),
        )
        .await;
        assert_phone(&response, PHONE, PHONE, "86");
        return;
    }
    panic!("no '+' in 20 random ciphertexts");
}

#[tokio::test]
async fn data_made_before_a_relogin_is_a_session_key_mismatch() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (_, user, old_phone) = user_with_phone(&stack).await;

    // The user logs in again and WeChat rotates the key; our new session holds the new key.
    let (new_token, _) = stack
        .logged_in_user(
            json!({ "openid": user["openid"], "session_key": STANDARD.encode([9u8; 16]) }),
        )
        .await
        .unwrap();
    assert_error(
        &decrypt(&service, &new_token, &legacy(&old_phone)).await,
        422,
        "session_key_mismatch",
    );

    // As the API tells the client: tap again, with data made under the new key.
    let new_phone = stack
        .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": PHONE }))
        .await
        .unwrap();
    assert_phone(
        &decrypt(&service, &new_token, &legacy(&new_phone)).await,
        PHONE,
        PHONE,
        "86",
    );
}

#[tokio::test]
async fn data_made_for_another_app_is_a_session_key_mismatch() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let foreign = stack
        .sandbox_phone(json!({ "openid": user["openid"], "phoneNumber": PHONE, "watermarkAppid": "wx00000000otherapp" }))
        .await
        .unwrap();
    assert_error(
        &decrypt(&service, &token, &legacy(&foreign)).await,
        422,
        "session_key_mismatch",
    );

    let no_watermark = wechat_encrypt(
        user["session_key"].as_str().unwrap(),
        [3; 16],
        &json!({ "phoneNumber": PHONE, "purePhoneNumber": PHONE, "countryCode": "86" }),
    );
    assert_error(
        &decrypt(&service, &token, &no_watermark).await,
        422,
        "session_key_mismatch",
    );
}

#[tokio::test]
async fn every_single_byte_flip_of_the_ciphertext_is_rejected() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;
    let ciphertext = STANDARD
        .decode(phone["encryptedData"].as_str().unwrap())
        .unwrap();
    let mut tried = 0;

    for position in 0..ciphertext.len() {
        for mask in [0x01u8, 0xff] {
            let mut tampered = ciphertext.clone();
            tampered[position] ^= mask;
            let body = json!({ "encryptedData": STANDARD.encode(&tampered), "iv": phone["iv"] });
            let response = decrypt(&service, &token, &body).await;
            assert!(
                matches!(response.status, 400 | 422),
                "flip {mask:#04x} at byte {position}: {} {:?}",
                response.status,
                response.json
            );
            tried += 1;
        }
    }
    assert!(tried >= 2 * 64);
}

#[tokio::test]
async fn a_dynamodb_outage_is_503_and_the_instance_recovers() {
    let mut stack = TestStack::with_private_dynamodb().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, _, phone) = user_with_phone(&stack).await;
    assert_eq!(decrypt(&service, &token, &legacy(&phone)).await.status, 200);

    stack.stop_dynamodb().await.unwrap();
    let started = std::time::Instant::now();
    assert_error(
        &decrypt(&service, &token, &legacy(&phone)).await,
        503,
        "store_unavailable",
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    stack.restart_dynamodb().await.unwrap();
    // In-memory DynamoDB Local lost the session: a fresh login works on the same instance.
    let (token, _, phone) = user_with_phone(&stack).await;
    assert_eq!(decrypt(&service, &token, &legacy(&phone)).await.status, 200);
}

#[tokio::test]
async fn this_apps_data_without_a_phone_number_is_invalid_request() {
    let stack = TestStack::start().await.unwrap();
    let service = without_watermark_age_check(&stack).await;
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let user_info = wechat_encrypt(
        user["session_key"].as_str().unwrap(),
        [5; 16],
        &json!({ "nickName": "Band", "watermark": { "timestamp": 1_477_314_187, "appid": TEST_APPID } }),
    );

    let response = decrypt(&service, &token, &user_info).await;

    assert_error(&response, 400, "invalid_request");
}

/// The phone service with `WATERMARK_MAX_AGE_SECONDS=0`: for WeChat's documented sample
/// data, whose watermark is from 2016.
async fn without_watermark_age_check(stack: &TestStack) -> PhoneNumbers<DynamoTable, WeChatClient> {
    let mut config = stack.config();
    config.watermark_max_age = None;
    stack.phone_service_with(config).await.unwrap()
}

#[tokio::test]
async fn the_watermark_age_is_checked_by_default_and_0_turns_it_off() {
    let stack = TestStack::start().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let made_at = |age: i64| {
        wechat_encrypt(
            user["session_key"].as_str().unwrap(),
            [6; 16],
            &json!({
                "phoneNumber": PHONE, "purePhoneNumber": PHONE, "countryCode": "86",
                "watermark": { "timestamp": now_epoch_seconds() - age, "appid": TEST_APPID }
            }),
        )
    };
    let checked = stack.phone_service().await.unwrap();
    assert_phone(
        &decrypt(&checked, &token, &made_at(30)).await,
        PHONE,
        PHONE,
        "86",
    );
    // Older than the default 300 s: data captured once does not decrypt for the life of
    // the session_key.
    assert_error(
        &decrypt(&checked, &token, &made_at(400)).await,
        422,
        "session_key_mismatch",
    );
    let unchecked = without_watermark_age_check(&stack).await;
    assert_phone(
        &decrypt(&unchecked, &token, &made_at(86_400)).await,
        PHONE,
        PHONE,
        "86",
    );
}

/// What `/onlogin` answers `openid` logging in again with a fresh code.
async fn login_again(stack: &TestStack, openid: &Value) -> TestResponse {
    let code = stack
        .sandbox_login(json!({ "openid": openid }))
        .await
        .unwrap();
    let body = json!({ "code": code["code"] }).to_string();
    let service = stack.login_service().await.unwrap();
    TestResponse::from_response(service.handle(post(body)).await).unwrap()
}

/// What `GET /session` answers for `token`.
async fn whoami(stack: &TestStack, token: &str) -> TestResponse {
    let service = stack.session_service().await.unwrap();
    TestResponse::from_response(
        service
            .handle(devkit::stack::bearer_request(http::Method::GET, token))
            .await,
    )
    .unwrap()
}

/// The `user#<key>` item of `openid`.
async fn user_item(
    stack: &TestStack,
    openid: &Value,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let pk = format!(
        "user#{}",
        wxlogin::testing::user_key(openid.as_str().unwrap()).as_hex()
    );
    stack
        .items()
        .await
        .unwrap()
        .into_iter()
        .find(|item| item["pk"].as_s().is_ok_and(|key| *key == pk))
        .expect("a user item")
}

fn phone_body(phone: &str, pure: &str, country: &str) -> Value {
    json!({ "phoneNumber": phone, "purePhoneNumber": pure, "countryCode": country })
}

#[tokio::test]
async fn either_form_binds_the_number_which_login_and_session_then_return() {
    for form in ["legacy", "code"] {
        let stack = TestStack::start().await.unwrap();
        let service = stack.phone_service().await.unwrap();
        let (token, user, phone) = user_with_phone(&stack).await;
        assert!(
            whoami(&stack, &token).await.json.get("phone").is_none(),
            "{form}: no phone before verification"
        );
        let before = login_again(&stack, &user["openid"]).await;
        assert!(
            before.json.get("phone").is_none(),
            "{form}: {:?}",
            before.json
        );

        let body = match form {
            "legacy" => legacy(&phone),
            _ => json!({ "code": phone["code"] }),
        };
        assert_phone(&decrypt(&service, &token, &body).await, PHONE, PHONE, "86");

        let item = user_item(&stack, &user["openid"]).await;
        assert_eq!(item["phone_number"].as_s().unwrap(), PHONE, "{form}");
        assert_eq!(item["pure_phone_number"].as_s().unwrap(), PHONE, "{form}");
        assert_eq!(item["country_code"].as_s().unwrap(), "86", "{form}");
        assert_eq!(item["phone_verified_by"].as_s().unwrap(), form);
        let verified_at: i64 = item["phone_verified_at"].as_n().unwrap().parse().unwrap();
        assert!((now_epoch_seconds() - verified_at).abs() <= 5, "{form}");
        assert!(!item.contains_key("expires_at"), "{form}: {item:?}");

        // The session that verified it, and every later login, carry the number.
        let session = whoami(&stack, &token).await;
        assert_eq!(session.status, 200, "{form}: {:?}", session.json);
        assert_eq!(
            session.json["phone"],
            phone_body(PHONE, PHONE, "86"),
            "{form}"
        );
        let later = login_again(&stack, &user["openid"]).await;
        assert_eq!(later.status, 200, "{form}: {:?}", later.json);
        assert_eq!(
            later.json["phone"],
            phone_body(PHONE, PHONE, "86"),
            "{form}"
        );
        assert_eq!(later.json["new_user"], false);
        let later_token = later.json["token"].as_str().unwrap();
        assert_eq!(
            whoami(&stack, later_token).await.json["phone"],
            phone_body(PHONE, PHONE, "86"),
            "{form}"
        );
    }
}

#[tokio::test]
async fn verifying_again_replaces_the_number() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (token, user, phone) = user_with_phone(&stack).await;
    assert_phone(
        &decrypt(&service, &token, &json!({ "code": phone["code"] })).await,
        PHONE,
        PHONE,
        "86",
    );

    // A new number, verified the legacy way, from abroad.
    let plaintext = json!({
        "phoneNumber": "+1 4155552671",
        "purePhoneNumber": "4155552671",
        "countryCode": "1",
        "watermark": { "timestamp": now_epoch_seconds(), "appid": TEST_APPID }
    });
    let body = wechat_encrypt(user["session_key"].as_str().unwrap(), [9; 16], &plaintext);
    assert_phone(
        &decrypt(&service, &token, &body).await,
        "+1 4155552671",
        "4155552671",
        "1",
    );

    let item = user_item(&stack, &user["openid"]).await;
    assert_eq!(item["phone_number"].as_s().unwrap(), "+1 4155552671");
    assert_eq!(item["pure_phone_number"].as_s().unwrap(), "4155552671");
    assert_eq!(item["country_code"].as_s().unwrap(), "1");
    assert_eq!(item["phone_verified_by"].as_s().unwrap(), "legacy");
    let expected = phone_body("+1 4155552671", "4155552671", "1");
    assert_eq!(whoami(&stack, &token).await.json["phone"], expected);
    assert_eq!(
        login_again(&stack, &user["openid"]).await.json["phone"],
        expected
    );
}

#[tokio::test]
async fn another_users_phone_code_is_invalid_code_and_stays_redeemable_by_its_owner() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.phone_service().await.unwrap();
    let (thief, thief_user) = stack.logged_in_user(json!({})).await.unwrap();
    let (owner, owner_user, owner_phone) = user_with_phone(&stack).await;
    let stolen = json!({ "code": owner_phone["code"] });

    let response = decrypt(&service, &thief, &stolen).await;
    assert_error(&response, 401, "invalid_code");
    assert_eq!(
        stack.wechat_calls("getuserphonenumber").await.unwrap(),
        1,
        "WeChat refused it for the thief's openid"
    );
    assert!(
        !user_item(&stack, &thief_user["openid"])
            .await
            .contains_key("phone_number"),
        "nothing bound to the thief"
    );
    assert!(whoami(&stack, &thief).await.json.get("phone").is_none());

    // The owner redeems it afterwards, once.
    assert_phone(
        &decrypt(&service, &owner, &stolen).await,
        PHONE,
        PHONE,
        "86",
    );
    assert_eq!(
        user_item(&stack, &owner_user["openid"]).await["phone_number"]
            .as_s()
            .unwrap(),
        PHONE
    );
    assert_error(
        &decrypt(&service, &thief, &stolen).await,
        401,
        "invalid_code",
    );
    assert_error(
        &decrypt(&service, &owner, &stolen).await,
        401,
        "invalid_code",
    );
}
