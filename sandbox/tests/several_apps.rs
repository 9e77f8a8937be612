//! One sandbox serving two mini-programs keeps them apart as WeChat does: each has its own
//! secret, openids, codes and access tokens; a unionid links one person across both.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use wechat_sandbox::RunningSandbox;

mod support;
use support::{APPID, SECRET, config, get, post, start};

const OTHER_APPID: &str = "wxsandboxtest00002";
const OTHER_SECRET: &str = "sandbox-test-secret-2";

async fn two_apps() -> RunningSandbox {
    start(config().with_app(OTHER_APPID, OTHER_SECRET)).await
}

async fn login(sandbox: &RunningSandbox, body: Value) -> Value {
    let (status, answer) = post(sandbox, "/sandbox/login", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn code2session(sandbox: &RunningSandbox, appid: &str, secret: &str, code: &Value) -> Value {
    get(
        sandbox,
        &format!(
            "/sns/jscode2session?appid={appid}&secret={secret}&js_code={}&grant_type=authorization_code",
            code.as_str().unwrap()
        ),
    )
    .await
}

async fn access_token(sandbox: &RunningSandbox, appid: &str, secret: &str) -> String {
    let (_, answer) = post(
        sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": appid, "secret": secret }),
    )
    .await;
    answer["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_person_in_two_apps_is_two_openids_with_one_unionid() {
    let sandbox = two_apps().await;
    let in_first = login(&sandbox, json!({ "unionid": "union-1" })).await;
    let in_other = login(
        &sandbox,
        json!({ "appid": OTHER_APPID, "unionid": "union-1" }),
    )
    .await;
    assert_eq!(in_first["appid"], APPID);
    assert_eq!(in_other["appid"], OTHER_APPID);
    assert_ne!(in_first["openid"], in_other["openid"]);

    let first = code2session(&sandbox, APPID, SECRET, &in_first["code"]).await;
    let other = code2session(&sandbox, OTHER_APPID, OTHER_SECRET, &in_other["code"]).await;
    assert_eq!(first["openid"], in_first["openid"]);
    assert_eq!(other["openid"], in_other["openid"]);
    assert_eq!(first["unionid"], "union-1");
    assert_eq!(other["unionid"], "union-1");
}

#[tokio::test]
async fn a_code_is_good_only_in_the_app_that_minted_it() {
    let sandbox = two_apps().await;
    let minted = login(&sandbox, json!({})).await;
    let elsewhere = code2session(&sandbox, OTHER_APPID, OTHER_SECRET, &minted["code"]).await;
    assert_eq!(elsewhere["errcode"], 40029, "{elsewhere}");
    // Refused elsewhere, it is still unspent where it belongs.
    let home = code2session(&sandbox, APPID, SECRET, &minted["code"]).await;
    assert_eq!(home["openid"], minted["openid"], "{home}");
}

/// A fresh user's code from `appid`, exchanged with `secret`: WeChat's answer.
async fn fresh_login(sandbox: &RunningSandbox, appid: &str, secret: &str) -> Value {
    let minted = login(sandbox, json!({ "appid": appid })).await;
    code2session(sandbox, appid, secret, &minted["code"]).await
}

#[tokio::test]
async fn each_app_has_its_own_secret_and_a_reset_leaves_the_other_alone() {
    let sandbox = two_apps().await;
    let crossed = fresh_login(&sandbox, OTHER_APPID, SECRET).await;
    assert_eq!(crossed["errcode"], 40125, "{crossed}");

    let (status, _) = post(
        &sandbox,
        "/sandbox/secret",
        json!({ "appid": OTHER_APPID, "secret": "rotated" }),
    )
    .await;
    assert_eq!(status, 200);
    let old = fresh_login(&sandbox, OTHER_APPID, OTHER_SECRET).await;
    assert_eq!(old["errcode"], 40125, "{old}");
    let rotated = fresh_login(&sandbox, OTHER_APPID, "rotated").await;
    assert!(rotated["openid"].is_string(), "{rotated}");
    let untouched = fresh_login(&sandbox, APPID, SECRET).await;
    assert!(untouched["openid"].is_string(), "{untouched}");
}

#[tokio::test]
async fn phone_codes_and_checksession_follow_the_tokens_app() {
    let sandbox = two_apps().await;
    let user = login(&sandbox, json!({ "appid": OTHER_APPID })).await;
    let (_, phone) = post(
        &sandbox,
        "/sandbox/phone",
        json!({ "appid": OTHER_APPID, "openid": user["openid"], "phoneNumber": "13800138000" }),
    )
    .await;
    let first_token = access_token(&sandbox, APPID, SECRET).await;
    let other_token = access_token(&sandbox, OTHER_APPID, OTHER_SECRET).await;
    assert_ne!(first_token, other_token);

    let redeem = |token: String| {
        let sandbox = &sandbox;
        let code = phone["code"].clone();
        async move {
            post(
                sandbox,
                &format!("/wxa/business/getuserphonenumber?access_token={token}"),
                json!({ "code": code }),
            )
            .await
            .1
        }
    };
    let wrong_app = redeem(first_token.clone()).await;
    assert_eq!(wrong_app["errcode"], 40029, "{wrong_app}");
    let right_app = redeem(other_token.clone()).await;
    assert_eq!(right_app["errcode"], 0, "{right_app}");
    assert_eq!(right_app["phone_info"]["watermark"]["appid"], OTHER_APPID);

    // checksession knows the user only through their own app's token.
    let signature = {
        use hmac::{Hmac, KeyInit, Mac};
        let key = user["session_key"].as_str().unwrap();
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(b"");
        hex::encode(mac.finalize().into_bytes())
    };
    let check = |token: &str| {
        format!(
            "/wxa/checksession?access_token={token}&signature={signature}&openid={}&sig_method=hmac_sha256",
            user["openid"].as_str().unwrap()
        )
    };
    assert_eq!(get(&sandbox, &check(&other_token)).await["errcode"], 0);
    assert_eq!(get(&sandbox, &check(&first_token)).await["errcode"], 40003);
}

#[tokio::test]
async fn unknown_apps_are_refused_everywhere() {
    let sandbox = two_apps().await;
    let (status, answer) = post(&sandbox, "/sandbox/login", json!({ "appid": "wxnope" })).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_app"))
    );
    let (_, token) = post(
        &sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": "wxnope", "secret": SECRET }),
    )
    .await;
    assert_eq!(token["errcode"], 40013);
    let code = login(&sandbox, json!({})).await["code"].clone();
    assert_eq!(
        code2session(&sandbox, "wxnope", SECRET, &code).await["errcode"],
        40013
    );
}

#[tokio::test]
async fn stats_count_forced_refreshes_per_app() {
    let sandbox = two_apps().await;
    let (_, forced) = post(
        &sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": OTHER_APPID, "secret": OTHER_SECRET, "force_refresh": true }),
    )
    .await;
    assert!(forced["access_token"].is_string(), "{forced}");
    let stats = get(&sandbox, "/sandbox/stats").await;
    assert_eq!(stats["forced_refreshes"], 1);
    assert_eq!(stats["apps"][OTHER_APPID]["forced_refreshes"], 1);
    assert_eq!(stats["apps"][APPID]["forced_refreshes"], 0);
}
