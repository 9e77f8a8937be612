//! The sandbox's stable_token follows WeChat's rules: a forced refresh cuts off the old
//! token at once, forces are at most one per 30 s (a sooner one does not refresh) and 20 a
//! day, and normal mode renews a token in its last 5 minutes while the old one lives out
//! its time. `/sandbox/stats` counts the forces and the refusals.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use wechat_sandbox::{RunningSandbox, SandboxConfig};

mod support;
use support::{APPID, SECRET, config, get, post, stable_token, start};

/// The current token's text, from a successful stable_token answer.
async fn token(sandbox: &RunningSandbox, force_refresh: bool) -> String {
    let answer = stable_token(sandbox, force_refresh).await;
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned()
}

/// What getuserphonenumber says about `token`: its errcode for a code that was never
/// issued. The token is checked first, so `40029` means WeChat accepted the token.
async fn phone_verdict(sandbox: &RunningSandbox, token: &str) -> Value {
    post(
        sandbox,
        &format!("/wxa/business/getuserphonenumber?access_token={token}"),
        json!({ "code": "neverissued" }),
    )
    .await
    .1["errcode"]
        .clone()
}

/// What checksession says about `token`: `40097` (no signature) means the token passed.
async fn checksession_verdict(sandbox: &RunningSandbox, token: &str) -> Value {
    get(
        sandbox,
        &format!("/wxa/checksession?access_token={token}&openid=o1&sig_method=hmac_sha256"),
    )
    .await["errcode"]
        .clone()
}

const ACCEPTED: i64 = 40029;

async fn stats(sandbox: &RunningSandbox) -> Value {
    get(sandbox, "/sandbox/stats").await
}

fn forces(stats: &Value) -> (Value, Value) {
    (
        stats["forced_refreshes"].clone(),
        stats["forced_refresh_refusals"].clone(),
    )
}

#[test]
fn the_defaults_are_wechats() {
    let config = SandboxConfig::new(APPID, SECRET);
    assert_eq!(config.forced_refreshes_per_day, 20);
    assert_eq!(config.force_refresh_min_interval, Duration::from_secs(30));
    assert_eq!(config.renew_before_expiry, Duration::from_secs(300));
    assert_eq!(config.access_token_ttl, Duration::from_secs(7200));
}

#[tokio::test]
async fn a_forced_refresh_invalidates_the_previous_token_at_once() {
    let sandbox = start(config()).await;
    let old = token(&sandbox, false).await;
    assert_eq!(phone_verdict(&sandbox, &old).await, ACCEPTED);

    let forced = stable_token(&sandbox, true).await;
    let new = forced["access_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(forced["expires_in"], 7200);

    assert_eq!(
        phone_verdict(&sandbox, &old).await,
        40001,
        "no grace period"
    );
    assert_eq!(checksession_verdict(&sandbox, &old).await, 40001);
    assert_eq!(phone_verdict(&sandbox, new).await, ACCEPTED);
    assert_eq!(checksession_verdict(&sandbox, new).await, 40097);
    assert_eq!(
        token(&sandbox, false).await,
        new,
        "normal mode hands out the new one"
    );
    assert_eq!(
        forces(&stats(&sandbox).await),
        (json!(1), json!({ "too_soon": 0, "daily_limit": 0 }))
    );
}

#[tokio::test]
async fn a_force_within_the_interval_does_not_refresh_or_count() {
    let sandbox = start(SandboxConfig {
        force_refresh_min_interval: Duration::from_millis(200),
        forced_refreshes_per_day: 2,
        ..config()
    })
    .await;
    let first = token(&sandbox, true).await;
    let again = stable_token(&sandbox, true).await;
    assert_eq!(
        again["access_token"],
        first.as_str(),
        "too soon: the same token"
    );
    assert_eq!(phone_verdict(&sandbox, &first).await, ACCEPTED);
    assert_eq!(
        forces(&stats(&sandbox).await),
        (json!(1), json!({ "too_soon": 1, "daily_limit": 0 }))
    );

    tokio::time::sleep(Duration::from_millis(250)).await;
    let second = token(&sandbox, true).await;
    assert_ne!(second, first, "after the interval a force refreshes again");
    assert_eq!(phone_verdict(&sandbox, &first).await, 40001);
    assert_eq!(
        forces(&stats(&sandbox).await),
        (json!(2), json!({ "too_soon": 1, "daily_limit": 0 })),
        "the refused force left room for this one in a day of 2"
    );
}

#[tokio::test]
async fn the_twenty_first_force_of_a_day_is_refused_until_a_new_day() {
    let sandbox = start(SandboxConfig {
        force_refresh_min_interval: Duration::ZERO,
        ..config()
    })
    .await;
    assert_eq!(
        forces(&stats(&sandbox).await),
        (json!(0), json!({ "too_soon": 0, "daily_limit": 0 }))
    );
    let mut last = String::new();
    for n in 1..=20 {
        let fresh = token(&sandbox, true).await;
        assert_ne!(fresh, last, "force {n} refreshes");
        last = fresh;
    }

    let refused = stable_token(&sandbox, true).await;
    assert_eq!(refused["errcode"], 45009, "{refused}");
    assert!(refused.get("access_token").is_none());
    assert_eq!(
        phone_verdict(&sandbox, &last).await,
        ACCEPTED,
        "still valid"
    );
    assert_eq!(
        token(&sandbox, false).await,
        last,
        "normal mode still works"
    );
    let after = stats(&sandbox).await;
    assert_eq!(
        forces(&after),
        (json!(20), json!({ "too_soon": 0, "daily_limit": 1 }))
    );
    assert_eq!(
        after["calls"]["stable_token"], 22,
        "the calls shape is unchanged"
    );

    let (status, answer) = post(&sandbox, "/sandbox/token-day", json!({})).await;
    assert_eq!((status, answer), (200, json!({ "ok": true })));
    let next_day = token(&sandbox, true).await;
    assert_ne!(next_day, last);
    assert_eq!(phone_verdict(&sandbox, &last).await, 40001);
    assert_eq!(
        forces(&stats(&sandbox).await),
        (json!(21), json!({ "too_soon": 0, "daily_limit": 1 }))
    );
}

#[tokio::test]
async fn normal_mode_renews_near_expiry_and_the_old_token_lives_out_its_time() {
    let sandbox = start(SandboxConfig {
        access_token_ttl: Duration::from_secs(2),
        renew_before_expiry: Duration::from_secs(1),
        ..config()
    })
    .await;
    let old = token(&sandbox, false).await;
    assert_eq!(
        token(&sandbox, false).await,
        old,
        "stable while far from expiry"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renewed = token(&sandbox, false).await;
    assert_ne!(renewed, old, "renewed in its last second");
    assert_eq!(token(&sandbox, false).await, renewed);
    assert_eq!(phone_verdict(&sandbox, &old).await, ACCEPTED, "both valid");
    assert_eq!(phone_verdict(&sandbox, &renewed).await, ACCEPTED);

    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        phone_verdict(&sandbox, &old).await,
        42001,
        "expired on time"
    );
    assert_eq!(checksession_verdict(&sandbox, &old).await, 42001);
    assert_eq!(phone_verdict(&sandbox, &renewed).await, ACCEPTED);
    assert_eq!(
        forces(&stats(&sandbox).await),
        (json!(0), json!({ "too_soon": 0, "daily_limit": 0 })),
        "renewals are not forced refreshes"
    );
}

#[tokio::test]
async fn a_force_during_the_overlap_cuts_off_both_tokens() {
    let sandbox = start(SandboxConfig {
        renew_before_expiry: Duration::from_secs(7200),
        ..config()
    })
    .await;
    // A renewal window as long as the token's life: every normal call renews.
    let older = token(&sandbox, false).await;
    let newer = token(&sandbox, false).await;
    assert_ne!(older, newer);
    assert_eq!(phone_verdict(&sandbox, &older).await, ACCEPTED);

    let forced = token(&sandbox, true).await;
    assert_eq!(phone_verdict(&sandbox, &older).await, 40001);
    assert_eq!(phone_verdict(&sandbox, &newer).await, 40001);
    assert_eq!(phone_verdict(&sandbox, &forced).await, ACCEPTED);
}
