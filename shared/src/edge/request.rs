//! Turning an API Gateway request into typed input.

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
