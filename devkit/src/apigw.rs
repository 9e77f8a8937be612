//! API Gateway HTTP API (payload format 2.0) events, shaped like
//! `sam local generate-event apigateway http-api-proxy`.

use serde_json::{Value, json};

/// An HTTP API v2 event for `method path` with `body` and extra `headers`.
pub fn http_event(method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Value {
    let mut header_map = serde_json::Map::new();
    header_map.insert("content-type".into(), json!("application/json"));
    header_map.insert(
        "host".into(),
        json!("abcdef123.execute-api.us-east-1.amazonaws.com"),
    );
    header_map.insert("user-agent".into(), json!("Mozilla/5.0 wechatdevtools"));
    for (name, value) in headers {
        header_map.insert((*name).to_ascii_lowercase(), json!(value));
    }
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef123",
            "domainName": "abcdef123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0 wechatdevtools"
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1_795_608_000_000_u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// The same event with its body base64-encoded, as API Gateway sends binary payloads.
pub fn base64_http_event(method: &str, path: &str, body: &str) -> Value {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let mut event = http_event(method, path, Some(&encoded), &[]);
    event["isBase64Encoded"] = json!(true);
    event
}

/// What API Gateway sends a `REQUEST` Lambda authorizer (payload format 2.0) before `method
/// path`: the request's headers (names lower-cased) and the identity sources
/// `$request.header.Authorization` and `$context.routeKey`, shaped like
/// `events/authorizer.json`.
pub fn authorizer_event(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
) -> Value {
    let mut event = http_event(method, path, None, headers);
    let headers = event["headers"].clone();
    let route_key = format!("{method} {path}");
    // The template's identity sources: the header, then the route key (API Gateway sends
    // none when the header is missing; it answers 401 itself).
    let identity_source: Vec<Value> = headers
        .get("authorization")
        .map(|value| vec![value.clone(), json!(route_key)])
        .unwrap_or_default();
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/{method}{path}"),
        "identitySource": identity_source,
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": event["requestContext"].take(),
        "pathParameters": {},
        "stageVariables": {}
    })
}

/// The event API Gateway sends for `method` on the push URL of `appid`
/// (`/wechat/events/{appid}`) with `query` and `body`.
pub fn push_event(
    method: &str,
    appid: &str,
    query: &[(String, String)],
    body: Option<&str>,
) -> Value {
    let path = format!("/wechat/events/{appid}");
    let mut event = http_event(method, &path, body, &[]);
    event["routeKey"] = json!(format!("{method} /wechat/events/{{appid}}"));
    event["pathParameters"] = json!({ "appid": appid });
    let raw: Vec<String> = query
        .iter()
        .map(|(name, value)| {
            let encoded: String = value
                .bytes()
                .map(|byte| {
                    if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                        char::from(byte).to_string()
                    } else {
                        format!("%{byte:02X}")
                    }
                })
                .collect();
            format!("{name}={encoded}")
        })
        .collect();
    event["rawQueryString"] = json!(raw.join("&"));
    event["queryStringParameters"] = json!(
        query
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect::<serde_json::Map<String, Value>>()
    );
    event
}
