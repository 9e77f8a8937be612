//! Turning an API Gateway request into typed input.

use std::sync::OnceLock;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::ApiError;

/// The API's body limit.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Parses the body as JSON into `T`. `shape_hint` is the 400 message for a body that
/// is JSON but not the expected shape; it never echoes the input back.
///
/// API Gateway's base64-encoded bodies arrive decoded: lambda_http decodes them when
/// `isBase64Encoded` is set.
pub fn json_body<T: DeserializeOwned>(
    request: &Request,
    shape_hint: &'static str,
) -> Result<T, ApiError> {
    let bytes = body_bytes(request)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidRequest("a JSON body is required"));
    }
    // Straight into `T`: unknown fields are ignored, a repeated field is an error (an
    // ambiguous body is refused rather than read one way here and another elsewhere).
    serde_json::from_slice(bytes).map_err(|err| match err.classify() {
        Category::Data => ApiError::InvalidRequest(shape_hint),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::InvalidRequest("the body is not valid JSON")
        }
    })
}

/// The request's body as bytes (none for an empty one), refused over [`MAX_BODY_BYTES`].
pub fn body_bytes(request: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(bytes)
}

/// The appid in the Referer WeChat's client sets on every `wx.request` from a
/// mini-program: `https://servicewechat.com/<appid>/<version>/page-frame.html` (the
/// version is `devtools` in WeChat DevTools, `0` for development, trial and review builds,
/// the version number once released). Any other Referer (a browser, a tool) names no app.
pub fn referer_appid(request: &Request) -> Option<&str> {
    let referer = request
        .headers()
        .get(http::header::REFERER)?
        .to_str()
        .ok()?;
    let mut path = referer
        .strip_prefix("https://servicewechat.com/")?
        .split('/');
    let (appid, version, page) = (path.next()?, path.next()?, path.next()?);
    let known_version = version == "devtools"
        || (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()));
    let well_formed = path.next().is_none()
        && page == "page-frame.html"
        && known_version
        && !appid.is_empty()
        && appid.chars().all(|c| c.is_ascii_alphanumeric());
    well_formed.then_some(appid)
}

/// The edge's origin token, set once at init by a function behind the template's edge.
static EDGE_ORIGIN_TOKEN: OnceLock<String> = OnceLock::new();

/// Trusts `X-Forwarded-For` on requests carrying `X-Wxlogin-Edge: <token>` (the template's
/// CloudFront edge sends it); called once by the composition root.
pub fn trust_edge_origin(token: String) {
    if EDGE_ORIGIN_TOKEN.set(token).is_err() {
        tracing::warn!("the edge origin token was set twice; the first one stands");
    }
}

/// The client's address for per-client limits: [`source_ip`], or behind the edge the
/// address CloudFront saw ([`client_address_behind`]).
pub fn client_address(request: &Request) -> Option<&str> {
    client_address_behind(request, EDGE_ORIGIN_TOKEN.get().map(String::as_str))
}

/// [`client_address`] with the edge's token given. A request carrying the token came
/// through CloudFront: the client is the rightmost `X-Forwarded-For` entry before those
/// API Gateway appended (equal to `sourceIp`), never the leftmost, which the client
/// writes. Without the token (no edge, or a caller going to the execute-api host past
/// the web ACL) the header is the caller's own words, and `sourceIp` is the client.
pub fn client_address_behind<'r>(
    request: &'r Request,
    edge_token: Option<&str>,
) -> Option<&'r str> {
    let source_ip = source_ip(request)?;
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let through_edge = edge_token.is_some_and(|token| header("x-wxlogin-edge") == Some(token));
    if !through_edge {
        return Some(source_ip);
    }
    let viewer = header("x-forwarded-for").and_then(|forwarded| {
        forwarded
            .rsplit(',')
            .map(str::trim)
            .find(|entry| *entry != source_ip)
            .filter(|entry| entry.parse::<std::net::IpAddr>().is_ok())
    });
    Some(viewer.unwrap_or(source_ip))
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`; a
/// function URL reports it the same way). Not the `X-Forwarded-For` header: the client
/// writes that one.
pub fn source_ip(request: &Request) -> Option<&str> {
    let source_ip = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        _ => None,
    };
    source_ip.filter(|ip| !ip.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[allow(dead_code)]
        code: String,
    }

    fn request(body: Body) -> Request {
        http::Request::builder().method("POST").body(body).unwrap()
    }

    /// A request as API Gateway hands it over from `source_ip` with `headers`.
    fn from(source_ip: &str, headers: &[(&str, &str)]) -> Request {
        let headers: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), serde_json::json!(value)))
            .collect();
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "POST /onlogin", "rawPath": "/onlogin",
            "rawQueryString": "", "headers": headers,
            "requestContext": {
                "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "POST", "path": "/onlogin", "protocol": "HTTP/1.1",
                         "sourceIp": source_ip, "userAgent": "t"},
                "requestId": "r", "routeKey": "POST /onlogin", "stage": "$default",
                "time": "05/Dec/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn the_client_is_api_gateways_source_ip_unless_the_edge_vouches_for_the_header() {
        let cloudfront = "130.176.1.1";
        let spoofed = "1.1.1.1";
        let viewer = "203.0.113.9";
        let through_edge = from(
            cloudfront,
            &[
                ("x-wxlogin-edge", "t0k"),
                (
                    "x-forwarded-for",
                    &format!("{spoofed}, {viewer}, {cloudfront}"),
                ),
            ],
        );
        assert_eq!(
            client_address_behind(&through_edge, Some("t0k")),
            Some(viewer)
        );
        assert_eq!(
            client_address_behind(&through_edge, None),
            Some(cloudfront),
            "no edge configured: the header is the caller's own"
        );
        let direct = from(
            "198.51.100.5",
            &[("x-wxlogin-edge", "guess"), ("x-forwarded-for", spoofed)],
        );
        assert_eq!(
            client_address_behind(&direct, Some("t0k")),
            Some("198.51.100.5"),
            "past the web ACL without the token: sourceIp"
        );
        let over_ipv6 = from(
            cloudfront,
            &[
                ("x-wxlogin-edge", "t0k"),
                ("x-forwarded-for", "2408:8207:1:2::9, 130.176.1.1"),
            ],
        );
        assert_eq!(
            client_address_behind(&over_ipv6, Some("t0k")),
            Some("2408:8207:1:2::9")
        );
        let garbage = from(
            cloudfront,
            &[("x-wxlogin-edge", "t0k"), ("x-forwarded-for", "nonsense")],
        );
        assert_eq!(
            client_address_behind(&garbage, Some("t0k")),
            Some(cloudfront)
        );
        assert_eq!(
            client_address_behind(&request(Body::Empty), Some("t0k")),
            None
        );
    }

    fn parse(body: Body) -> Result<Probe, ApiError> {
        json_body::<Probe>(&request(body), "shape")
    }

    #[test]
    fn empty_and_blank_bodies_are_rejected() {
        for body in [
            Body::Empty,
            Body::Text(String::new()),
            Body::Text(" \n".into()),
        ] {
            assert_eq!(parse(body).unwrap_err().code(), "invalid_request");
        }
    }

    #[test]
    fn oversized_bodies_are_413_before_parsing() {
        let big = format!("{{\"code\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            parse(Body::Text(big)).unwrap_err(),
            ApiError::PayloadTooLarge
        );
    }

    #[test]
    fn wrong_shapes_get_the_hint() {
        for body in ["[]", "null", "42", "{\"code\":5}", "{}", "\"code\""] {
            assert_eq!(
                parse(Body::Text(body.into())).unwrap_err(),
                ApiError::InvalidRequest("shape"),
                "{body}"
            );
        }
    }

    #[test]
    fn syntax_errors_and_shape_errors_get_different_messages() {
        assert_eq!(
            parse(Body::Text("{\"code\": ".into())).unwrap_err(),
            ApiError::InvalidRequest("the body is not valid JSON")
        );
        assert_eq!(
            parse(Body::Text("{\"code\": 1}".into())).unwrap_err(),
            ApiError::InvalidRequest("shape")
        );
    }

    #[test]
    fn repeated_fields_are_refused() {
        assert_eq!(
            parse(Body::Text(r#"{"code": "a", "code": "b"}"#.into())).unwrap_err(),
            ApiError::InvalidRequest("shape")
        );
    }

    #[test]
    fn binary_bodies_parse_like_text() {
        assert!(parse(Body::Binary(br#"{"code":"abc"}"#.to_vec())).is_ok());
        assert!(parse(Body::Binary(vec![0xff, 0xfe])).is_err());
    }

    #[test]
    fn the_referer_of_a_mini_program_names_its_appid_and_no_other_does() {
        let appid_in = |referer: &str| {
            let request = http::Request::builder()
                .header("Referer", referer)
                .body(Body::Empty)
                .unwrap();
            referer_appid(&request).map(str::to_owned)
        };
        for (referer, appid) in [
            (
                "https://servicewechat.com/wx4f4bc4dec97d474b/12/page-frame.html",
                Some("wx4f4bc4dec97d474b"),
            ),
            (
                "https://servicewechat.com/wx4f4bc4dec97d474b/devtools/page-frame.html",
                Some("wx4f4bc4dec97d474b"),
            ),
            (
                "https://servicewechat.com/wx4f4bc4dec97d474b/0/page-frame.html",
                Some("wx4f4bc4dec97d474b"),
            ),
            (
                "https://servicewechat.com/wx4f4bc4dec97d474b/12/other.html",
                None,
            ),
            ("https://servicewechat.com/wx4f/1?x=/page-frame.html", None),
            ("https://servicewechat.com/wx4f/v1/page-frame.html", None),
            (
                "https://servicewechat.com/wx4f4bc4dec97d474b/page-frame.html",
                None,
            ),
            ("https://servicewechat.com/wx4f/12/page-frame.html/x", None),
            ("https://servicewechat.com//12/page-frame.html", None),
            ("https://servicewechat.com/wx%20x/12/page-frame.html", None),
            (
                "http://servicewechat.com/wx4f4bc4dec97d474b/12/page-frame.html",
                None,
            ),
            (
                "https://servicewechat.com.evil/wx4f/12/page-frame.html",
                None,
            ),
            ("https://example.com/", None),
        ] {
            assert_eq!(appid_in(referer).as_deref(), appid, "{referer}");
        }
        assert_eq!(referer_appid(&request(Body::Empty)), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::edge::bearer_token;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct LoginBody {
        code: String,
    }

    proptest! {
        /// Any body and any Authorization bytes: parsing answers Ok or a 4xx, never panics.
        #[test]
        fn arbitrary_requests_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            authorization in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut request = Request::new(Body::Binary(body));
            if let Ok(value) = http::HeaderValue::from_bytes(&authorization) {
                request.headers_mut().insert(http::header::AUTHORIZATION, value);
            }
            if let Err(err) = bearer_token(&request) {
                prop_assert_eq!(err.status().as_u16(), 401);
            }
            match json_body::<LoginBody>(&request, "shape") {
                Ok(parsed) => prop_assert!(parsed.code.len() <= MAX_BODY_BYTES),
                Err(err) => prop_assert!(err.status().is_client_error()),
            }
        }
    }
}
