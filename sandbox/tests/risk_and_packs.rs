//! The sandbox's getuserriskrank (安全中心 → 风控) and the phone-verification packs
//! (付费管理: getUsageDetail, billing, the device's 1400001) behave as docs/wechat.md says.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use wechat_sandbox::{RunningSandbox, SandboxConfig};

mod support;
use support::{APPID, config, get, post, stable_token, start};

const OTHER_APPID: &str = "wxsandboxtest00002";
const OTHER_SECRET: &str = "sandbox-test-secret-2";
const QUICK: &str = "10000077";
const REALTIME: &str = "10000086";

async fn token(sandbox: &RunningSandbox) -> String {
    stable_token(sandbox, false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn login(sandbox: &RunningSandbox, body: Value) -> String {
    let (status, user) = post(sandbox, "/sandbox/login", body).await;
    assert_eq!(status, 200, "{user}");
    user["openid"].as_str().unwrap().to_owned()
}

/// getuserriskrank with `body`, as WeChat answers it.
async fn risk_rank_with(sandbox: &RunningSandbox, token: &str, body: Value) -> Value {
    post(
        sandbox,
        &format!("/wxa/getuserriskrank?access_token={token}"),
        body,
    )
    .await
    .1
}

/// getuserriskrank for `openid` of [`APPID`] at sign-up, as the adapter asks it.
async fn risk_rank(sandbox: &RunningSandbox, token: &str, openid: &str) -> Value {
    risk_rank_with(
        sandbox,
        token,
        json!({ "appid": APPID, "openid": openid, "scene": 0, "client_ip": "203.0.113.7" }),
    )
    .await
}

/// `POST /sandbox/risk`: the status and answer.
async fn sandbox_risk(sandbox: &RunningSandbox, body: Value) -> (u16, Value) {
    post(sandbox, "/sandbox/risk", body).await
}

/// getUsageDetail with the raw query after the token.
async fn usage_query(sandbox: &RunningSandbox, token: &str, query: &str) -> Value {
    get(
        sandbox,
        &format!("/wxa/charge/usage/get?access_token={token}{query}"),
    )
    .await
}

/// getUsageDetail's first page of `spu_id`.
async fn usage(sandbox: &RunningSandbox, token: &str, spu_id: &str) -> Value {
    usage_query(
        sandbox,
        token,
        &format!("&spuId={spu_id}&offset=0&limit=20"),
    )
    .await
}

/// `(all, effectiveUse)` of `spu_id`, as WeChat's strings.
async fn totals(sandbox: &RunningSandbox, token: &str, spu_id: &str) -> (String, String) {
    let answer = usage(sandbox, token, spu_id).await;
    assert_eq!(answer["errcode"], 0, "{answer}");
    (
        answer["all"].as_str().unwrap().to_owned(),
        answer["effectiveUse"].as_str().unwrap().to_owned(),
    )
}

fn pair(all: &str, used: &str) -> (String, String) {
    (all.to_owned(), used.to_owned())
}

/// The getPhoneNumber button (or the real-time one) for `openid`: status and answer.
async fn tap(sandbox: &RunningSandbox, openid: &str, realtime: bool) -> (u16, Value) {
    post(
        sandbox,
        "/sandbox/phone",
        json!({ "openid": openid, "phoneNumber": "13800138000", "realtime": realtime }),
    )
    .await
}

/// A code from the button, which must issue one.
async fn phone_code(sandbox: &RunningSandbox, openid: &str, realtime: bool) -> Value {
    let (status, answer) = tap(sandbox, openid, realtime).await;
    assert_eq!(status, 200, "{answer}");
    answer["code"].clone()
}

async fn redeem(sandbox: &RunningSandbox, token: &str, code: &Value, openid: &str) -> Value {
    post(
        sandbox,
        &format!("/wxa/business/getuserphonenumber?access_token={token}"),
        json!({ "code": code, "openid": openid }),
    )
    .await
    .1
}

async fn charge(sandbox: &RunningSandbox, body: Value) -> (u16, Value) {
    post(sandbox, "/sandbox/charge", body).await
}

#[tokio::test]
async fn risk_rank_defaults_to_zero_for_a_user_who_logged_in() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    let answer = risk_rank(&sandbox, &token, &openid).await;
    assert_eq!(answer["errcode"], 0, "{answer}");
    assert_eq!(answer["errmsg"], "getuserriskrank succ");
    assert_eq!(answer["risk_rank"], 0);
    assert!(
        answer["unoin_id"].as_u64().unwrap() > 0,
        "WeChat's spelling"
    );
    // The optional fields and scene 1 (marketing fraud) are accepted.
    let marketing = risk_rank_with(
        &sandbox,
        &token,
        json!({ "appid": APPID, "openid": openid, "scene": 1, "client_ip": "::1",
                "mobile_no": "13800138000", "email_address": "a@b.example",
                "extended_info": "x", "is_test": true }),
    )
    .await;
    assert_eq!(marketing["risk_rank"], 0, "{marketing}");
}

#[tokio::test]
async fn a_set_rank_is_answered_for_that_user_of_that_app_only() {
    let sandbox = start(config().with_app(OTHER_APPID, OTHER_SECRET)).await;
    let risky = login(&sandbox, json!({ "openid": "oRisky" })).await;
    let other = login(&sandbox, json!({})).await;
    login(
        &sandbox,
        json!({ "appid": OTHER_APPID, "openid": "oRisky" }),
    )
    .await;
    let (status, answer) = sandbox_risk(&sandbox, json!({ "openid": risky, "rank": 3 })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "appid": APPID, "enabled": true, "openid": "oRisky", "rank": 3 })
    );

    let token = token(&sandbox).await;
    assert_eq!(risk_rank(&sandbox, &token, &risky).await["risk_rank"], 3);
    assert_eq!(risk_rank(&sandbox, &token, &other).await["risk_rank"], 0);
    let (_, other_app) = post(
        &sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": OTHER_APPID, "secret": OTHER_SECRET }),
    )
    .await;
    let in_other_app = risk_rank_with(
        &sandbox,
        other_app["access_token"].as_str().unwrap(),
        json!({ "appid": OTHER_APPID, "openid": "oRisky", "scene": 0, "client_ip": "203.0.113.7" }),
    )
    .await;
    assert_eq!(in_other_app["risk_rank"], 0, "ranks are per app");

    for rank in [4, 0] {
        sandbox_risk(&sandbox, json!({ "openid": risky, "rank": rank })).await;
        assert_eq!(risk_rank(&sandbox, &token, &risky).await["risk_rank"], rank);
    }
}

#[tokio::test]
async fn a_rank_can_be_set_before_the_first_login() {
    let sandbox = start(config()).await;
    let (status, _) = sandbox_risk(&sandbox, json!({ "openid": "oLater", "rank": 2 })).await;
    assert_eq!(status, 200);
    let token = token(&sandbox).await;
    assert_eq!(
        risk_rank(&sandbox, &token, "oLater").await["errcode"],
        40003,
        "not seen yet"
    );
    login(&sandbox, json!({ "openid": "oLater" })).await;
    assert_eq!(risk_rank(&sandbox, &token, "oLater").await["risk_rank"], 2);
}

#[tokio::test]
async fn risk_rank_needs_a_live_token_of_the_app() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    assert_eq!(risk_rank(&sandbox, "", &openid).await["errcode"], 41001);
    assert_eq!(
        risk_rank(&sandbox, "forged", &openid).await["errcode"],
        40001
    );
}

#[tokio::test]
async fn risk_rank_bodies_are_checked() {
    let sandbox = start(config().with_app(OTHER_APPID, OTHER_SECRET)).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    let good = json!({ "appid": APPID, "openid": openid, "scene": 0, "client_ip": "203.0.113.7" });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    for bad in [
        without("appid"),
        with("appid", json!("")),
        without("openid"),
        with("openid", json!(7)),
        without("scene"),
        with("scene", json!(2)),
        with("scene", json!(-1)),
        with("scene", json!("0")),
        without("client_ip"),
        with("client_ip", json!("")),
        with("client_ip", json!(" ")),
        json!([]),
    ] {
        assert_eq!(
            risk_rank_with(&sandbox, &token, bad.clone()).await["errcode"],
            47001,
            "{bad}"
        );
    }
    assert_eq!(
        risk_rank_with(&sandbox, &token, with("appid", json!(OTHER_APPID))).await["errcode"],
        43104,
        "another app's appid"
    );
    assert_eq!(
        risk_rank_with(&sandbox, &token, with("appid", json!("wxnobody"))).await["errcode"],
        43104,
        "an appid WeChat does not know"
    );
    for unknown in ["oNeverLoggedIn", ""] {
        assert_eq!(
            risk_rank(&sandbox, &token, unknown).await["errcode"],
            40003,
            "{unknown:?}"
        );
    }
    let other_user = login(&sandbox, json!({ "appid": OTHER_APPID })).await;
    assert_eq!(
        risk_rank(&sandbox, &token, &other_user).await["errcode"],
        40003,
        "another app's openid"
    );
    assert_eq!(risk_rank_with(&sandbox, &token, good).await["errcode"], 0);
}

#[tokio::test]
async fn an_app_without_risk_control_answers_48001_until_enabled() {
    let sandbox = start(config().with_app(OTHER_APPID, OTHER_SECRET)).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    let (status, answer) = sandbox_risk(&sandbox, json!({ "enabled": false })).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "appid": APPID, "enabled": false }));
    assert_eq!(
        risk_rank(&sandbox, &token, &openid).await,
        json!({ "errcode": 48001, "errmsg": "api unauthorized" })
    );
    assert_eq!(
        risk_rank_with(&sandbox, &token, json!({})).await["errcode"],
        48001,
        "before the body is looked at"
    );
    assert_eq!(
        risk_rank(&sandbox, "forged", &openid).await["errcode"],
        40001,
        "after the token"
    );

    let (_, other_app) = post(
        &sandbox,
        "/cgi-bin/stable_token",
        json!({ "grant_type": "client_credential", "appid": OTHER_APPID, "secret": OTHER_SECRET }),
    )
    .await;
    let other_user = login(&sandbox, json!({ "appid": OTHER_APPID })).await;
    let other = risk_rank_with(
        &sandbox,
        other_app["access_token"].as_str().unwrap(),
        json!({ "appid": OTHER_APPID, "openid": other_user, "scene": 0, "client_ip": "203.0.113.7" }),
    )
    .await;
    assert_eq!(other["errcode"], 0, "the other app is untouched: {other}");

    sandbox_risk(&sandbox, json!({ "enabled": true })).await;
    assert_eq!(risk_rank(&sandbox, &token, &openid).await["errcode"], 0);
}

#[tokio::test]
async fn an_openid_not_seen_lately_answers_61010() {
    let sandbox = start(SandboxConfig {
        risk_openid_window: Duration::from_millis(200),
        ..config()
    })
    .await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    assert_eq!(risk_rank(&sandbox, &token, &openid).await["errcode"], 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(risk_rank(&sandbox, &token, &openid).await["errcode"], 61010);
    login(&sandbox, json!({ "openid": openid })).await;
    assert_eq!(
        risk_rank(&sandbox, &token, &openid).await["errcode"],
        0,
        "a new wx.login is a new visit"
    );
}

#[tokio::test]
async fn bad_risk_controls_are_refused() {
    let sandbox = start(config()).await;
    for bad in [
        json!({ "openid": "o1", "rank": 5 }),
        json!({ "openid": "o1", "rank": -1 }),
        json!({ "openid": "o1", "rank": 1.5 }),
        json!({ "openid": "o1", "rank": "3" }),
        json!({ "openid": "", "rank": 1 }),
        json!({ "openid": "o1" }),
        json!({ "rank": 1 }),
        json!({}),
        json!({ "enabled": "no" }),
    ] {
        let (status, answer) = sandbox_risk(&sandbox, bad.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let (status, answer) =
        sandbox_risk(&sandbox, json!({ "appid": "wxnobody", "enabled": false })).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_app"))
    );
}

#[tokio::test]
async fn each_kind_starts_with_a_free_trial_of_1000_units() {
    let sandbox = start(config()).await;
    let token = token(&sandbox).await;
    for spu_id in [QUICK, REALTIME] {
        let answer = usage(&sandbox, &token, spu_id).await;
        assert_eq!(answer["errcode"], 0, "{answer}");
        assert_eq!(answer["all"], "1000");
        assert_eq!(answer["effectiveAll"], "1000");
        assert_eq!(answer["effectiveUse"], "0");
        assert_eq!(answer["total"], 1);
        let pack = &answer["detailList"][0];
        assert!(pack["pkgId"].as_str().unwrap().starts_with("ZY"), "{pack}");
        assert_eq!(pack["all"], "1000");
        assert_eq!(pack["used"], "0");
        assert_eq!(pack["status"], 1);
        assert_eq!(pack["spuId"], spu_id);
        assert!(pack["endTime"].as_u64().unwrap() > pack["startTime"].as_u64().unwrap());
    }
    let unknown = usage(&sandbox, &token, "10000001").await;
    assert_eq!(unknown["errcode"], 0, "{unknown}");
    assert_eq!(
        (&unknown["all"], &unknown["effectiveUse"], &unknown["total"]),
        (&json!("0"), &json!("0"), &json!(0))
    );
    assert_eq!(unknown["detailList"], json!([]));
}

#[tokio::test]
async fn usage_queries_are_checked() {
    let sandbox = start(config()).await;
    let token = token(&sandbox).await;
    for bad in [
        "&offset=0&limit=1",
        "&spuId=&offset=0&limit=1",
        "&spuId=quick&offset=0&limit=1",
        &format!("&spuId={QUICK}&limit=1"),
        &format!("&spuId={QUICK}&offset=-1&limit=1"),
        &format!("&spuId={QUICK}&offset=x&limit=1"),
        &format!("&spuId={QUICK}&offset=0"),
        &format!("&spuId={QUICK}&offset=0&limit=0"),
        &format!("&spuId={QUICK}&offset=0&limit=21"),
    ] {
        assert_eq!(
            usage_query(&sandbox, &token, bad).await,
            json!({ "errcode": 10120002, "errmsg": "invalid args" }),
            "{bad}"
        );
    }
    let page = format!("&spuId={QUICK}&offset=0&limit=1");
    assert_eq!(usage_query(&sandbox, "", &page).await["errcode"], 41001);
    assert_eq!(
        usage_query(&sandbox, "forged", &page).await["errcode"],
        40001
    );
    let beyond = usage_query(
        &sandbox,
        &token,
        &format!("&spuId={QUICK}&offset=1&limit=20"),
    )
    .await;
    assert_eq!(beyond["total"], 1, "{beyond}");
    assert_eq!(beyond["detailList"], json!([]), "a page past the end");
    assert_eq!(beyond["all"], "1000", "the totals cover every pack");
}

#[tokio::test]
async fn the_buttons_success_bills_its_own_kind_once() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    let someone = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;

    let quick = phone_code(&sandbox, &openid, false).await;
    assert_eq!(
        totals(&sandbox, &token, QUICK).await,
        pair("1000", "1"),
        "issuing a code bills its kind, before any redemption"
    );
    assert_eq!(totals(&sandbox, &token, REALTIME).await, pair("1000", "0"));
    assert_eq!(
        redeem(&sandbox, &token, &quick, &openid).await["errcode"],
        0
    );
    assert_eq!(
        totals(&sandbox, &token, QUICK).await,
        pair("1000", "1"),
        "a successful redemption bills nothing more"
    );

    let realtime = phone_code(&sandbox, &openid, true).await;
    assert_eq!(
        totals(&sandbox, &token, REALTIME).await,
        pair("1000", "1"),
        "the real-time button bills its own kind"
    );
    assert_eq!(
        redeem(&sandbox, &token, &realtime, &someone).await["errcode"],
        40029
    );
    assert_eq!(
        redeem(&sandbox, "forged", &realtime, &openid).await["errcode"],
        40001
    );
    assert_eq!(
        redeem(&sandbox, &token, &realtime, &openid).await["errcode"],
        0
    );
    assert_eq!(
        redeem(&sandbox, &token, &realtime, &openid).await["errcode"],
        40029
    );
    assert_eq!(
        redeem(&sandbox, &token, &quick, &openid).await["errcode"],
        40029
    );
    assert_eq!(
        totals(&sandbox, &token, REALTIME).await,
        pair("1000", "1"),
        "redemptions, refused or not, bill nothing"
    );
    assert_eq!(totals(&sandbox, &token, QUICK).await, pair("1000", "1"));

    // A code tapped and never redeemed costs its unit all the same.
    phone_code(&sandbox, &openid, false).await;
    assert_eq!(totals(&sandbox, &token, QUICK).await, pair("1000", "2"));

    let stats = get(&sandbox, "/sandbox/stats").await;
    assert_eq!(
        stats["billed"],
        json!({ "quick": 2, "realtime": 1 }),
        "billed counts the codes issued"
    );
    assert_eq!(
        stats["apps"][APPID]["billed"],
        json!({ "quick": 2, "realtime": 1 })
    );
    assert_eq!(stats["calls"]["getuserphonenumber"], 6);
}

#[tokio::test]
async fn the_realtime_button_yields_a_code_redeemed_at_the_same_api() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    let (status, answer) = tap(&sandbox, &openid, true).await;
    assert_eq!(status, 200);
    let fields: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["code"],
        "no encryptedData from the real-time button"
    );
    let token = token(&sandbox).await;
    let redeemed = redeem(&sandbox, &token, &answer["code"], &openid).await;
    assert_eq!(redeemed["errcode"], 0, "{redeemed}");
    assert_eq!(redeemed["phone_info"]["purePhoneNumber"], "13800138000");
    assert_eq!(redeemed["phone_info"]["watermark"]["appid"], APPID);

    let (_, quick) = tap(&sandbox, &openid, false).await;
    assert!(quick["encryptedData"].is_string() && quick["iv"].is_string());
}

#[tokio::test]
async fn an_empty_pack_fails_the_button_on_the_device() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    let (status, answer) = charge(&sandbox, json!({ "pack": "quick", "all": 2, "used": 2 })).await;
    assert_eq!(status, 200, "{answer}");

    let (status, refused) = tap(&sandbox, &openid, false).await;
    assert_eq!(status, 402);
    assert_eq!(refused["error"], "pack_empty");
    assert_eq!(refused["errno"], 1_400_001);
    assert_eq!(refused["errMsg"], "getPhoneNumber:fail no quota");
    assert!(refused.get("code").is_none());
    assert_eq!(
        totals(&sandbox, &token, QUICK).await,
        pair("2", "2"),
        "a failed button bills nothing"
    );
    assert_eq!(
        get(&sandbox, "/sandbox/stats").await["billed"]["quick"],
        0,
        "no code was issued"
    );
    assert_eq!(
        tap(&sandbox, &openid, true).await.0,
        200,
        "the other kind has units"
    );

    charge(&sandbox, json!({ "pack": "realtime", "all": 0 })).await;
    let (status, refused) = tap(&sandbox, &openid, true).await;
    assert_eq!(status, 402);
    assert_eq!(refused["errMsg"], "getRealtimePhoneNumber:fail no quota");
    let none = usage(&sandbox, &token, REALTIME).await;
    assert_eq!((&none["all"], &none["total"]), (&json!("0"), &json!(0)));

    charge(&sandbox, json!({ "spuId": QUICK, "all": 3, "used": 2 })).await;
    let code = phone_code(&sandbox, &openid, false).await;
    assert_eq!(
        totals(&sandbox, &token, QUICK).await,
        pair("3", "3"),
        "the code took the last unit"
    );
    assert_eq!(
        tap(&sandbox, &openid, false).await.0,
        402,
        "the last unit was used, though its code is not redeemed yet"
    );
    assert_eq!(redeem(&sandbox, &token, &code, &openid).await["errcode"], 0);
    assert_eq!(totals(&sandbox, &token, QUICK).await, pair("3", "3"));
    assert_eq!(
        get(&sandbox, "/sandbox/stats").await["calls"]["getuserphonenumber"],
        1,
        "the device never reached WeChat's server API"
    );
}

#[tokio::test]
async fn codes_issued_before_the_packs_ran_out_stay_redeemable_and_bill_nothing_more() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    charge(&sandbox, json!({ "pack": "quick", "all": 1 })).await;
    let first = phone_code(&sandbox, &openid, false).await;
    assert_eq!(totals(&sandbox, &token, QUICK).await, pair("1", "1"));
    let (status, refused) = tap(&sandbox, &openid, false).await;
    assert_eq!(status, 402, "{refused}");
    assert_eq!(
        redeem(&sandbox, &token, &first, &openid).await["errcode"],
        0,
        "the code was paid for when issued"
    );
    assert_eq!(totals(&sandbox, &token, QUICK).await, pair("1", "1"));

    // A code issued, then the packs removed: it still redeems, and bills nothing.
    let realtime = phone_code(&sandbox, &openid, true).await;
    charge(&sandbox, json!({ "pack": "realtime", "all": 0 })).await;
    assert_eq!(
        redeem(&sandbox, &token, &realtime, &openid).await["errcode"],
        0
    );
    assert_eq!(totals(&sandbox, &token, REALTIME).await, pair("0", "0"));
    assert_eq!(
        get(&sandbox, "/sandbox/stats").await["billed"],
        json!({ "quick": 1, "realtime": 1 })
    );
}

#[tokio::test]
async fn charge_answers_the_new_totals_and_refuses_bad_requests() {
    let sandbox = start(config().with_app(OTHER_APPID, OTHER_SECRET)).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    // Billed when issued: `billed` counts it though it is never redeemed.
    phone_code(&sandbox, &openid, false).await;

    let (status, answer) =
        charge(&sandbox, json!({ "pack": "quick", "all": 500, "used": 20 })).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({ "appid": APPID, "pack": "quick", "spuId": QUICK, "all": 500, "used": 20,
                "left": 480, "billed": 1 })
    );
    let detail = usage(&sandbox, &token, QUICK).await;
    assert_eq!(
        (&detail["all"], &detail["effectiveUse"]),
        (&json!("500"), &json!("20"))
    );
    assert_eq!(detail["total"], 1, "one pack replaced the trial");
    let (_, by_spu) = charge(
        &sandbox,
        json!({ "appid": OTHER_APPID, "spuId": REALTIME, "pack": "realtime", "all": 7 }),
    )
    .await;
    assert_eq!(
        by_spu,
        json!({ "appid": OTHER_APPID, "pack": "realtime", "spuId": REALTIME, "all": 7,
                "used": 0, "left": 7, "billed": 0 })
    );
    assert_eq!(
        totals(&sandbox, &token, REALTIME).await,
        pair("1000", "0"),
        "packs are per app"
    );

    for bad in [
        json!({ "all": 5 }),
        json!({ "pack": "other", "all": 5 }),
        json!({ "spuId": "10000001", "all": 5 }),
        json!({ "pack": "quick", "spuId": REALTIME, "all": 5 }),
        json!({ "pack": "quick" }),
        json!({ "pack": "quick", "all": -1 }),
        json!({ "pack": "quick", "all": 5, "used": 6 }),
        json!({ "pack": "quick", "all": "5" }),
    ] {
        let (status, answer) = charge(&sandbox, bad.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let (status, _) = charge(
        &sandbox,
        json!({ "appid": "wxnobody", "pack": "quick", "all": 1 }),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(totals(&sandbox, &token, QUICK).await, pair("500", "20"));
}

#[tokio::test]
async fn faults_and_stats_cover_the_new_apis() {
    let sandbox = start(config()).await;
    let openid = login(&sandbox, json!({})).await;
    let token = token(&sandbox).await;
    for api in ["getuserriskrank", "charge_usage"] {
        let (status, answer) = post(
            &sandbox,
            "/sandbox/faults",
            json!({ "api": api, "errcode": -1, "times": 1 }),
        )
        .await;
        assert_eq!(status, 200, "{api}: {answer}");
    }
    assert_eq!(
        risk_rank(&sandbox, &token, &openid).await,
        json!({ "errcode": -1, "errmsg": "sandbox fault" })
    );
    assert_eq!(risk_rank(&sandbox, &token, &openid).await["errcode"], 0);
    assert_eq!(usage(&sandbox, &token, QUICK).await["errcode"], -1);
    assert_eq!(usage(&sandbox, &token, QUICK).await["errcode"], 0);

    let stats = get(&sandbox, "/sandbox/stats").await;
    assert_eq!(stats["calls"]["getuserriskrank"], 2);
    assert_eq!(stats["calls"]["charge_usage"], 2);
}
