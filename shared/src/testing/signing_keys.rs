//! Twins of the signing-key ports: a ring held in memory (replaceable, as a rotation
//! replaces the secret's), and the secret's versions as the rotation protocol moves them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

use crate::domain::clock::now_epoch_seconds;
use crate::domain::{KeyRing, RotationPolicy, StoreError};
use crate::ports::{KeyRingVersions, SigningKeys};

/// A ring in memory.
#[derive(Clone)]
pub struct MemoryKeyRing(Arc<Mutex<Arc<KeyRing>>>);

impl MemoryKeyRing {
    /// Holding `ring`.
    pub fn new(ring: KeyRing) -> Self {
        Self(Arc::new(Mutex::new(Arc::new(ring))))
    }

    /// Holding a ring of one key that signs now.
    pub fn rotated_once() -> Self {
        let Ok(ring) = KeyRing::default().rotated(now_epoch_seconds(), RotationPolicy::default())
        else {
            panic!("a key could not be generated")
        };
        Self::new(ring)
    }

    /// The ring held.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.0.lock().unwrap_or_else(|err| err.into_inner()).clone()
    }

    /// Holds `ring` from now on.
    pub fn replace(&self, ring: Arc<KeyRing>) {
        *self.0.lock().unwrap_or_else(|err| err.into_inner()) = ring;
    }
}

impl SigningKeys for MemoryKeyRing {
    async fn key_ring(&self) -> Result<Arc<KeyRing>, StoreError> {
        Ok(self.ring())
    }
}

#[derive(Default)]
struct Versions {
    values: HashMap<String, SecretString>,
    current: String,
    pending: Option<String>,
}

/// A secret's versions in memory, starting with one current version, `initial`.
#[derive(Clone)]
pub struct MemoryKeyRingVersions(Arc<Mutex<Versions>>);

impl MemoryKeyRingVersions {
    /// A secret whose current version `initial` holds `text`.
    pub fn new(text: SecretString) -> Self {
        let mut versions = Versions {
            current: "initial".into(),
            ..Versions::default()
        };
        versions.values.insert("initial".into(), text);
        Self(Arc::new(Mutex::new(versions)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        self.0.lock().unwrap_or_else(|err| err.into_inner())
    }

    /// The current version's id.
    pub fn current_version(&self) -> String {
        self.lock().current.clone()
    }

    /// Writes `text` as a new current version `version`, as a hand-run `put-secret-value`
    /// does: a pending version stays pending.
    pub fn put_current(&self, version: &str, text: SecretString) {
        let mut versions = self.lock();
        versions.values.insert(version.to_owned(), text);
        versions.current = version.to_owned();
    }

    /// The current version's ring.
    pub fn current_ring(&self) -> KeyRing {
        let versions = self.lock();
        let Ok(ring) = KeyRing::parse(&versions.values[&versions.current]) else {
            panic!("the current version is not a ring")
        };
        ring
    }
}

impl KeyRingVersions for MemoryKeyRingVersions {
    async fn current(&self) -> Result<Option<(String, SecretString)>, StoreError> {
        let versions = self.lock();
        Ok(versions
            .values
            .get(&versions.current)
            .map(|text| (versions.current.clone(), text.clone())))
    }

    async fn pending(&self, version: &str) -> Result<Option<SecretString>, StoreError> {
        let versions = self.lock();
        Ok(match &versions.pending {
            Some(pending) if pending == version => versions.values.get(version).cloned(),
            _ => None,
        })
    }

    async fn put_pending(&self, version: &str, ring: &SecretString) -> Result<(), StoreError> {
        let mut versions = self.lock();
        if let Some(existing) = versions.values.get(version) {
            // Secrets Manager: the same token with other content is an error.
            return if existing.expose_secret() == ring.expose_secret() {
                Ok(())
            } else {
                Err(StoreError::new("version exists with other content"))
            };
        }
        versions.values.insert(version.to_owned(), ring.clone());
        versions.pending = Some(version.to_owned());
        Ok(())
    }

    async fn make_current(&self, version: &str, previous: &str) -> Result<(), StoreError> {
        let mut versions = self.lock();
        if versions.current != previous || !versions.values.contains_key(version) {
            return Err(StoreError::new(
                "not the current version, or no such version",
            ));
        }
        versions.current = version.to_owned();
        if versions.pending.as_deref() == Some(version) {
            versions.pending = None;
        }
        Ok(())
    }
}
