//! The `signing-keys` function: Secrets Manager's rotation of the signing-key secret
//! invokes it once per step (`createSecret`, `setSecret`, `testSecret`, `finishSecret`).
//! A step that fails fails the invocation, so Secrets Manager marks the rotation failed
//! (and the current ring keeps signing); it refuses a secret other than its own.

use lambda_http::lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Deserialize;

use super::Ending;
use super::runner::Function;
use crate::ports::KeyRingVersions;
use crate::telemetry::current::set_kind;
use crate::telemetry::metrics;
use crate::usecases::{KeyRotation, RotationError, RotationStep, StepDone};

/// The `signing-keys` function.
pub const SIGNING_KEYS: Function = Function {
    name: "signing-keys",
    path: None,
    outcome_metric: metrics::KEY_ROTATION_STEPS,
    kind_dimension: Some("Step"),
};

/// Secrets Manager's rotation event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    /// The secret's ARN (or name).
    pub secret_id: String,
    /// The rotation's version id.
    pub client_request_token: String,
    /// The step.
    pub step: String,
}

fn refused(
    error_type: &str,
    message: String,
    outcome: &'static str,
) -> (Result<StepDone, Diagnostic>, Ending) {
    tracing::error!(error = %message, "rotation step refused");
    (
        Err(Diagnostic {
            error_type: error_type.to_owned(),
            error_message: message,
        }),
        Ending {
            outcome,
            error_code: Some(outcome),
            failed_upstream: None,
            http: None,
        },
    )
}

/// Runs one step for `secret`, the one secret this function rotates.
pub async fn handle<V: KeyRingVersions>(
    rotation: &KeyRotation<V>,
    secret: &str,
    event: LambdaEvent<RotationEvent>,
) -> (Result<StepDone, Diagnostic>, Ending) {
    let event = event.payload;
    let Some(step) = RotationStep::parse(&event.step) else {
        return refused(
            "UnknownStep",
            format!("unknown rotation step {:?}", event.step),
            "unknown_step",
        );
    };
    set_kind(step.name());
    if !same_secret(&event.secret_id, secret) {
        return refused(
            "OtherSecret",
            "this function rotates only the secret SIGNING_KEYS_SECRET_ID names".to_owned(),
            "other_secret",
        );
    }
    match rotation.step(step, &event.client_request_token).await {
        Ok(done) => {
            tracing::info!(step = done.step, keys = ?done.keys, "rotation step done");
            let ending = Ending {
                outcome: "ok",
                error_code: None,
                failed_upstream: None,
                http: None,
            };
            (Ok(done), ending)
        }
        Err(err) => {
            let outcome = match err {
                RotationError::Store(_) => "store_unavailable",
                RotationError::CurrentRing(_) | RotationError::PendingRing(_) => "unusable_ring",
                RotationError::Key(_) => "key_error",
            };
            refused("RotationStepFailed", err.to_string(), outcome)
        }
    }
}

/// The event names the secret by ARN; the configuration may hold its ARN or its name.
/// A secret's ARN ends in `secret:<name>-<6 random characters>`.
fn same_secret(event_id: &str, configured: &str) -> bool {
    if event_id == configured {
        return true;
    }
    let name_of = |id: &str| -> Option<String> {
        let (_, name) = id.split_once(":secret:")?;
        let (name, suffix) = name.rsplit_once('-')?;
        (suffix.len() == 6).then(|| name.to_owned())
    };
    name_of(event_id).is_some_and(|name| name == configured)
        || name_of(configured).is_some_and(|name| name == event_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_recognised_by_arn_or_name() {
        let arn =
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:wxlogin-signing-keys-AbC123";
        assert!(same_secret(arn, arn));
        assert!(same_secret(arn, "wxlogin-signing-keys"));
        assert!(same_secret("wxlogin-signing-keys", arn));
        assert!(same_secret("wxlogin-signing-keys", "wxlogin-signing-keys"));
        assert!(!same_secret(arn, "wxlogin-other"));
        assert!(!same_secret(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbC123",
            arn
        ));
    }
}
