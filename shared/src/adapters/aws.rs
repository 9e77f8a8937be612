//! The AWS SDK setup every AWS adapter shares (DynamoDB, and Secrets Manager for the
//! AppSecret): a timeout and retry budget so a request never hangs until the Lambda's own
//! timeout, and the cold-start shortcuts measured in docs/benchmarks.md.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_sdk_dynamodb::config::{SharedCredentialsProvider, StalledStreamProtectionConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

/// One attempt; DynamoDB answers in single-digit milliseconds when healthy.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// All attempts of one operation together.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// First try plus two retries (the SDK's standard mode: jittered backoff, throttling aware).
const MAX_ATTEMPTS: u32 = 3;

/// The SDK config loader with wxlogin's timeouts and retries; callers may add more
/// (the local tools set an endpoint and dummy credentials).
pub fn tuned_config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The SDK configuration for one AWS service, with wxlogin's timeouts and retries; the
/// service's standard endpoint override (`endpoint_variable`, else `AWS_ENDPOINT_URL`)
/// is honoured on both paths.
pub async fn sdk_config(endpoint_variable: &str) -> SdkConfig {
    match lambda_config(endpoint_variable) {
        Some(config) => config,
        None => tuned_config_loader().load().await,
    }
}

/// The roots AWS endpoints chain to: Amazon Root CA 1-4 and the Starfield Services root
/// that cross-signs them, as PEM (public certificates, taken from webpki-root-certs; a
/// test keeps the two in step).
const AWS_ROOTS_PEM: &str = include_str!("../../certs/aws-roots.pem");

/// The SDK's hyper/rustls client, trusting roots compiled in instead of the system store:
/// the SDK's default scans the store when the client is built, about 2 ms of every cold
/// start. AWS's own endpoints get only the Amazon roots, the narrowest trust and the
/// cheapest to load; a custom endpoint, or the China partition (whose endpoints have not
/// always chained to Amazon's roots), gets all of Mozilla's roots (webpki-root-certs).
fn https_client(all_roots: bool) -> SharedHttpClient {
    let trust_store = TrustStore::empty().with_native_roots(false);
    let trust_store = if all_roots {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .fold(trust_store, |store, cert| {
                store.with_pem_certificate(pem(cert))
            })
    } else {
        trust_store.with_pem_certificate(AWS_ROOTS_PEM)
    };
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust_store)
                .build()
                .unwrap_or_default(),
        )
        .build_https()
}

/// PEM text of a DER certificate, the only form the SDK's trust store takes.
fn pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out.into_bytes()
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The fast path for Lambda, which always sets the region and credential variables: the
/// client is configured from them directly instead of through aws-config's provider
/// chains and profile files, which cost about 2.5 ms of every cold start. Anywhere else
/// (profiles, SSO, instance roles) `None` sends [`sdk_config`] down the full chain.
fn lambda_config(endpoint_variable: &str) -> Option<SdkConfig> {
    let region = non_empty_env("AWS_REGION")?;
    non_empty_env("AWS_ACCESS_KEY_ID")?;
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .timeout_config(timeouts())
        .retry_config(retries())
        // The attempt timeout (1.5 s) already ends a stalled call; the SDK's own
        // stalled-stream watch on every body cost about 2% of a login's instructions.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    let endpoint = non_empty_env(endpoint_variable).or_else(|| non_empty_env("AWS_ENDPOINT_URL"));
    // DynamoDB Local is plain http: its URL needs no roots beyond the cheap default.
    let custom_tls_endpoint = endpoint
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    let china = region.starts_with("cn-");
    builder = builder.http_client(https_client(custom_tls_endpoint || china));
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Some(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subjects of the AWS roots in webpki-root-certs.
    const AWS_ROOT_SUBJECTS: &[&[u8]] = &[
        b"Amazon Root CA",
        b"Starfield Services Root Certificate Authority",
    ];

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    #[test]
    fn the_embedded_aws_roots_are_webpkis_amazon_and_starfield_roots() {
        let expected: String = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|cert| {
                AWS_ROOT_SUBJECTS
                    .iter()
                    .any(|subject| contains(cert, subject))
            })
            .map(|cert| String::from_utf8(pem(cert)).unwrap())
            .collect();
        assert_eq!(expected.matches("BEGIN CERTIFICATE").count(), 5);
        assert_eq!(
            AWS_ROOTS_PEM, expected,
            "regenerate shared/certs/aws-roots.pem from webpki-root-certs"
        );
    }

    #[test]
    fn pem_wraps_base64_in_the_certificate_armour() {
        let pem = String::from_utf8(pem(&[0u8; 100])).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
    }
}
