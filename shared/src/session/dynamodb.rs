//! The DynamoDB client, with a timeout and retry budget so a request never hangs until
//! the Lambda's own timeout.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};

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
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

/// Builds the DynamoDB client from the environment (region, credentials and
/// `AWS_ENDPOINT_URL_DYNAMODB`, which points at DynamoDB Local in dev and tests).
pub async fn connect() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&tuned_config_loader().load().await)
}
