//! Bad input, table-driven: each row names the request and the exact status and code.
//! Every answer is the contract's JSON error; nothing reaches WeChat or DynamoDB.

// Tests fail by panicking; unwrap is the clearest way to say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use devkit::stack::{TestResponse, TestStack};
use lambda_http::{Body, Request};
use wxlogin::function::HttpFunction;

struct Case {
    name: &'static str,
    method: &'static str,
    body: Body,
    status: u16,
    error: &'static str,
}

fn case(name: &'static str, body: impl Into<Body>, status: u16, error: &'static str) -> Case {
    Case {
        name,
        method: "POST",
        body: body.into(),
        status,
        error,
    }
}

fn cases() -> Vec<Case> {
    let invalid = "invalid_request";
    vec![
        case("no body", Body::Empty, 400, invalid),
        case("empty body", "", 400, invalid),
        case("whitespace body", "  \n\t", 400, invalid),
        case("not JSON", "code=abc", 400, invalid),
        case("truncated JSON", r#"{"code": "abc""#, 400, invalid),
        case("JSON array", "[]", 400, invalid),
        case("JSON null", "null", 400, invalid),
        case("JSON number", "42", 400, invalid),
        case("JSON string", r#""abc""#, 400, invalid),
        case("empty object", "{}", 400, invalid),
        case("code is a number", r#"{"code": 5}"#, 400, invalid),
        case("code is null", r#"{"code": null}"#, 400, invalid),
        case("code is an array", r#"{"code": ["abc"]}"#, 400, invalid),
        case(
            "code is an object",
            r#"{"code": {"v": "abc"}}"#,
            400,
            invalid,
        ),
        case("code is empty", r#"{"code": ""}"#, 400, invalid),
        case(
            "code is 129 characters",
            format!(r#"{{"code": "{}"}}"#, "a".repeat(129)),
            400,
            invalid,
        ),
        case("code has a space", r#"{"code": "abc def"}"#, 400, invalid),
        case("code has a slash", r#"{"code": "abc/def"}"#, 400, invalid),
        case(
            "code has a control character",
            r#"{"code": "abc\u0000def"}"#,
            400,
            invalid,
        ),
        case(
            "code has a newline",
            r#"{"code": "abc\ndef"}"#,
            400,
            invalid,
        ),
        case(
            "code has full-width look-alikes",
            r#"{"code": "ａｂｃ"}"#,
            400,
            invalid,
        ),
        case("code wrongly cased key", r#"{"Code": "abc"}"#, 400, invalid),
        case(
            "body is not UTF-8",
            vec![0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d],
            400,
            invalid,
        ),
        case(
            "body over 16 KiB",
            format!(r#"{{"code": "abc", "pad": "{}"}}"#, "x".repeat(16 * 1024)),
            413,
            "payload_too_large",
        ),
        Case {
            method: "GET",
            ..case(
                "GET instead of POST",
                r#"{"code": "abc"}"#,
                405,
                "method_not_allowed",
            )
        },
        Case {
            method: "PUT",
            ..case(
                "PUT instead of POST",
                r#"{"code": "abc"}"#,
                405,
                "method_not_allowed",
            )
        },
    ]
}

#[tokio::test]
async fn every_bad_request_gets_its_status_and_code_and_touches_nothing() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let cases = cases();
    assert!(cases.len() >= 25);

    for case in cases {
        let mut request = Request::new(case.body);
        *request.method_mut() = case.method.parse().unwrap();
        let response = TestResponse::from_response(service.handle(request).await)
            .unwrap_or_else(|err| panic!("{}: {err}", case.name));
        assert_eq!(
            (response.status, response.error_code()),
            (case.status, case.error),
            "{}: {:?}",
            case.name,
            response.json
        );
        assert!(response.json["message"].is_string(), "{}", case.name);
        assert!(
            response.headers.contains_key("x-request-id"),
            "{}",
            case.name
        );
    }

    assert_eq!(stack.wechat_calls("jscode2session").await.unwrap(), 0);
    let items = stack.items().await.unwrap();
    assert_eq!(items.len(), 0, "no claim, no half-written session");
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let stack = TestStack::start().await.unwrap();
    let service = stack.login_service().await.unwrap();
    let user = stack.sandbox_login(serde_json::json!({})).await.unwrap();
    let body =
        serde_json::json!({ "code": user["code"], "rawData": "{}", "extra": [1, 2] }).to_string();

    let response =
        TestResponse::from_response(service.handle(devkit::stack::post(body)).await).unwrap();

    assert_eq!(response.status, 200, "{:?}", response.json);
}
