//! Rotating the signing keys, one step of Secrets Manager's rotation protocol at a time
//! (it invokes the `signing-keys` function with `createSecret`, `setSecret`,
//! `testSecret`, then `finishSecret`, each under the rotation's version id):
//!
//! - create: the current ring plus a new key (signing at once when none signs yet, else
//!   after the lead), minus keys retired long enough, written as the pending version;
//! - set: nothing (no other system holds the keys);
//! - test: the pending ring parses and every key of it signs;
//! - finish: the pending version becomes current.
//!
//! Each step may run twice (Secrets Manager retries): each is idempotent.

use secrecy::SecretString;

use crate::domain::clock::now_epoch_seconds;
use crate::domain::{KeyRing, KeyRingError, RotationPolicy, SigningKey, StoreError};
use crate::ports::KeyRingVersions;

/// One step of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    /// `createSecret`.
    Create,
    /// `setSecret`.
    Set,
    /// `testSecret`.
    Test,
    /// `finishSecret`.
    Finish,
}

impl RotationStep {
    /// The steps of one rotation, in the order Secrets Manager runs them.
    pub const ALL: [Self; 4] = [Self::Create, Self::Set, Self::Test, Self::Finish];

    /// The step Secrets Manager names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "createSecret" => Some(Self::Create),
            "setSecret" => Some(Self::Set),
            "testSecret" => Some(Self::Test),
            "finishSecret" => Some(Self::Finish),
            _ => None,
        }
    }

    /// Its protocol name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        }
    }
}

/// Why a step failed; Secrets Manager then marks the rotation failed and retries later,
/// and the current ring keeps signing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// The current ring is unreadable: it is never replaced by a ring without its keys.
    #[error("the current ring is unusable: {0}")]
    CurrentRing(KeyRingError),
    /// The pending version is missing or unusable.
    #[error("the pending ring is unusable: {0}")]
    PendingRing(String),
    /// A new key could not be made.
    #[error(transparent)]
    Key(#[from] KeyRingError),
    /// Secrets Manager failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one step did, for the log line and the invoker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepDone {
    /// The step.
    pub step: &'static str,
    /// The kids of the ring the step left pending or current.
    pub keys: Vec<String>,
}

/// Rotations of the ring in `versions`.
pub struct KeyRotation<V> {
    versions: V,
    policy: RotationPolicy,
}

impl<V: KeyRingVersions> KeyRotation<V> {
    /// Rotations under `policy`.
    pub fn new(versions: V, policy: RotationPolicy) -> Self {
        Self { versions, policy }
    }

    /// Runs `step` of the rotation whose version id is `version`.
    pub async fn step(&self, step: RotationStep, version: &str) -> Result<StepDone, RotationError> {
        let ring = match step {
            RotationStep::Create => self.create(version).await?,
            RotationStep::Set => self.pending_ring(version).await?,
            RotationStep::Test => {
                let pending = self.pending_ring(version).await?;
                self.checked(pending, self.current_ring().await?.as_ref())?
            }
            RotationStep::Finish => self.finish(version).await?,
        };
        if step == RotationStep::Test {
            for key in ring.keys() {
                key.sign_jwt(&serde_json::json!({"test": true}))?;
            }
        }
        Ok(StepDone {
            step: step.name(),
            keys: ring.keys().iter().map(|key| key.kid().to_owned()).collect(),
        })
    }

    async fn current_ring(&self) -> Result<Option<(String, KeyRing)>, RotationError> {
        match self.versions.current().await? {
            None => Ok(None),
            Some((id, text)) => Ok(Some((
                id,
                KeyRing::parse(&text).map_err(RotationError::CurrentRing)?,
            ))),
        }
    }

    async fn pending_ring(&self, version: &str) -> Result<KeyRing, RotationError> {
        let text = self.versions.pending(version).await?.ok_or_else(|| {
            RotationError::PendingRing(format!("version {version} is not pending"))
        })?;
        KeyRing::parse(&text).map_err(|err| RotationError::PendingRing(err.to_string()))
    }

    /// `pending` when it may become current now: built from today's current version (else
    /// finishing would undo whatever replaced its base, a hand edit say), and its new key
    /// still far enough ahead of signing for verifiers to fetch it (a rotation retried
    /// hours later would make it sign at once). `current` is the current version's id and
    /// ring, as the caller read them.
    fn checked(
        &self,
        pending: KeyRing,
        current: Option<&(String, KeyRing)>,
    ) -> Result<KeyRing, RotationError> {
        let refuse = |why: &str| Err(RotationError::PendingRing(why.to_owned()));
        if let (Some(base), Some((id, _))) = (pending.based_on(), current)
            && base != id
        {
            return refuse(
                "it was built from a version that is no longer current: start a new rotation",
            );
        }
        let now = now_epoch_seconds();
        let half_lead = i64::try_from(self.policy.lead.as_secs() / 2).unwrap_or(i64::MAX);
        let in_force = current.is_some_and(|(_, ring)| ring.signer_at(now).is_some());
        let newest = pending.keys().last().map(SigningKey::signs_from);
        if in_force && newest.is_some_and(|signs_from| signs_from < now.saturating_add(half_lead)) {
            return refuse(
                "its new key would sign before verifiers could fetch it: start a new rotation",
            );
        }
        Ok(pending)
    }

    async fn create(&self, version: &str) -> Result<KeyRing, RotationError> {
        if let Some(text) = self.versions.pending(version).await? {
            // A retried step: the ring is written already.
            return KeyRing::parse(&text)
                .map_err(|err| RotationError::PendingRing(err.to_string()));
        }
        let (base, current) = match self.current_ring().await? {
            Some((id, ring)) => (Some(id), ring),
            None => (None, KeyRing::default()),
        };
        let mut next = current.rotated(now_epoch_seconds(), self.policy)?;
        if let Some(base) = base {
            next = next.with_base(base);
        }
        self.versions
            .put_pending(version, &next.to_secret_string())
            .await?;
        Ok(next)
    }

    async fn finish(&self, version: &str) -> Result<KeyRing, RotationError> {
        let current = self.current_ring().await?;
        let Some((previous, now_current)) = &current else {
            return Err(RotationError::PendingRing(
                "the secret has no current version to replace".into(),
            ));
        };
        if previous == version {
            // A retried step: already current.
            return Ok(now_current.clone());
        }
        let ring = self.checked(self.pending_ring(version).await?, current.as_ref())?;
        self.versions.make_current(version, previous).await?;
        Ok(ring)
    }
}

/// The ring a secret starts with, before its first rotation: no keys.
pub fn empty_ring() -> SecretString {
    KeyRing::default().to_secret_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::MemoryKeyRingVersions;

    fn policy() -> RotationPolicy {
        RotationPolicy {
            lead: Duration::from_secs(3600),
            retired_kept: Duration::from_secs(86_400),
        }
    }

    async fn rotate(rotation: &KeyRotation<MemoryKeyRingVersions>, version: &str) -> Vec<String> {
        let mut keys = vec![];
        for step in [
            RotationStep::Create,
            RotationStep::Set,
            RotationStep::Test,
            RotationStep::Finish,
        ] {
            keys = rotation.step(step, version).await.unwrap().keys;
        }
        keys
    }

    #[tokio::test]
    async fn the_first_rotation_makes_a_key_that_signs_at_once() {
        let versions = MemoryKeyRingVersions::new(empty_ring());
        let rotation = KeyRotation::new(versions.clone(), policy());
        let keys = rotate(&rotation, "v1").await;
        assert_eq!(keys.len(), 1);
        let ring = versions.current_ring();
        assert_eq!(ring.signer_at(now_epoch_seconds()).unwrap().kid(), keys[0]);
    }

    #[tokio::test]
    async fn a_second_rotation_publishes_a_key_that_signs_after_the_lead() {
        let versions = MemoryKeyRingVersions::new(empty_ring());
        let rotation = KeyRotation::new(versions.clone(), policy());
        let first = rotate(&rotation, "v1").await;
        let second = rotate(&rotation, "v2").await;
        assert_eq!(second.len(), 2);
        assert_eq!(second[0], first[0]);
        let ring = versions.current_ring();
        let now = now_epoch_seconds();
        assert_eq!(ring.signer_at(now).unwrap().kid(), first[0]);
        assert_eq!(ring.signer_at(now + 3600).unwrap().kid(), second[1]);
    }

    #[tokio::test]
    async fn retried_steps_change_nothing() {
        let versions = MemoryKeyRingVersions::new(empty_ring());
        let rotation = KeyRotation::new(versions.clone(), policy());
        let created = rotation.step(RotationStep::Create, "v1").await.unwrap();
        let again = rotation.step(RotationStep::Create, "v1").await.unwrap();
        assert_eq!(
            created.keys, again.keys,
            "the pending ring is not made twice"
        );
        rotation.step(RotationStep::Finish, "v1").await.unwrap();
        let finished = rotation.step(RotationStep::Finish, "v1").await.unwrap();
        assert_eq!(finished.keys, created.keys);
        assert_eq!(versions.current_version(), "v1");
    }

    #[tokio::test]
    async fn a_rotation_whose_base_was_replaced_does_not_finish() {
        use secrecy::ExposeSecret;
        let versions = MemoryKeyRingVersions::new(empty_ring());
        let rotation = KeyRotation::new(versions.clone(), policy());
        rotate(&rotation, "v1").await;
        rotation.step(RotationStep::Create, "v2").await.unwrap();
        // An operator edits the ring by hand meanwhile (a leaked key removed, say).
        let edited = versions.current_ring().to_secret_string();
        versions.put_current("hand-edit", edited.clone());
        for step in [RotationStep::Test, RotationStep::Finish] {
            let refused = rotation.step(step, "v2").await;
            assert!(
                matches!(refused, Err(RotationError::PendingRing(_))),
                "{refused:?}"
            );
        }
        assert_eq!(versions.current_version(), "hand-edit");
        assert_eq!(
            versions.current_ring().to_secret_string().expose_secret(),
            edited.expose_secret()
        );
    }

    #[tokio::test]
    async fn a_new_key_too_close_to_signing_does_not_finish() {
        let versions = MemoryKeyRingVersions::new(empty_ring());
        rotate(&KeyRotation::new(versions.clone(), policy()), "v1").await;
        // Created with a short lead, finished by a rotation that expects an hour's.
        let hasty = RotationPolicy {
            lead: Duration::from_secs(60),
            ..policy()
        };
        KeyRotation::new(versions.clone(), hasty)
            .step(RotationStep::Create, "v2")
            .await
            .unwrap();
        let strict = KeyRotation::new(versions.clone(), policy());
        let refused = strict.step(RotationStep::Finish, "v2").await;
        assert!(
            matches!(refused, Err(RotationError::PendingRing(_))),
            "{refused:?}"
        );
        assert_eq!(versions.current_version(), "v1");
    }

    #[tokio::test]
    async fn an_unreadable_current_ring_is_never_replaced() {
        let versions = MemoryKeyRingVersions::new(SecretString::from("not a ring"));
        let rotation = KeyRotation::new(versions.clone(), policy());
        let failed = rotation.step(RotationStep::Create, "v1").await;
        assert!(
            matches!(failed, Err(RotationError::CurrentRing(_))),
            "{failed:?}"
        );
        let untested = rotation.step(RotationStep::Test, "v2").await;
        assert!(matches!(untested, Err(RotationError::PendingRing(_))));
        assert_eq!(versions.current_version(), "initial");
    }
}
