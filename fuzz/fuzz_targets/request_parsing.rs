//! Arbitrary bodies and Authorization (and Referer) headers through the request parsing
//! the handlers use: never a panic, an accepted body always holds a well-formed code, and
//! an appid is read from a Referer of WeChat's host only, as its first path segment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wxlogin::edge::{bearer_token, json_body, referer_appid};
use wxlogin::domain::LoginCode;

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (body, authorization) = input;
    let mut request = lambda_http::Request::new(lambda_http::Body::Binary(body));
    if let Ok(value) = http::HeaderValue::from_bytes(&authorization) {
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value.clone());
        request.headers_mut().insert(http::header::REFERER, value);
    }
    let _ = bearer_token(&request);
    if let Some(appid) = referer_appid(&request) {
        // Only ever the path segment of WeChat's own host, never a piece of elsewhere.
        let referer = String::from_utf8_lossy(&authorization);
        assert!(referer.starts_with(&format!("https://servicewechat.com/{appid}/")));
    }
    if let Ok(value) = json_body::<Value>(&request, "shape") {
        if let Some(code) = value.get("code").and_then(Value::as_str) {
            if let Some(parsed) = LoginCode::parse(code) {
                assert_eq!(parsed.as_str(), code);
            }
        }
    }
});
