//! API Gateway HTTP API Lambda authorizer events (payload format 2.0, `REQUEST` type),
//! shaped like what API Gateway sends an authorizer whose identity source is
//! `$request.header.Authorization`, for the runtime tests, the catalogue and the bench.

use serde_json::{Value, json};

/// The route every event asks about: an app route behind the authorizer.
pub const ROUTE: (&str, &str) = ("GET", "/me");

/// An authorizer event for `GET /me` with `authorization` as the one `Authorization`
/// header (`None`: no header, and so no identity source either).
pub fn authorizer_event(authorization: Option<&str>) -> Value {
    let headers: Vec<(&str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    authorizer_event_with(&headers, authorization.map(|value| vec![value]))
}

/// An authorizer event with these `headers` (names as given) and `identity_source`
/// (omitted when `None`).
pub fn authorizer_event_with(
    headers: &[(&str, &str)],
    identity_source: Option<Vec<&str>>,
) -> Value {
    let (method, path) = ROUTE;
    let mut header_map = serde_json::Map::new();
    header_map.insert(
        "host".into(),
        json!("abcdef123.execute-api.us-east-1.amazonaws.com"),
    );
    header_map.insert("user-agent".into(), json!("Mozilla/5.0 wechatdevtools"));
    for (name, value) in headers {
        header_map.insert((*name).to_owned(), json!(value));
    }
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/{method}{path}"),
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "cookies": [],
        "headers": header_map,
        "queryStringParameters": {},
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
        "pathParameters": {},
        "stageVariables": {}
    });
    if let Some(sources) = identity_source {
        event["identitySource"] = json!(sources);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_also_the_identity_source() {
        let event = authorizer_event(Some("Bearer x"));
        assert_eq!(event["headers"]["authorization"], "Bearer x");
        assert_eq!(event["identitySource"], json!(["Bearer x"]));
        assert_eq!(event["type"], "REQUEST");

        let bare = authorizer_event(None);
        assert!(bare.get("identitySource").is_none());
        assert!(bare["headers"].get("authorization").is_none());
    }
}
