//! API Gateway HTTP API Lambda authorizer events (payload format 2.0, `REQUEST` type),
//! shaped like what API Gateway sends an authorizer whose identity source is
//! `$request.header.Authorization`, for the runtime tests, the catalogue and the bench.

use serde_json::{Value, json};

use crate::apigw;

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

/// An authorizer event with these `headers` (names as given, not lower-cased) and
/// `identity_source` (omitted when `None`): [`apigw::authorizer_event`]'s shape with the
/// header names and identity sources exactly as a test needs them.
pub fn authorizer_event_with(
    headers: &[(&str, &str)],
    identity_source: Option<Vec<&str>>,
) -> Value {
    let (method, path) = ROUTE;
    let mut event = apigw::authorizer_event(method, path, "", &[]);
    if let Some(header_map) = event["headers"].as_object_mut() {
        header_map.remove("content-type");
        for (name, value) in headers {
            header_map.insert((*name).to_owned(), json!(value));
        }
    }
    if let Some(fields) = event.as_object_mut() {
        fields.remove("identitySource");
        if let Some(sources) = identity_source {
            fields.insert("identitySource".to_owned(), json!(sources));
        }
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
