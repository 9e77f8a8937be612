//! The Secrets Manager adapter of the signing-key versions against moto's server: the
//! contract the in-memory twin passes (`wxlogin::testing::contract::key_ring_versions`).

use devkit::secrets_manager::SecretsManagerServer;
use devkit::signing_keys::{EMPTY_RING, local_client};
use devkit::stack::unique_suffix;
use wxlogin::adapters::signing_keys::SecretsManagerVersions;
use wxlogin::testing::contract;

#[tokio::test]
async fn secrets_manager_honours_the_key_ring_versions_contract() {
    let secrets = SecretsManagerServer::start().await.unwrap();
    let secret = format!("wxlogin/signing-keys-{}", unique_suffix());
    secrets.create(&secret, EMPTY_RING).await.unwrap();
    let versions = SecretsManagerVersions::with_client(local_client(secrets.endpoint()), secret);
    contract::key_ring_versions(&versions).await;
}
