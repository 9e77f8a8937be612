//! Every file in `events/` replayed through the real function binaries under the Runtime
//! API emulator. Placeholders (`REPLACE_WITH_…`) are filled with live values from the
//! sandbox and `/onlogin`, the way a developer would before `cargo lambda invoke`. The
//! authorizer's fixture is replayed twice: as shipped (denied) and filled (allowed).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use devkit::dynamodb_local::workspace_root;
use devkit::function_process::FunctionProcess;
use devkit::runtime_api::RuntimeApi;
use devkit::stack::TestStack;
use serde_json::{Value, json};

/// What each fixture must answer: status and, for errors, the error code.
fn expectations() -> BTreeMap<&'static str, (u16, Option<&'static str>)> {
    BTreeMap::from([
        ("onlogin.json", (200, None)),
        ("onlogin-base64.json", (200, None)),
        ("onlogin-bad-body.json", (400, Some("invalid_request"))),
        ("onlogin-no-body.json", (400, Some("invalid_request"))),
        ("decrypt-phone-legacy.json", (200, None)),
        ("decrypt-phone-code.json", (200, None)),
        ("decrypt-phone-no-token.json", (401, Some("invalid_token"))),
        (
            "decrypt-phone-both-forms.json",
            (400, Some("invalid_request")),
        ),
        ("session-get.json", (200, None)),
        ("session-check.json", (200, None)),
        ("session-delete.json", (200, None)),
        ("session-no-token.json", (401, Some("invalid_token"))),
    ])
}

/// The authorizer's fixtures: not HTTP events, their answer is the simple response.
const AUTHORIZER_FIXTURES: &[&str] = &["authorizer.json"];

/// Replaces placeholders in the event's body and headers, decoding a base64 body first.
fn fill(event: &mut Value, values: &[(&str, String)]) {
    let substitute = |text: &str| {
        values
            .iter()
            .fold(text.to_owned(), |text, (placeholder, value)| {
                text.replace(placeholder, value)
            })
    };
    if let Some(body) = event["body"].as_str() {
        let filled = if event["isBase64Encoded"] == true {
            let decoded = String::from_utf8(STANDARD.decode(body).unwrap()).unwrap();
            STANDARD.encode(substitute(&decoded))
        } else {
            substitute(body)
        };
        event["body"] = json!(filled);
    }
    if let Some(headers) = event["headers"].as_object_mut() {
        for value in headers.values_mut() {
            *value = json!(substitute(value.as_str().unwrap_or_default()));
        }
    }
    if let Some(sources) = event["identitySource"].as_array_mut() {
        for value in sources {
            *value = json!(substitute(value.as_str().unwrap_or_default()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_fixture_gets_its_documented_answer() {
    let stack = TestStack::start().await.unwrap();
    let mut functions = BTreeMap::new();
    for name in ["onlogin", "decrypt-phone", "session", "authorizer"] {
        let runtime = RuntimeApi::start().await.unwrap();
        let process = FunctionProcess::spawn(
            crate::function_binary(name),
            &runtime.address(),
            &stack.function_env(),
        )
        .unwrap();
        functions.insert(name, (runtime, process));
    }

    let mut files: Vec<_> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let expectations = expectations();
    assert_eq!(
        files.len(),
        expectations.len() + AUTHORIZER_FIXTURES.len(),
        "every fixture needs an expectation: {files:?}"
    );

    for path in files {
        let file = path.file_name().unwrap().to_str().unwrap();
        if AUTHORIZER_FIXTURES.contains(&file) {
            replay_authorizer_fixture(&stack, &functions["authorizer"].0, &path).await;
            continue;
        }
        let &(status, error) = expectations
            .get(file)
            .unwrap_or_else(|| panic!("no expectation for {file}"));
        let function = ["decrypt-phone", "session"]
            .into_iter()
            .find(|function| file.starts_with(function))
            .unwrap_or("onlogin");

        let user = stack.sandbox_login(json!({})).await.unwrap();
        let (token, phone_user) = stack.logged_in_user(json!({})).await.unwrap();
        let phone = stack
            .sandbox_phone(json!({ "openid": phone_user["openid"], "phoneNumber": "13800138000" }))
            .await
            .unwrap();
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        fill(
            &mut event,
            &[
                (
                    "REPLACE_WITH_CODE_FROM_SANDBOX_LOGIN",
                    user["code"].as_str().unwrap().to_owned(),
                ),
                ("REPLACE_WITH_TOKEN_FROM_ONLOGIN_43_CHARACTERS", token),
                (
                    "REPLACE_WITH_SANDBOX_PHONE_ENCRYPTEDDATA",
                    phone["encryptedData"].as_str().unwrap().to_owned(),
                ),
                (
                    "REPLACE_WITH_SANDBOX_PHONE_IV",
                    phone["iv"].as_str().unwrap().to_owned(),
                ),
                (
                    "REPLACE_WITH_SANDBOX_PHONE_CODE",
                    phone["code"].as_str().unwrap().to_owned(),
                ),
            ],
        );

        let (runtime, _) = &functions[function];
        let response = runtime
            .invoke(event, Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap_or_else(|err| panic!("{file}: the function reported an error: {err}"));
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(response["statusCode"], status, "{file}: {body}");
        assert_eq!(body["error"].as_str(), error, "{file}: {body}");
    }
}

/// As shipped, the placeholder token is denied; filled with a live token, the caller is
/// allowed with their openid in the context.
async fn replay_authorizer_fixture(
    stack: &TestStack,
    runtime: &RuntimeApi,
    path: &std::path::Path,
) {
    let shipped: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let answer = runtime
        .invoke(shipped.clone(), Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("{path:?}: the authorizer reported an error: {err}"));
    assert_eq!(
        answer,
        json!({"isAuthorized": false}),
        "{path:?} as shipped"
    );

    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let mut filled = shipped;
    fill(
        &mut filled,
        &[("REPLACE_WITH_TOKEN_FROM_ONLOGIN_43_CHARACTERS", token)],
    );
    let answer = runtime
        .invoke(filled, Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("{path:?}: the authorizer reported an error: {err}"));
    assert_eq!(answer["isAuthorized"], true, "{path:?} filled: {answer}");
    assert_eq!(
        answer["context"]["openid"], user["openid"],
        "{path:?} filled: {answer}"
    );
}
