//! The real `retention` binary under the Runtime API emulator, fed a DynamoDB Streams
//! batch as Lambda delivers the template's filtered stream: the users the TTL removed get
//! their inactivity record; other records are left alone; no openid in what it prints.

use std::path::Path;
use std::time::Duration;

use devkit::binary_check::{FunctionUnderTest, assert_no_secret};
use devkit::emf::{metric_points, metric_sum};
use devkit::stack::{TEST_APPID, TestStack};
use serde_json::{Value, json};
use wxlogin::testing::stack_key;

fn binary() -> &'static Path {
    crate::function_binary("retention")
}

fn removed(principal: &str, pk: &str, openid: &str) -> Value {
    json!({
        "eventID": "1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "Service", "principalId": principal},
        "dynamodb": {
            "ApproximateCreationDateTime": 1764979200,
            "Keys": {"pk": {"S": pk}},
            "OldImage": {"pk": {"S": pk}, "appid": {"S": TEST_APPID}, "openid": {"S": openid},
                         "created_at": {"N": "1764892800"}, "expires_at": {"N": "1764979100"}},
            "SequenceNumber": format!("1000{}", openid.len()), "SizeBytes": 120, "StreamViewType": "OLD_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-12-05T00:00:00.000"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_removed_by_ttl_get_their_inactivity_record() {
    let stack = TestStack::start().await.unwrap();
    let function = FunctionUnderTest::spawn_verbose(&stack, binary(), &[])
        .await
        .unwrap();
    let (expired, kept) = (
        "oExpiredUser00000000000000001",
        "oDeletedByHand000000000000002",
    );
    let batch = json!({"Records": [
        removed("dynamodb.amazonaws.com", "user#aa", expired),
        removed("AROAEXAMPLE:operator", "user#bb", kept),
    ]});
    let answer = function
        .runtime
        .invoke(batch, Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));

    let items = stack.items().await.unwrap();
    let has_record = |openid: &str| {
        let pk = format!("erasure#{}", stack_key().subject(TEST_APPID, openid));
        items
            .iter()
            .find(|item| item["pk"].as_s().unwrap() == &pk)
            .cloned()
    };
    let record = has_record(expired).expect("the inactivity record");
    assert_eq!(record["reason"].as_s().unwrap(), "inactivity");
    assert!(has_record(kept).is_none(), "not a TTL deletion: no record");

    let output = function.settled_output().await;
    let points = metric_points(&output);
    assert_eq!(
        metric_sum(&points, "Erasures", &[("Reason", "inactivity")]),
        1.0
    );
    assert_eq!(
        metric_sum(&points, "RetentionBatches", &[("Outcome", "ok")]),
        1.0
    );
    assert_no_secret(&output, &[("openid", expired), ("openid", kept)]);
}
