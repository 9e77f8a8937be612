//! `Authorization: Bearer <token>`, parsed strictly.

use http::header::AUTHORIZATION;
use lambda_http::Request;

use super::ApiError;
use crate::domain::SessionToken;

/// The session token from the request's single `Authorization: Bearer` header.
///
/// Missing, repeated (API Gateway joins repeats with commas, which no token contains),
/// another scheme, or a token not shaped like ours: all 401 `invalid_token`, before any
/// DynamoDB read.
pub fn bearer_token(request: &Request) -> Result<SessionToken, ApiError> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::InvalidToken);
    };
    let text = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    parse_bearer(text).ok_or(ApiError::InvalidToken)
}

/// The session token in one `Authorization` value: `Bearer <token>`, the scheme in any
/// case (RFC 7235), the token exactly as we issue them; `None` for anything else.
pub fn parse_bearer(value: &str) -> Option<SessionToken> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    SessionToken::parse(token.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn with_headers(values: &[&[u8]]) -> Request {
        let mut request = Request::new(Body::Empty);
        for value in values {
            request
                .headers_mut()
                .append(AUTHORIZATION, http::HeaderValue::from_bytes(value).unwrap());
        }
        request
    }

    #[test]
    fn accepts_one_bearer_token_in_any_scheme_case() {
        let token = crate::testing::unknown_token();
        for header in [
            format!("Bearer {}", token.expose()),
            format!("bearer {}", token.expose()),
            format!("BEARER  {} ", token.expose()),
        ] {
            let parsed = bearer_token(&with_headers(&[header.as_bytes()])).unwrap();
            assert_eq!(parsed.expose(), token.expose(), "{header}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        let token = crate::testing::unknown_token();
        let good = format!("Bearer {}", token.expose());
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![],
            vec![token.expose().as_bytes().to_vec()],
            vec![format!("Basic {}", token.expose()).into_bytes()],
            vec![b"Bearer".to_vec()],
            vec![b"Bearer ".to_vec()],
            vec![format!("Bearer {}", &token.expose()[..42]).into_bytes()],
            vec![format!("Bearer {}x", token.expose()).into_bytes()],
            vec![format!("Bearer {}, Bearer {}", token.expose(), token.expose()).into_bytes()],
            vec![good.clone().into_bytes(), good.clone().into_bytes()],
            vec![
                format!(
                    "Bearer {}",
                    token.expose().replace(|c: char| c.is_ascii_digit(), "+")
                )
                .into_bytes(),
            ],
            vec![b"Bearer \xff\xfe".to_vec()],
        ];
        for values in cases {
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            assert_eq!(
                bearer_token(&with_headers(&refs)).unwrap_err(),
                ApiError::InvalidToken,
                "{values:?}"
            );
        }
    }
}
