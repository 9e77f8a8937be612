//! The sandbox's access-token and phone APIs behave like WeChat's.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use wechat_sandbox::{RunningSandbox, SandboxConfig};

mod support;
use support::{APPID, config, get, stable_token, start};

/// The JSON answer to a `POST`, whatever its status (WeChat's APIs answer 200 even for
/// errors).
async fn post(sandbox: &RunningSandbox, path: &str, body: Value) -> Value {
    support::post(sandbox, path, body).await.1
}

async fn phone_number(sandbox: &RunningSandbox, access_token: &str, code: &Value) -> Value {
    post(
        sandbox,
        &format!("/wxa/business/getuserphonenumber?access_token={access_token}"),
        json!({ "code": code }),
    )
    .await
}

/// getuserphonenumber with WeChat's optional `openid` in the body.
async fn phone_number_for(
    sandbox: &RunningSandbox,
    access_token: &str,
    code: &Value,
    openid: &Value,
) -> Value {
    post(
        sandbox,
        &format!("/wxa/business/getuserphonenumber?access_token={access_token}"),
        json!({ "code": code, "openid": openid }),
    )
    .await
}

/// A logged-in user, a getPhoneNumber code minted for them, and a live access token.
async fn user_with_phone_code(sandbox: &RunningSandbox) -> (Value, Value, String) {
    let owner = post(sandbox, "/sandbox/login", json!({})).await;
    let phone = post(
        sandbox,
        "/sandbox/phone",
        json!({ "openid": owner["openid"], "phoneNumber": "13800138000" }),
    )
    .await;
    let token = stable_token(sandbox, false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (owner, phone, token)
}

#[tokio::test]
async fn stable_token_is_stable_until_forced() {
    let sandbox = start(config()).await;
    let first = stable_token(&sandbox, false).await;
    assert_eq!(first["expires_in"], 7200);
    let again = stable_token(&sandbox, false).await;
    assert_eq!(again["access_token"], first["access_token"]);
    let forced = stable_token(&sandbox, true).await;
    assert_ne!(forced["access_token"], first["access_token"]);

    let wrong = post(
        &sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": APPID, "secret": "nope" }),
    )
    .await;
    assert_eq!(wrong["errcode"], 40125);
}

#[tokio::test]
async fn phone_codes_need_a_live_token_and_work_once() {
    let sandbox = start(SandboxConfig {
        access_token_ttl: Duration::from_secs(1),
        ..config()
    })
    .await;
    let user = post(&sandbox, "/sandbox/login", json!({})).await;
    let phone = post(
        &sandbox,
        "/sandbox/phone",
        json!({ "openid": user["openid"], "phoneNumber": "13800138000" }),
    )
    .await;
    let token = stable_token(&sandbox, false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(
        phone_number(&sandbox, "", &phone["code"]).await["errcode"],
        41001
    );
    assert_eq!(
        phone_number(&sandbox, "forged", &phone["code"]).await["errcode"],
        40001
    );
    let answer = phone_number(&sandbox, &token, &phone["code"]).await;
    assert_eq!(answer["errcode"], 0);
    assert_eq!(answer["phone_info"]["purePhoneNumber"], "13800138000");
    assert_eq!(answer["phone_info"]["countryCode"], "86");
    assert_eq!(answer["phone_info"]["watermark"]["appid"], APPID);
    assert_eq!(
        phone_number(&sandbox, &token, &phone["code"]).await["errcode"],
        40029,
        "single use"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = post(
        &sandbox,
        "/sandbox/phone",
        json!({ "openid": user["openid"], "phoneNumber": "13800138000" }),
    )
    .await;
    assert_eq!(
        phone_number(&sandbox, &token, &later["code"]).await["errcode"],
        42001,
        "expired token"
    );
}

#[tokio::test]
async fn encrypted_data_follows_wechats_format_with_the_current_key() {
    let sandbox = start(config()).await;
    let user = post(&sandbox, "/sandbox/login", json!({})).await;
    let phone = post(
        &sandbox,
        "/sandbox/phone",
        json!({ "openid": user["openid"], "phoneNumber": "+1 4155552671", "countryCode": "1" }),
    )
    .await;
    let key: [u8; 16] = STANDARD
        .decode(user["session_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let iv: [u8; 16] = STANDARD
        .decode(phone["iv"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let plaintext = cbc::Decryptor::<Aes128>::new(&key.into(), &iv.into())
        .decrypt_padded_vec::<Pkcs7>(
            &STANDARD
                .decode(phone["encryptedData"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
    let info: Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(info["phoneNumber"], "+1 4155552671");
    assert_eq!(info["purePhoneNumber"], "4155552671");
    assert_eq!(info["countryCode"], "1");
    assert_eq!(info["watermark"]["appid"], APPID);
    assert!(info["watermark"]["timestamp"].as_u64().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn checksession_verifies_the_current_key() {
    let sandbox = start(config()).await;
    let user = post(
        &sandbox,
        "/sandbox/login",
        json!({ "openid": "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "session_key": "tiihtNczf5v6AKRyjwEUhQ==" }),
    )
    .await;
    let token = stable_token(&sandbox, false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let check = |signature: &'static str| {
        let path = format!(
            "/wxa/checksession?access_token={token}&signature={signature}&openid={}&sig_method=hmac_sha256",
            user["openid"].as_str().unwrap()
        );
        let sandbox = &sandbox;
        async move { get(sandbox, &path).await }
    };
    // hex(HMAC-SHA256(key = the demo session_key's text, message = "")): see
    // docs/wechat.md#test-vectors (our derived value, not one WeChat prints).
    let demo = "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735";
    assert_eq!(check(demo).await["errcode"], 0);
    post(
        &sandbox,
        "/sandbox/login",
        json!({ "openid": "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "session_key": "AAAAAAAAAAAAAAAAAAAAAA==" }),
    )
    .await;
    assert_eq!(check(demo).await["errcode"], 87009, "the key rotated");
}

#[tokio::test]
async fn phone_requests_for_unknown_users_are_refused() {
    let sandbox = start(config()).await;
    let (status, _) = support::post(
        &sandbox,
        "/sandbox/phone",
        json!({ "openid": "nobody", "phoneNumber": "13800138000" }),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_phone_code_is_redeemed_only_for_its_own_user() {
    let sandbox = start(config()).await;
    let (owner, phone, token) = user_with_phone_code(&sandbox).await;
    let other = post(&sandbox, "/sandbox/login", json!({})).await;
    assert_ne!(owner["openid"], other["openid"]);

    let refused = phone_number_for(&sandbox, &token, &phone["code"], &other["openid"]).await;
    assert_eq!(
        refused,
        json!({ "errcode": 40029, "errmsg": "invalid code" }),
        "another user's code"
    );
    assert_eq!(
        phone_number_for(&sandbox, &token, &phone["code"], &json!("nobody")).await["errcode"],
        40029,
        "an openid WeChat never saw"
    );
    assert_eq!(
        phone_number_for(&sandbox, &token, &phone["code"], &json!("")).await["errcode"],
        40029,
        "an empty openid is not the owner's"
    );

    let answer = phone_number_for(&sandbox, &token, &phone["code"], &owner["openid"]).await;
    assert_eq!(answer["errcode"], 0, "the refusals left the code unspent");
    assert_eq!(answer["phone_info"]["purePhoneNumber"], "13800138000");
    assert_eq!(
        phone_number_for(&sandbox, &token, &phone["code"], &owner["openid"]).await["errcode"],
        40029,
        "still single use"
    );
    assert_eq!(
        get(&sandbox, "/sandbox/stats").await["calls"]["getuserphonenumber"],
        5,
        "refused calls count as calls"
    );
}

#[tokio::test]
async fn without_an_openid_any_holder_redeems_the_code() {
    let sandbox = start(config()).await;
    let (_owner, phone, token) = user_with_phone_code(&sandbox).await;

    let answer = phone_number_for(&sandbox, &token, &phone["code"], &Value::Null).await;
    assert_eq!(answer["errcode"], 0, "null is no openid");
    assert_eq!(answer["phone_info"]["purePhoneNumber"], "13800138000");
    assert_eq!(
        phone_number(&sandbox, &token, &phone["code"]).await["errcode"],
        40029,
        "single use"
    );
}

#[tokio::test]
async fn an_openid_does_not_revive_a_spent_code() {
    let sandbox = start(config()).await;
    let (owner, phone, token) = user_with_phone_code(&sandbox).await;

    assert_eq!(
        phone_number(&sandbox, &token, &phone["code"]).await["errcode"],
        0
    );
    assert_eq!(
        phone_number_for(&sandbox, &token, &phone["code"], &owner["openid"]).await["errcode"],
        40029
    );
}
