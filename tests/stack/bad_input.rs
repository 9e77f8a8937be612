//! The bad-input catalogue (docs/security.md): one table, all four functions, each row the
//! exact status and error code. Every answer is the API's JSON error with a request
//! id; no row reaches WeChat or writes to DynamoDB. The authorizer's rows: each bearer
//! header and whether it lets the request through (only a live token, in any scheme case).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use devkit::stack::{TEST_APPID, TestResponse, TestStack, with_query};
use http::header::AUTHORIZATION;
use lambda_http::{Body, Request};
use serde_json::json;
use wxlogin::edge::authorizer::{AuthorizerEvent, authorize};
use wxlogin::testing::ServeHttp;
use wxlogin::usecases::Authorize;

#[derive(Clone, Copy, Debug)]
enum Route {
    OnLogin,
    DecryptPhone,
    Session,
    Account,
}

/// How the row authenticates (decrypt-phone and session).
enum Auth {
    None,
    /// `Authorization: Bearer <live token>`.
    Valid,
    /// These raw header values, in order.
    Raw(Vec<Vec<u8>>),
}

struct Row {
    name: &'static str,
    route: Route,
    method: &'static str,
    auth: Auth,
    query: &'static [(&'static str, &'static str)],
    body: Body,
    status: u16,
    error: &'static str,
}

fn login(name: &'static str, body: impl Into<Body>, status: u16, error: &'static str) -> Row {
    Row {
        name,
        route: Route::OnLogin,
        method: "POST",
        auth: Auth::None,
        query: &[],
        body: body.into(),
        status,
        error,
    }
}

fn phone(name: &'static str, body: impl Into<Body>, status: u16, error: &'static str) -> Row {
    Row {
        name,
        route: Route::DecryptPhone,
        method: "POST",
        auth: Auth::Valid,
        query: &[],
        body: body.into(),
        status,
        error,
    }
}

fn phone_auth(name: &'static str, headers: Vec<Vec<u8>>) -> Row {
    Row {
        auth: Auth::Raw(headers),
        ..phone(
            name,
            json!({ "code": "abc" }).to_string(),
            401,
            "invalid_token",
        )
    }
}

fn session(name: &'static str, method: &'static str, auth: Auth, status: u16) -> Row {
    let error = match status {
        401 => "invalid_token",
        405 => "method_not_allowed",
        _ => "invalid_request",
    };
    Row {
        name,
        route: Route::Session,
        method,
        auth,
        query: &[],
        body: Body::Empty,
        status,
        error,
    }
}

fn session_rows(expired: &str, unknown: &str) -> Vec<Row> {
    let bearer = |token: &str| Auth::Raw(vec![format!("Bearer {token}").into_bytes()]);
    vec![
        session("session: GET without Authorization", "GET", Auth::None, 401),
        session(
            "session: GET with Basic",
            "GET",
            Auth::Raw(vec![b"Basic dXNlcjpwYXNz".to_vec()]),
            401,
        ),
        session("session: GET, expired session", "GET", bearer(expired), 401),
        session("session: GET, unknown token", "GET", bearer(unknown), 401),
        session(
            "session: GET, token cut short",
            "GET",
            bearer(&unknown[..40]),
            401,
        ),
        Row {
            query: &[("check", "yes")],
            ..session("session: GET ?check=yes", "GET", Auth::Valid, 400)
        },
        Row {
            query: &[("check", "")],
            ..session("session: GET ?check=", "GET", Auth::Valid, 400)
        },
        Row {
            query: &[("check", "wechat"), ("check", "wechat")],
            ..session("session: GET check given twice", "GET", Auth::Valid, 400)
        },
        session(
            "session: DELETE without Authorization",
            "DELETE",
            Auth::None,
            401,
        ),
        session(
            "session: DELETE, malformed token",
            "DELETE",
            bearer("x"),
            401,
        ),
        session(
            "session: DELETE, unknown token",
            "DELETE",
            bearer(unknown),
            401,
        ),
        session("session: POST", "POST", Auth::Valid, 405),
        session("session: PUT", "PUT", Auth::Valid, 405),
    ]
}

fn account(name: &'static str, method: &'static str, auth: Auth, status: u16) -> Row {
    Row {
        route: Route::Account,
        ..session(name, method, auth, status)
    }
}

fn account_rows(dead: &DeadTokens) -> Vec<Row> {
    let bearer = |token: &str| Auth::Raw(vec![format!("Bearer {token}").into_bytes()]);
    let mut rows = Vec::new();
    for method in ["GET", "DELETE"] {
        rows.extend([
            account("account: without Authorization", method, Auth::None, 401),
            account(
                "account: Basic",
                method,
                Auth::Raw(vec![b"Basic dXNlcjpwYXNz".to_vec()]),
                401,
            ),
            account("account: malformed token", method, bearer("x"), 401),
            account(
                "account: token cut short",
                method,
                bearer(&dead.unknown[..40]),
                401,
            ),
            account("account: unknown token", method, bearer(&dead.unknown), 401),
            account(
                "account: expired session",
                method,
                bearer(&dead.expired),
                401,
            ),
            account(
                "account: logged-out session",
                method,
                bearer(&dead.logged_out),
                401,
            ),
            account(
                "account: session ended everywhere",
                method,
                bearer(&dead.revoked),
                401,
            ),
            account(
                "account: the account was cancelled",
                method,
                bearer(&dead.erased),
                401,
            ),
        ]);
    }
    rows.extend([
        account("account: POST", "POST", Auth::Valid, 405),
        account("account: PUT", "PUT", Auth::Valid, 405),
        account("account: PATCH", "PATCH", Auth::Valid, 405),
    ]);
    rows
}

fn catalogue(token: &str, expired: &str, unknown: &str) -> Vec<Row> {
    let bad = "invalid_request";
    let b64 = |bytes: &[u8]| STANDARD.encode(bytes);
    let iv = b64(&[1; 16]);
    let data = b64(&[2; 32]);
    let legacy = |data: &str, iv: &str| json!({ "encryptedData": data, "iv": iv }).to_string();
    let bearer = |token: &str| format!("Bearer {token}").into_bytes();
    vec![
        // POST /onlogin
        login("onlogin: no body", Body::Empty, 400, bad),
        login("onlogin: empty body", "", 400, bad),
        login("onlogin: whitespace body", " \n\t", 400, bad),
        login("onlogin: form-encoded, not JSON", "code=abc", 400, bad),
        login("onlogin: truncated JSON", r#"{"code": "abc""#, 400, bad),
        login("onlogin: JSON array", "[]", 400, bad),
        login("onlogin: JSON null", "null", 400, bad),
        login("onlogin: JSON number", "42", 400, bad),
        login("onlogin: JSON string", r#""abc""#, 400, bad),
        login("onlogin: empty object", "{}", 400, bad),
        login("onlogin: code is a number", r#"{"code": 5}"#, 400, bad),
        login(
            "onlogin: code is a huge number",
            r#"{"code": 1e999}"#,
            400,
            bad,
        ),
        login("onlogin: code is negative", r#"{"code": -1}"#, 400, bad),
        login("onlogin: code is null", r#"{"code": null}"#, 400, bad),
        login(
            "onlogin: code is an array",
            r#"{"code": ["abc"]}"#,
            400,
            bad,
        ),
        login(
            "onlogin: code is an object",
            r#"{"code": {"v": "abc"}}"#,
            400,
            bad,
        ),
        login("onlogin: code is empty", r#"{"code": ""}"#, 400, bad),
        login(
            "onlogin: code of 129 characters",
            json!({ "code": "a".repeat(129) }).to_string(),
            400,
            bad,
        ),
        login(
            "onlogin: code with a space",
            r#"{"code": "abc def"}"#,
            401,
            "invalid_code",
        ),
        login(
            "onlogin: code with a slash",
            r#"{"code": "abc/def"}"#,
            401,
            "invalid_code",
        ),
        login(
            "onlogin: code with NUL",
            r#"{"code": "abc\u0000def"}"#,
            400,
            bad,
        ),
        login(
            "onlogin: code with a newline",
            r#"{"code": "abc\ndef"}"#,
            400,
            bad,
        ),
        login(
            "onlogin: code with full-width look-alikes",
            r#"{"code": "ａｂｃ"}"#,
            401,
            "invalid_code",
        ),
        login(
            "onlogin: code with Cyrillic look-alikes",
            r#"{"code": "соdе"}"#,
            401,
            "invalid_code",
        ),
        login(
            "onlogin: code with a zero-width space",
            "{\"code\": \"abc\u{200b}def\"}",
            401,
            "invalid_code",
        ),
        login(
            "onlogin: key in the wrong case",
            r#"{"Code": "abc"}"#,
            400,
            bad,
        ),
        login(
            "onlogin: code given twice",
            r#"{"code": "abc", "code": "def"}"#,
            400,
            bad,
        ),
        login(
            "onlogin: appid is a number",
            r#"{"code": "abc", "appid": 5}"#,
            400,
            bad,
        ),
        login(
            "onlogin: appid this stack does not serve",
            r#"{"code": "abc", "appid": "wx0000000000other0"}"#,
            400,
            "unknown_app",
        ),
        login(
            "onlogin: appid empty",
            r#"{"code": "abc", "appid": ""}"#,
            400,
            "unknown_app",
        ),
        login(
            "onlogin: body not UTF-8",
            vec![0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d],
            400,
            bad,
        ),
        login(
            "onlogin: base64-decoded body of the wrong shape",
            Body::Binary(b"[1,2]".to_vec()),
            400,
            bad,
        ),
        login(
            "onlogin: body over 16 KiB",
            json!({ "code": "abc", "pad": "x".repeat(16 * 1024) }).to_string(),
            413,
            "payload_too_large",
        ),
        Row {
            method: "GET",
            ..login(
                "onlogin: GET",
                r#"{"code": "abc"}"#,
                405,
                "method_not_allowed",
            )
        },
        Row {
            method: "PUT",
            ..login(
                "onlogin: PUT",
                r#"{"code": "abc"}"#,
                405,
                "method_not_allowed",
            )
        },
        Row {
            method: "DELETE",
            ..login("onlogin: DELETE", Body::Empty, 405, "method_not_allowed")
        },
        // POST /decrypt-phone: the Authorization header
        phone_auth("decrypt-phone: no Authorization", vec![]),
        phone_auth(
            "decrypt-phone: token without a scheme",
            vec![token.as_bytes().to_vec()],
        ),
        phone_auth(
            "decrypt-phone: Basic scheme",
            vec![format!("Basic {token}").into_bytes()],
        ),
        phone_auth(
            "decrypt-phone: Bearer and nothing",
            vec![b"Bearer ".to_vec()],
        ),
        phone_auth(
            "decrypt-phone: token one character short",
            vec![bearer(&token[..42])],
        ),
        phone_auth(
            "decrypt-phone: token one character long",
            vec![bearer(&format!("{token}A"))],
        ),
        phone_auth(
            "decrypt-phone: token in the standard base64 alphabet",
            vec![bearer(&token.replace(|c: char| c.is_ascii_digit(), "+"))],
        ),
        phone_auth(
            "decrypt-phone: two Authorization headers",
            vec![bearer(token), bearer(token)],
        ),
        phone_auth(
            "decrypt-phone: two tokens joined by a comma (API Gateway's merge)",
            vec![format!("Bearer {token}, Bearer {token}").into_bytes()],
        ),
        phone_auth(
            "decrypt-phone: non-ASCII bytes in the header",
            vec![b"Bearer \xff\xfe".to_vec()],
        ),
        phone_auth(
            "decrypt-phone: well-formed but unknown token",
            vec![bearer(unknown)],
        ),
        phone_auth("decrypt-phone: expired session", vec![bearer(expired)]),
        // POST /decrypt-phone: the body, with a valid token
        phone("decrypt-phone: not JSON", "{oops", 400, bad),
        phone("decrypt-phone: neither form", "{}", 400, bad),
        phone(
            "decrypt-phone: both forms",
            json!({ "encryptedData": data, "iv": iv, "code": "abc" }).to_string(),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: encryptedData without iv",
            json!({ "encryptedData": data }).to_string(),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: iv without encryptedData",
            json!({ "iv": iv }).to_string(),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: null fields",
            r#"{"encryptedData": null, "iv": null}"#,
            400,
            bad,
        ),
        phone(
            "decrypt-phone: encryptedData is a number",
            json!({ "encryptedData": 5, "iv": iv }).to_string(),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: iv of 15 bytes",
            legacy(&data, &b64(&[1; 15])),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: iv of 17 bytes",
            legacy(&data, &b64(&[1; 17])),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: iv without padding",
            legacy(&data, iv.trim_end_matches('=')),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: iv in the URL alphabet",
            legacy(&data, &b64(&[0xfb; 16]).replace('+', "-").replace('/', "_")),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: iv with a newline",
            legacy(&data, &format!("{}\n{}", &iv[..10], &iv[10..])),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: encryptedData empty",
            legacy("", &iv),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: encryptedData of 17 bytes",
            legacy(&b64(&[2; 17]), &iv),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: encryptedData with a control character",
            legacy(&format!("{data}\u{7}"), &iv),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: code with a newline",
            r#"{"code": "abc\ndef"}"#,
            400,
            bad,
        ),
        phone(
            "decrypt-phone: code is a number",
            r#"{"code": 5}"#,
            400,
            bad,
        ),
        phone(
            "decrypt-phone: code of 129 characters",
            json!({ "code": "a".repeat(129) }).to_string(),
            400,
            bad,
        ),
        phone(
            "decrypt-phone: code given twice",
            r#"{"code": "abc", "code": "def"}"#,
            400,
            bad,
        ),
        phone(
            "decrypt-phone: body not UTF-8",
            vec![0x7b, 0xff, 0x7d],
            400,
            bad,
        ),
        phone(
            "decrypt-phone: body over 16 KiB",
            legacy(&"A".repeat(20_000), &iv),
            413,
            "payload_too_large",
        ),
        Row {
            method: "GET",
            ..phone("decrypt-phone: GET", Body::Empty, 405, "method_not_allowed")
        },
        Row {
            method: "PATCH",
            ..phone("decrypt-phone: PATCH", "{}", 405, "method_not_allowed")
        },
    ]
}

/// One `Authorization` header as the authorizer sees it, and whether it is let through.
struct AuthorizerRow {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    identity_source: Option<Vec<String>>,
    allowed: bool,
}

fn authorizer_row(name: &'static str, value: Option<String>, allowed: bool) -> AuthorizerRow {
    AuthorizerRow {
        name,
        headers: value
            .iter()
            .map(|value| ("authorization", value.clone()))
            .collect(),
        identity_source: value.map(|value| vec![value]),
        allowed,
    }
}

/// Tokens the authorizer must refuse beside the live one.
struct DeadTokens {
    expired: String,
    unknown: String,
    logged_out: String,
    revoked: String,
    /// A session of a user who cancelled their account.
    erased: String,
}

fn authorizer_rows(token: &str, dead: &DeadTokens) -> Vec<AuthorizerRow> {
    let deny = |name, value: String| authorizer_row(name, Some(value), false);
    let bearer = |token: &str| format!("Bearer {token}");
    vec![
        authorizer_row("authorizer: no Authorization", None, false),
        deny("authorizer: empty header", String::new()),
        deny("authorizer: token without a scheme", token.to_owned()),
        deny("authorizer: Basic scheme", format!("Basic {token}")),
        deny("authorizer: Bearer and nothing", "Bearer ".to_owned()),
        deny(
            "authorizer: two headers joined by API Gateway",
            format!("{}, {}", bearer(token), bearer(token)),
        ),
        deny("authorizer: token of 42 characters", bearer(&token[..42])),
        deny(
            "authorizer: token of 44 characters",
            bearer(&format!("{token}A")),
        ),
        deny(
            "authorizer: token in the standard base64 alphabet",
            bearer(&token.replace(|c: char| c.is_ascii_digit(), "+")),
        ),
        deny(
            "authorizer: non-ASCII in the token",
            bearer(&format!("{}é", &token[..41])),
        ),
        deny(
            "authorizer: full-width Bearer",
            format!("Ｂｅａｒｅｒ {token}"),
        ),
        deny("authorizer: header of 8 KiB", bearer(&"A".repeat(8 * 1024))),
        deny(
            "authorizer: well-formed but unknown token",
            bearer(&dead.unknown),
        ),
        deny("authorizer: expired session", bearer(&dead.expired)),
        deny("authorizer: logged-out session", bearer(&dead.logged_out)),
        deny(
            "authorizer: session revoked by log out everywhere",
            bearer(&dead.revoked),
        ),
        deny(
            "authorizer: session of a cancelled account",
            bearer(&dead.erased),
        ),
        AuthorizerRow {
            identity_source: Some(vec![bearer(token), bearer(token)]),
            headers: vec![],
            ..authorizer_row("authorizer: two identity sources", None, false)
        },
        authorizer_row("authorizer: live token", Some(bearer(token)), true),
        authorizer_row(
            "authorizer: lowercase bearer scheme",
            Some(format!("bearer {token}")),
            true,
        ),
        AuthorizerRow {
            headers: vec![("Authorization", bearer(token))],
            identity_source: None,
            ..authorizer_row("authorizer: header name capitalised", None, true)
        },
        AuthorizerRow {
            headers: vec![],
            ..authorizer_row(
                "authorizer: identity source alone",
                Some(bearer(token)),
                true,
            )
        },
    ]
}

/// A user with two sessions, both ended by "log out everywhere" from one of them: the
/// other's token.
async fn revoked_token(stack: &TestStack) -> String {
    let (revoked, user) = stack.logged_in_user(json!({})).await.unwrap();
    let revoking = &login_as(stack, &user).await;
    let mut request = with_query(Request::new(Body::Empty), &[("all", "true")]);
    *request.method_mut() = http::Method::DELETE;
    request
        .headers_mut()
        .insert(AUTHORIZATION, format!("Bearer {revoking}").parse().unwrap());
    let session = stack.session_service().await.unwrap();
    let response = TestResponse::from_response(session.handle(request).await).unwrap();
    assert_eq!(response.json["sessions"], 2, "{:?}", response.json);
    revoked
}

/// A session of a user who then cancelled their account (from another session).
async fn erased_token(stack: &TestStack) -> String {
    let (erased, user) = stack.logged_in_user(json!({})).await.unwrap();
    let cancelling = login_as(stack, &user).await;
    let mut request = Request::new(Body::Empty);
    *request.method_mut() = http::Method::DELETE;
    request.headers_mut().insert(
        AUTHORIZATION,
        format!("Bearer {cancelling}").parse().unwrap(),
    );
    let accounts = stack.account_service().await.unwrap();
    let response = TestResponse::from_response(accounts.handle(request).await).unwrap();
    assert_eq!(response.json, json!({"deleted": true, "sessions": 2}));
    erased
}

/// A new session of the sandbox `user`: its token.
async fn login_as(stack: &TestStack, user: &serde_json::Value) -> String {
    let code = stack
        .sandbox_login(json!({ "openid": user["openid"] }))
        .await
        .unwrap();
    let login = stack.login_service().await.unwrap();
    let request = devkit::stack::post(json!({ "code": code["code"] }).to_string());
    let answer = TestResponse::from_response(login.handle(request).await).unwrap();
    answer.json["token"].as_str().unwrap().to_owned()
}

/// A session ended by a plain logout: its token.
async fn logged_out_token(stack: &TestStack) -> String {
    let (token, _) = stack.logged_in_user(json!({})).await.unwrap();
    let mut request = Request::new(Body::Empty);
    *request.method_mut() = http::Method::DELETE;
    request
        .headers_mut()
        .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let session = stack.session_service().await.unwrap();
    let response = TestResponse::from_response(session.handle(request).await).unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json);
    token
}

#[tokio::test]
async fn every_bad_request_gets_its_exact_status_and_code_and_touches_nothing() {
    let stack = TestStack::start().await.unwrap();
    let onlogin = stack.login_service().await.unwrap();
    let decrypt_phone = stack.phone_service().await.unwrap();
    let session_route = stack.session_service().await.unwrap();
    let (token, user) = stack.logged_in_user(json!({})).await.unwrap();
    let expired = stack.expired_session(&user).await.unwrap();
    let unknown = wxlogin::testing::unknown_token();
    let dead = DeadTokens {
        expired: expired.expose().to_owned(),
        unknown: unknown.expose().to_owned(),
        logged_out: logged_out_token(&stack).await,
        revoked: revoked_token(&stack).await,
        erased: erased_token(&stack).await,
    };
    let account_route = stack.account_service().await.unwrap();
    let items_before = stack.items().await.unwrap().len();
    let calls_before = stack.wechat_calls("jscode2session").await.unwrap();

    let mut rows = catalogue(&token, expired.expose(), unknown.expose());
    rows.extend(session_rows(expired.expose(), unknown.expose()));
    rows.extend(account_rows(&dead));
    assert!(rows.len() >= 60, "the catalogue has {} rows", rows.len());
    // Codes we cannot tell from real ones go to WeChat, which refuses them (40029).
    let sent_to_wechat = rows
        .iter()
        .filter(|row| matches!(row.route, Route::OnLogin) && row.error == "invalid_code")
        .count() as u64;
    for row in rows {
        let mut request = with_query(Request::new(row.body), row.query);
        *request.method_mut() = row.method.parse().unwrap();
        let values = match row.auth {
            Auth::None => vec![],
            Auth::Valid => vec![format!("Bearer {token}").into_bytes()],
            Auth::Raw(values) => values,
        };
        for value in values {
            request.headers_mut().append(
                AUTHORIZATION,
                http::HeaderValue::from_bytes(&value).unwrap(),
            );
        }
        let response = match row.route {
            Route::OnLogin => onlogin.handle(request).await,
            Route::DecryptPhone => decrypt_phone.handle(request).await,
            Route::Session => session_route.handle(request).await,
            Route::Account => account_route.handle(request).await,
        };
        let response = TestResponse::from_response(response)
            .unwrap_or_else(|err| panic!("{}: {err}", row.name));
        assert_eq!(
            (response.status, response.error_code()),
            (row.status, row.error),
            "{}: {:?}",
            row.name,
            response.json
        );
        assert!(
            response.json["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            row.name
        );
        assert!(
            response.headers.contains_key("x-request-id"),
            "{}",
            row.name
        );
    }

    let authorizer = Authorize::new(stack.store(), vec![TEST_APPID.to_owned()]);
    let rows = authorizer_rows(&token, &dead);
    assert!(rows.len() >= 20, "the authorizer has {} rows", rows.len());
    for row in rows {
        let event = AuthorizerEvent {
            headers: row
                .headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
            identity_source: row.identity_source,
            route_key: Some("GET /me".to_owned()),
        };
        let answer = authorize(&authorizer, &event)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", row.name));
        assert_eq!(answer.is_authorized, row.allowed, "{}", row.name);
        if row.allowed {
            let context = answer.context.expect("an allow names the caller");
            assert_eq!(
                context.openid,
                user["openid"].as_str().unwrap(),
                "{}",
                row.name
            );
        } else {
            assert!(
                answer.context.is_none(),
                "{}: a deny names nobody",
                row.name
            );
        }
    }

    assert_eq!(
        stack.wechat_calls("jscode2session").await.unwrap(),
        calls_before + sent_to_wechat
    );
    assert_eq!(stack.wechat_calls("getuserphonenumber").await.unwrap(), 0);
    assert_eq!(stack.wechat_calls("checksession").await.unwrap(), 0);
    assert_eq!(
        stack.items().await.unwrap().len(),
        items_before,
        "nothing written"
    );
}

/// The push URL's catalogue: each forged, stale, malformed or foreign push gets its exact
/// status and code from the receiver on DynamoDB Local, and changes nothing.
#[tokio::test]
async fn every_bad_push_gets_its_exact_status_and_code_and_touches_nothing() {
    use wxlogin::domain::clock::now_epoch_seconds;
    use wxlogin::domain::push::{PushFormat, PushKeys};
    use wxlogin::testing::pushes::{PushMode, SignedPush, signed_push, url_check, user_event};
    use wxlogin::testing::{TEST_PUSH_AES_KEY, push_keys, push_request};

    let stack = TestStack::start().await.unwrap();
    let receiver = stack.push_service().await.unwrap();
    let (_, user) = stack.logged_in_user(json!({})).await.unwrap();
    let openid = user["openid"].as_str().unwrap();
    let now = now_epoch_seconds();
    let cancel = user_event(TEST_APPID, openid, "user_authorization_cancellation", None);
    let good = signed_push(
        &push_keys(),
        TEST_APPID,
        &cancel,
        PushMode::Safe,
        PushFormat::Json,
        now,
    );
    let forged_keys = PushKeys::new("forgedToken", TEST_PUSH_AES_KEY).unwrap();
    let altered = |name: &str, value: &str| SignedPush {
        query: good
            .query
            .iter()
            .map(|(key, old)| {
                (
                    key.clone(),
                    if key == name {
                        value.to_owned()
                    } else {
                        old.clone()
                    },
                )
            })
            .collect(),
        body: good.body.clone(),
    };
    let body = |text: &str| SignedPush {
        query: good.query.clone(),
        body: text.to_owned(),
    };
    let other_app = user_event(
        "wx00000000another1",
        openid,
        "user_authorization_cancellation",
        None,
    );
    let rows: Vec<(&str, &str, &str, SignedPush, u16, &str)> = vec![
        (
            "push: forged Token",
            "POST",
            TEST_APPID,
            signed_push(
                &forged_keys,
                TEST_APPID,
                &cancel,
                PushMode::Safe,
                PushFormat::Xml,
                now,
            ),
            401,
            "invalid_signature",
        ),
        (
            "push: plaintext to a safe-mode app (a downgrade)",
            "POST",
            TEST_APPID,
            signed_push(
                &push_keys(),
                TEST_APPID,
                &cancel,
                PushMode::Plaintext,
                PushFormat::Xml,
                now,
            ),
            400,
            "invalid_request",
        ),
        (
            "push: msg_signature altered",
            "POST",
            TEST_APPID,
            altered("msg_signature", "5d197aaffba7e9b25a30732f161a50dee96bd5fa"),
            401,
            "invalid_signature",
        ),
        (
            "push: nonce altered",
            "POST",
            TEST_APPID,
            altered("nonce", "1"),
            401,
            "invalid_signature",
        ),
        (
            "push: ten minutes old",
            "POST",
            TEST_APPID,
            signed_push(
                &push_keys(),
                TEST_APPID,
                &cancel,
                PushMode::Safe,
                PushFormat::Json,
                now - 600,
            ),
            401,
            "stale_timestamp",
        ),
        (
            "push: from the future",
            "POST",
            TEST_APPID,
            signed_push(
                &push_keys(),
                TEST_APPID,
                &cancel,
                PushMode::Safe,
                PushFormat::Json,
                now + 600,
            ),
            401,
            "stale_timestamp",
        ),
        (
            "push: timestamp not a number",
            "POST",
            TEST_APPID,
            altered("timestamp", "now"),
            401,
            "stale_timestamp",
        ),
        (
            "push: AppID of another app",
            "POST",
            TEST_APPID,
            signed_push(
                &push_keys(),
                TEST_APPID,
                &other_app,
                PushMode::Safe,
                PushFormat::Xml,
                now,
            ),
            400,
            "invalid_request",
        ),
        (
            "push: a DTD",
            "POST",
            TEST_APPID,
            body(
                "<!DOCTYPE xml [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&e;</Encrypt></xml>",
            ),
            400,
            "invalid_request",
        ),
        (
            "push: a field twice",
            "POST",
            TEST_APPID,
            body(r#"{"Encrypt":"a","Encrypt":"b"}"#),
            400,
            "invalid_request",
        ),
        (
            "push: not XML nor JSON",
            "POST",
            TEST_APPID,
            body("Encrypt=abc"),
            400,
            "invalid_request",
        ),
        (
            "push: no body",
            "POST",
            TEST_APPID,
            body(""),
            400,
            "invalid_request",
        ),
        (
            "push: over 16 KiB",
            "POST",
            TEST_APPID,
            body(&format!("{{\"Encrypt\":\"{}\"}}", "A".repeat(17 * 1024))),
            413,
            "payload_too_large",
        ),
        (
            "push: an app the stack does not serve",
            "POST",
            "wx00000000another1",
            good.clone(),
            400,
            "unknown_app",
        ),
        (
            "push: not an appid in the path",
            "POST",
            "..",
            good.clone(),
            400,
            "invalid_request",
        ),
        (
            "push: PUT",
            "PUT",
            TEST_APPID,
            good.clone(),
            405,
            "method_not_allowed",
        ),
        (
            "URL check: forged Token",
            "GET",
            TEST_APPID,
            SignedPush {
                query: url_check(&forged_keys, "e", now),
                body: String::new(),
            },
            401,
            "invalid_signature",
        ),
        (
            "URL check: old",
            "GET",
            TEST_APPID,
            SignedPush {
                query: url_check(&push_keys(), "e", now - 600),
                body: String::new(),
            },
            401,
            "stale_timestamp",
        ),
    ];
    let items_before = stack.items().await.unwrap().len();
    for (name, method, appid, push, status, error) in rows {
        let request = push_request(method.parse().unwrap(), appid, &push.query, push.body);
        let response = TestResponse::from_response(receiver.handle(request).await)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            (response.status, response.error_code()),
            (status, error),
            "{name}: {:?}",
            response.json
        );
        assert!(response.headers.contains_key("x-request-id"), "{name}");
    }
    assert_eq!(
        stack.items().await.unwrap().len(),
        items_before,
        "nothing written or erased"
    );
}
