//! The real `phone-packs` binary under the Runtime API emulator, invoked as the template's
//! schedule invokes it (its `Input`), against the sandbox's 付费管理 and DynamoDB Local:
//! a pack running low raises the alarm's metric — checked against `PhonePackAlarm` as
//! template.yaml defines it (namespace, metric, dimensions, threshold) — a healthy one
//! clears it, and a run that can read nothing fails the invocation.

use std::time::Duration;

use devkit::binary_check::{FunctionUnderTest, assert_no_secret, json_lines};
use devkit::emf::{MetricPoint, metric_points};
use devkit::stack::{TEST_APPID, TestStack};
use devkit::template::{self, Alarm};
use serde_json::{Value, json};
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::domain::pack_forecast::READING_WINDOW_SECONDS;
use wxlogin::domain::{PackReading, PhonePack};
use wxlogin::ports::PackReadings;

/// The stack name the namespace is made for, as the template's Globals make it.
const STACK: &str = "wxlogin-binaries";

/// What the template's schedule sends.
fn scheduler_event(template: &str) -> Value {
    let function = template::entry(template, "PhonePacksFunction").unwrap();
    let input = template::value(function, "Input").expect("the schedule's Input");
    serde_json::from_str(input).unwrap()
}

async fn charge(stack: &TestStack, body: Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/sandbox/charge", stack.sandbox.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

/// The points of `alarm`'s metric exactly: its namespace, name and dimensions.
fn alarm_points<'a>(alarm: &Alarm, points: &'a [MetricPoint]) -> Vec<&'a MetricPoint> {
    let dimensions: Vec<(String, String)> = alarm.dimensions.clone();
    points
        .iter()
        .filter(|point| {
            point.namespace == alarm.namespace_of(STACK)
                && point.name == alarm.metric_name
                && point.dimensions == dimensions
        })
        .collect()
}

fn value_of(points: &[MetricPoint], name: &str, pack: &str) -> Vec<f64> {
    points
        .iter()
        .filter(|point| {
            point.name == name
                && point.dimensions
                    == vec![
                        ("AppId".to_owned(), TEST_APPID.to_owned()),
                        ("Pack".to_owned(), pack.to_owned()),
                    ]
        })
        .flat_map(|point| point.values.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_running_low_raises_the_alarms_metric() {
    let template = template::template();
    let alarm = Alarm::of(&template, "PhonePackAlarm");
    let threshold = alarm.default_threshold(&template);
    let stack = TestStack::start().await.unwrap();
    let namespace = alarm.namespace_of(STACK);
    let function = FunctionUnderTest::spawn_verbose(
        &stack,
        crate::function_binary("phone-packs"),
        &[("METRICS_NAMESPACE", namespace.as_str())],
    )
    .await
    .unwrap();

    // Yesterday's reading: 100 used. Now 900 of 1,000: 800 a day, 100 left, 3 hours.
    let now = now_epoch_seconds();
    let yesterday = PackReading {
        at: now - 86_400,
        used: 100,
    };
    stack
        .store()
        .record_reading(
            TEST_APPID,
            PhonePack::Quick,
            yesterday,
            now - READING_WINDOW_SECONDS,
        )
        .await
        .unwrap();
    charge(&stack, json!({"pack": "quick", "all": 1000, "used": 900})).await;

    let answer = function
        .runtime
        .invoke(scheduler_event(&template), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("the run failed: {err}"));
    assert_eq!(answer["failures"], json!([]), "{answer}");
    let quick = answer["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["pack"] == "quick")
        .unwrap();
    assert_eq!(
        (quick["used"].as_u64(), quick["left"].as_u64()),
        (Some(900), Some(100))
    );

    let output = function.settled_output().await;
    let points = metric_points(&output);
    let watched = alarm_points(&alarm, &points);
    assert_eq!(
        watched.len(),
        1,
        "one value of the alarm's metric a run: {points:?}"
    );
    let fewest = watched[0].values[0];
    assert!(
        alarm.breached_by(fewest, threshold) && fewest < threshold,
        "{fewest} days left must raise the alarm (under {threshold})"
    );
    assert!(
        (fewest - 0.125).abs() < 0.01,
        "100 left at ~800 a day: {fewest}"
    );
    // By app and kind: the quick pack's numbers; the untouched real-time trial capped.
    assert_eq!(value_of(&points, "PhonePackUsed", "quick"), vec![900.0]);
    assert_eq!(value_of(&points, "PhonePackLeft", "quick"), vec![100.0]);
    assert_eq!(value_of(&points, "PhonePackLeft", "realtime"), vec![1000.0]);
    assert_eq!(
        value_of(&points, "PhonePackDaysLeft", "realtime"),
        vec![365.0]
    );
    let done: Vec<Value> = json_lines(&output)
        .filter(|line| line["message"] == "request done")
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (&done[0]["function"], &done[0]["outcome"]),
        (&json!("phone-packs"), &json!("ok"))
    );

    // A pack bought: 100,000 more units, far above the threshold; the alarm clears.
    charge(
        &stack,
        json!({"pack": "quick", "all": 101_000, "used": 900}),
    )
    .await;
    let before = output.len();
    function
        .runtime
        .invoke(scheduler_event(&template), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let output = function.settled_output().await;
    let points = metric_points(&output[before..]);
    let watched = alarm_points(&alarm, &points);
    assert_eq!(watched.len(), 1, "{points:?}");
    assert!(
        !alarm.breached_by(watched[0].values[0], threshold),
        "{points:?}"
    );

    assert_no_secret(&output, &[("AppSecret", stack.secret.as_str())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_read_fails_the_run() {
    let template = template::template();
    let stack = TestStack::start().await.unwrap();
    let function =
        FunctionUnderTest::spawn_verbose(&stack, crate::function_binary("phone-packs"), &[])
            .await
            .unwrap();
    stack
        .sandbox_fault(json!({"api": "charge_usage", "errcode": 48001, "times": 2}))
        .await
        .unwrap();
    let outcome = function
        .runtime
        .invoke(scheduler_event(&template), Duration::from_secs(60))
        .await
        .unwrap();
    let error = outcome.expect_err("nothing read: the invocation fails");
    assert_eq!(error["errorType"], "PhonePacksUnread", "{error}");

    let output = function.settled_output().await;
    let points = metric_points(&output);
    assert!(
        points.iter().all(|point| point.name != "PhonePackDaysLeft"),
        "no days left written from nothing: {points:?}"
    );
    assert!(
        points.iter().any(|point| point.name == "WeChatErrors"
            && point
                .dimensions
                .contains(&("Errcode".to_owned(), "48001".to_owned()))),
        "{points:?}"
    );
    assert!(
        points.iter().any(|point| point.name == "PhonePackChecks"
            && point.dimensions == vec![("Outcome".to_owned(), "failed".to_owned())]),
        "{points:?}"
    );
}
