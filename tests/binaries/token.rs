//! Standard tokens from the real binaries: `signing-keys` rotating a real Secrets
//! Manager protocol (moto's server) as Secrets Manager's rotation invokes it, and `token`
//! reading the ring from there: no key before the first rotation (503), a token whose
//! signature the JWKS verifies, a new key published before it signs and the old one
//! kept, nothing secret in any output.

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devkit::apigw::http_event;
use devkit::binary_check::{FunctionUnderTest, assert_no_secret};
use devkit::secrets_manager::SecretsManagerServer;
use devkit::signing_keys::{EMPTY_RING, local_client, rotation_version};
use devkit::stack::{TestStack, unique_suffix};
use serde_json::{Value, json};
use wxlogin::usecases::RotationStep;

const ISSUER: &str = "https://login.example.com";

/// The four steps of one rotation, as Secrets Manager invokes them.
async fn rotate(rotator: &FunctionUnderTest, secret: &str) -> Vec<String> {
    let version = rotation_version();
    let mut keys = vec![];
    for step in RotationStep::ALL.map(RotationStep::name) {
        let event = json!({"SecretId": secret, "ClientRequestToken": version, "Step": step});
        let answer = rotator
            .runtime
            .invoke(event, Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap_or_else(|err| panic!("{step} failed: {err}"));
        assert_eq!(answer["step"], step);
        keys = serde_json::from_value(answer["keys"].clone()).unwrap();
    }
    keys
}

fn decoded(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The header and claims of `jwt` when a key of `jwks` verifies its signature.
fn verified(jwt: &str, jwks: &Value) -> Option<(Value, Value)> {
    let (input, signature) = jwt.rsplit_once('.')?;
    let (header, claims) = input.split_once('.')?;
    let (header, claims) = (decoded(header), decoded(claims));
    let key = jwks["keys"]
        .as_array()?
        .iter()
        .find(|key| key["kid"] == header["kid"])?;
    let public = RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(key["n"].as_str()?).ok()?,
        e: URL_SAFE_NO_PAD.decode(key["e"].as_str()?).ok()?,
    };
    public
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).ok()?,
        )
        .ok()?;
    Some((header, claims))
}

async fn jwks(tokens: &FunctionUnderTest) -> Value {
    let answer = tokens
        .invoke(http_event("GET", "/.well-known/jwks.json", None, &[]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.raw_body);
    assert_eq!(answer.headers["cache-control"], "public, max-age=300");
    answer.body
}

async fn issue(tokens: &FunctionUnderTest, session: &str) -> (u16, Value) {
    let bearer = format!("Bearer {session}");
    let answer = tokens
        .invoke(http_event(
            "POST",
            "/token",
            None,
            &[("authorization", &bearer)],
        ))
        .await;
    (answer.status, answer.body)
}

fn kid_of(jwt: &str) -> String {
    decoded(jwt.split('.').next().unwrap())["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_verify_through_the_jwks_across_a_rotation() {
    let stack = TestStack::start().await.unwrap();
    let secrets = SecretsManagerServer::start().await.unwrap();
    let secret = format!("wxlogin/signing-keys-{}", unique_suffix());
    secrets.create(&secret, EMPTY_RING).await.unwrap();
    let keys_env = [
        ("SIGNING_KEYS_SECRET_ID", secret.as_str()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
    ];
    // Long enough that the steps and the checks below fit before the new key signs.
    let rotator_env = [keys_env.as_slice(), &[("SIGNING_KEY_LEAD_SECONDS", "10")]].concat();
    let rotator = FunctionUnderTest::spawn_verbose(
        &stack,
        crate::function_binary("signing-keys"),
        &rotator_env,
    )
    .await
    .unwrap();
    let token_env = [
        keys_env.as_slice(),
        &[
            ("TOKEN_ISSUER", ISSUER),
            ("SIGNING_KEYS_MAX_AGE_SECONDS", "1"),
        ],
    ]
    .concat();
    let tokens =
        FunctionUnderTest::spawn_verbose(&stack, crate::function_binary("token"), &token_env)
            .await
            .unwrap();
    let (session, user) = stack.logged_in_user(json!({})).await.unwrap();

    // Before the first rotation: nothing signs, and the client is told to retry.
    let bearer = format!("Bearer {session}");
    let refused = tokens
        .invoke(http_event(
            "POST",
            "/token",
            None,
            &[("authorization", &bearer)],
        ))
        .await;
    assert_eq!(
        (refused.status, refused.error()),
        (503, Some("signing_unavailable"))
    );
    assert_eq!(refused.headers["retry-after"], "30");
    assert_eq!(jwks(&tokens).await, json!({"keys": []}));

    let first = rotate(&rotator, &secret).await;
    assert_eq!(
        first.len(),
        1,
        "the first rotation makes one key, signing at once"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = issue(&tokens, &session).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let old_token = body["access_token"].as_str().unwrap().to_owned();
    let (header, claims) = verified(&old_token, &jwks(&tokens).await).expect("verifies");
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("RS256"), Some(first[0].as_str()))
    );
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], user["openid"]);
    assert_eq!(claims["aud"], user["appid"]);
    assert_eq!(claims["appid"], user["appid"]);

    let discovery = tokens
        .invoke(http_event(
            "GET",
            "/.well-known/openid-configuration",
            None,
            &[],
        ))
        .await;
    assert_eq!(discovery.status, 200);
    assert_eq!(discovery.headers["cache-control"], "public, max-age=3600");
    assert_eq!(discovery.body["issuer"], ISSUER);
    assert_eq!(
        discovery.body["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );

    // A rotation publishes the next key at once; it signs only after the lead (10 s).
    let second = rotate(&rotator, &secret).await;
    assert_eq!(second.len(), 2);
    assert_eq!(second[0], first[0]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let published = jwks(&tokens).await;
    let kids: Vec<&str> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [first[0].as_str(), second[1].as_str()]);
    let (_, body) = issue(&tokens, &session).await;
    let still_old = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        kid_of(&still_old),
        first[0],
        "the new key does not sign yet"
    );

    let waiting_since = std::time::Instant::now();
    let new_token = loop {
        let (_, body) = issue(&tokens, &session).await;
        let token = body["access_token"].as_str().unwrap().to_owned();
        if kid_of(&token) == second[1] {
            break token;
        }
        assert!(
            waiting_since.elapsed() < Duration::from_secs(20),
            "the new key never signed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // The JWKS read before the new key signed verifies its tokens; the old key's token
    // still verifies with today's.
    assert!(verified(&new_token, &published).is_some());
    assert!(verified(&old_token, &jwks(&tokens).await).is_some());

    // Tampered: another subject under the same signature.
    let mut parts: Vec<String> = new_token.split('.').map(str::to_owned).collect();
    let mut forged = decoded(&parts[1]);
    forged["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert!(verified(&parts.join("."), &published).is_none());

    // Bad requests: the right error, never a 500.
    tokens
        .assert_error(
            http_event("GET", "/token", None, &[]),
            405,
            "method_not_allowed",
        )
        .await;
    tokens
        .assert_error(
            http_event("POST", "/token", None, &[]),
            401,
            "invalid_token",
        )
        .await;
    tokens
        .assert_error(
            http_event("POST", "/.well-known/jwks.json", None, &[]),
            405,
            "method_not_allowed",
        )
        .await;
    let refused = rotator
        .runtime
        .invoke(
            json!({"SecretId": "another-secret", "ClientRequestToken": "x".repeat(32), "Step": "createSecret"}),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(
        refused.is_err(),
        "another secret is not rotated: {refused:?}"
    );

    // The private keys, the session and the JWTs appear in no output.
    let stored = local_client(secrets.endpoint())
        .get_secret_value()
        .secret_id(&secret)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();
    let ring: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    let private_keys: Vec<String> = ring["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["private_key"].as_str().unwrap()[40..100].to_owned())
        .collect();
    for function in [&tokens, &rotator] {
        let output = function.settled_output().await;
        assert_no_secret(
            &output,
            &[
                ("session token", &session),
                ("standard token", &old_token),
                ("standard token", &new_token),
                ("private key", &private_keys[0]),
                ("private key", &private_keys[1]),
            ],
        );
    }
}
