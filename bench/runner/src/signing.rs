//! Standard tokens: the signing keys the token function reads, and the key-store
//! comparison of docs/benchmarks.md ("Standard tokens: signing cost and key store").
//!
//! - [`KeyStore`]: moto's Secrets Manager with two rings, as rotations leave them (one key;
//!   two, the second published ahead of signing), for the token function's subjects.
//! - RS256 in process: `SigningKey::sign_jwt` of a token's full claims with the ring's key
//!   (aws-lc-rs), the CPU of each signature read from the thread's CPU clock.
//! - The alternative, KMS: `Sign` (RSASSA_PKCS1_V1_5_SHA_256, an RSA_2048 key) through the
//!   AWS SDK against moto's KMS on loopback, on a thread of its own running a
//!   current-thread runtime as the function does: the CPU the Lambda side spends per
//!   token, and the round trip to moto (which is not AWS's: no network, moto's own
//!   Python signing).
//! - What the chosen store costs besides: the ring's read (`GetSecretValue` and the parse),
//!   once per instance every `SIGNING_KEYS_MAX_AGE_SECONDS`.
//! - The JWKS and discovery answers of the release function: bytes and Cache-Control.
//! - Cost per million tokens from those figures and the published prices below.

use std::fmt::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devkit::apigw::http_event;
use devkit::runtime_api::{HttpAnswer, RuntimeApi};
use devkit::secrets_manager::SecretsManagerServer;
use devkit::stack::{TEST_APPID, TestStack, unique_suffix};
use rustix::time::{ClockId, clock_gettime};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;
use wxlogin::domain::clock::now_epoch_seconds;
use wxlogin::domain::standard_token::StandardClaims;
use wxlogin::domain::{KeyRing, RotationPolicy};

use crate::measure::{Quantiles, SPACING, spawn_with};
use crate::report::VCPU_MB;
use crate::subjects::{Subject, TOKEN_ISSUER};

/// Signatures in process, back to back.
const SIGNATURES: usize = 2000;
/// KMS `Sign` calls back to back (each a loopback round trip to moto).
const KMS_CALLS: usize = 500;
/// `GetSecretValue` calls back to back.
const SECRET_READS: usize = 200;
/// Ring parses (the key's PKCS#8 checked and loaded), back to back.
const RING_PARSES: usize = 200;
/// Calls and signatures after an idle spell ([`SPACING`]) each, for each kind.
const SPACED: usize = 50;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The prices the cost table uses: us-east-1, on-demand, as published (checked 2026-12).
/// Lambda: arm64 duration, first tier (https://aws.amazon.com/lambda/pricing/).
const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The function's memory (template.yaml: 128 MB).
const FUNCTION_MB: f64 = 128.0;
/// KMS: a key a month, and requests involving RSA 2048 keys
/// (https://aws.amazon.com/kms/pricing/).
const KMS_KEY_MONTH: f64 = 1.00;
const KMS_RSA_2048_PER_10K: f64 = 0.03;
/// Secrets Manager: a secret a month, and API calls
/// (https://aws.amazon.com/secrets-manager/pricing/).
const SECRET_MONTH: f64 = 0.40;
const SECRETS_API_PER_10K: f64 = 0.05;
/// KMS's default request quota for cryptographic operations with RSA keys, shared by
/// every RSA key of the account in the Region
/// (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html).
const KMS_RSA_QUOTA_PER_SECOND: u32 = 500;
/// How often an instance reads the ring again (SIGNING_KEYS_MAX_AGE_SECONDS' default).
const RING_MAX_AGE_SECONDS: f64 = wxlogin::config::DEFAULT_SIGNING_KEYS_MAX_AGE_SECONDS as f64;

/// moto's Secrets Manager with the rings the token function reads; stopped when dropped.
pub struct KeyStore {
    server: SecretsManagerServer,
    one_key: String,
    two_keys: String,
    /// The one-key ring's SecretString, for the in-process measurements.
    one_key_text: SecretString,
}

impl KeyStore {
    /// Starts moto's server and stores two rings: after the first rotation (one key, signing
    /// now), and after the second (that key and the next, published ahead).
    pub async fn start() -> anyhow::Result<Self> {
        let server = SecretsManagerServer::start().await?;
        let now = now_epoch_seconds();
        let one = KeyRing::default().rotated(now, RotationPolicy::default())?;
        let two = one.rotated(now, RotationPolicy::default())?;
        let suffix = unique_suffix();
        let (one_key, two_keys) = (
            format!("wxlogin/bench-signing-keys-{suffix}"),
            format!("wxlogin/bench-signing-keys-two-{suffix}"),
        );
        let one_key_text = one.to_secret_string();
        server
            .create(&one_key, one_key_text.expose_secret())
            .await?;
        server
            .create(&two_keys, two.to_secret_string().expose_secret())
            .await?;
        Ok(Self {
            server,
            one_key,
            two_keys,
            one_key_text,
        })
    }

    /// The variables that point the token function at the one-key ring.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_of(&self.one_key)
    }

    fn env_of(&self, secret: &str) -> Vec<(String, String)> {
        vec![
            ("SIGNING_KEYS_SECRET_ID".into(), secret.to_owned()),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
                self.server.endpoint().to_owned(),
            ),
        ]
    }
}

/// CPU time of the calling thread so far (`CLOCK_THREAD_CPUTIME_ID`: exact to the
/// nanosecond, the running slice included; a thread's schedstat is only brought up to date
/// when it is scheduled out, so it misses work shorter than a tick).
fn thread_cpu() -> Duration {
    cpu_clock(ClockId::ThreadCPUTime)
}

/// CPU time of this whole process so far, all its threads.
fn process_cpu() -> Duration {
    cpu_clock(ClockId::ProcessCPUTime)
}

fn cpu_clock(clock: ClockId) -> Duration {
    let now = clock_gettime(clock);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or_default(),
        u32::try_from(now.tv_nsec).unwrap_or_default(),
    )
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// CPU and wall time of some work done many times, milliseconds each.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timed {
    /// CPU of this thread per run, back to back.
    pub cpu: Quantiles,
    /// Wall time per run, back to back.
    pub wall: Quantiles,
    /// CPU per run, each after an idle spell.
    pub spaced_cpu: Quantiles,
    /// Wall time per run, each after an idle spell.
    pub spaced_wall: Quantiles,
    /// Runs back to back.
    pub runs: usize,
}

/// Runs `work` `runs` times back to back and [`SPACED`] times after [`SPACING`] each,
/// timing each run on this thread.
fn time_sync(runs: usize, mut work: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Timed> {
    let mut samples = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for index in 0..runs + SPACED {
        let spaced = index >= runs;
        if spaced {
            std::thread::sleep(SPACING);
        }
        let (cpu_before, wall_before) = (thread_cpu(), Instant::now());
        work()?;
        let (wall, cpu) = (
            wall_before.elapsed(),
            thread_cpu().saturating_sub(cpu_before),
        );
        let (cpus, walls) = if spaced {
            (&mut samples.2, &mut samples.3)
        } else {
            (&mut samples.0, &mut samples.1)
        };
        cpus.push(millis(cpu));
        walls.push(millis(wall));
    }
    Ok(Timed {
        cpu: Quantiles::of(samples.0),
        wall: Quantiles::of(samples.1),
        spaced_cpu: Quantiles::of(samples.2),
        spaced_wall: Quantiles::of(samples.3),
        runs,
    })
}

/// As [`time_sync`] for async work on a current-thread runtime, on this thread: the
/// SDK's I/O is polled here too, so this thread's CPU is the Lambda side's whole cost.
fn time_async<F: Future<Output = anyhow::Result<()>>>(
    runtime: &tokio::runtime::Runtime,
    runs: usize,
    mut work: impl FnMut() -> F,
) -> anyhow::Result<Timed> {
    time_sync(runs, || runtime.block_on(work()))
}

/// A token's claims at their fullest: unionid and a bound phone number.
fn full_claims(now: i64) -> StandardClaims {
    StandardClaims {
        iss: TOKEN_ISSUER.to_owned(),
        sub: "oGZUI0egBJY1zhBYw2KhdUfwVJJE".to_owned(),
        aud: TEST_APPID.to_owned(),
        iat: now - 5,
        exp: now + 900,
        jti: URL_SAFE_NO_PAD.encode([0x5a; 16]),
        appid: TEST_APPID.to_owned(),
        unionid: Some("o6_bmasdasdsad6_2sgVt7hMZOPfL".to_owned()),
        phone_number: Some("+8613800138000".to_owned()),
        phone_number_verified: Some(true),
        phone_verified_by: Some("code"),
        phone_verified_at: Some(now - 86_400),
    }
}

/// The JWS signing input (`header.claims`, base64url JSON), as `sign_jwt` builds it.
fn signing_input(kid: &str, claims: &impl Serialize) -> anyhow::Result<String> {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
    ))
}

/// The in-process figures.
#[derive(Debug, Default)]
pub struct InProcess {
    /// `sign_jwt` of the full claims.
    pub sign: Timed,
    /// `KeyRing::parse` of the one-key ring.
    pub parse: Timed,
    /// Characters of the token.
    pub token_len: usize,
    /// Two readings of this thread's CPU with nothing between, p50 ms: the reading's own
    /// cost, inside every figure above.
    pub reading_overhead: f64,
}

fn measure_in_process(ring_text: &SecretString) -> anyhow::Result<InProcess> {
    let ring = KeyRing::parse(ring_text)?;
    let key = ring
        .signer_at(now_epoch_seconds())
        .context("the ring has no signing key")?
        .clone();
    let claims = full_claims(now_epoch_seconds());
    let token_len = key.sign_jwt(&claims)?.len();
    let mut overhead = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let before = thread_cpu();
        overhead.push(millis(thread_cpu().saturating_sub(before)));
    }
    let sign = time_sync(SIGNATURES, || {
        std::hint::black_box(key.sign_jwt(std::hint::black_box(&claims))?);
        Ok(())
    })?;
    let parse = time_sync(RING_PARSES, || {
        std::hint::black_box(KeyRing::parse(std::hint::black_box(ring_text))?);
        Ok(())
    })?;
    Ok(InProcess {
        sign,
        parse,
        token_len,
        reading_overhead: Quantiles::of(overhead).p50,
    })
}

/// The SDK clients' settings, as the functions configure theirs (shared/src/adapters/aws.rs:
/// the same timeouts and retries, stalled-stream protection off), against `endpoint`.
macro_rules! client_config {
    ($sdk:ident, $endpoint:expr) => {{
        use $sdk::config::{
            BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
            retry::RetryConfig, timeout::TimeoutConfig,
        };
        $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "bench"))
            .endpoint_url($endpoint)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(Duration::from_millis(1500))
                    .operation_timeout(Duration::from_secs(4))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build()
    }};
}

/// The figures of the SDK calls against moto.
#[derive(Debug, Default)]
pub struct Remote {
    /// KMS `Sign` of a token's signing input, the JWT assembled around it.
    pub kms_sign: Timed,
    /// The first `Sign` of a fresh client (the client built, the connection opened): CPU
    /// and wall ms.
    pub kms_first: (f64, f64),
    /// The whole runner process's CPU per back-to-back `Sign`, mean ms (a cross-check of
    /// the thread's figure: anything else the SDK ran on another thread would show here).
    pub kms_process_mean: f64,
    /// `GetSecretValue` of the one-key ring, as the token function reads it.
    pub secret_read: Timed,
}

fn measure_remote(endpoint: &str, ring_id: &str) -> anyhow::Result<Remote> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let kms = aws_sdk_kms::Client::from_conf(client_config!(aws_sdk_kms, endpoint));
    let key_id = runtime.block_on(async {
        let created = kms
            .create_key()
            .key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .context("KMS CreateKey (RSA_2048, SIGN_VERIFY) on moto")?;
        anyhow::Ok(
            created
                .key_metadata()
                .context("CreateKey gave no metadata")?
                .key_id()
                .to_owned(),
        )
    })?;
    let claims = full_claims(now_epoch_seconds());
    // The token as the KMS path would make it: the same signing input, the signature from
    // KMS. RAW: KMS hashes the input (up to 4,096 bytes), as RS256 needs.
    let sign = |client: aws_sdk_kms::Client| {
        let (key_id, claims) = (key_id.clone(), claims.clone());
        async move {
            let input = signing_input(&key_id, &claims)?;
            let signed = client
                .sign()
                .key_id(&key_id)
                .message(Blob::new(input.as_bytes()))
                .message_type(MessageType::Raw)
                .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
                .send()
                .await
                .context("KMS Sign on moto")?;
            let signature = signed.signature().context("Sign gave no signature")?;
            anyhow::ensure!(
                signature.as_ref().len() == 256,
                "an RSA-2048 signature is 256 bytes"
            );
            std::hint::black_box(format!(
                "{input}.{}",
                URL_SAFE_NO_PAD.encode(signature.as_ref())
            ));
            anyhow::Ok(())
        }
    };
    // A fresh client for the first call: what a new instance pays once.
    let fresh = aws_sdk_kms::Client::from_conf(client_config!(aws_sdk_kms, endpoint));
    let (cpu_before, wall_before) = (thread_cpu(), Instant::now());
    runtime.block_on(sign(fresh.clone()))?;
    let kms_first = (
        millis(thread_cpu().saturating_sub(cpu_before)),
        millis(wall_before.elapsed()),
    );
    let process_before = process_cpu();
    let kms_sign = time_async(&runtime, KMS_CALLS, || sign(fresh.clone()))?;
    let kms_process_mean =
        millis(process_cpu().saturating_sub(process_before)) / (KMS_CALLS + SPACED) as f64;

    let secrets =
        aws_sdk_secretsmanager::Client::from_conf(client_config!(aws_sdk_secretsmanager, endpoint));
    let read = || {
        let secrets = secrets.clone();
        async move {
            let output = secrets
                .get_secret_value()
                .secret_id(ring_id)
                .version_stage("AWSCURRENT")
                .send()
                .await
                .context("GetSecretValue on moto")?;
            std::hint::black_box(output.secret_string().context("no SecretString")?);
            anyhow::Ok(())
        }
    };
    runtime.block_on(read())?;
    let secret_read = time_async(&runtime, SECRET_READS, read)?;
    Ok(Remote {
        kms_sign,
        kms_first,
        kms_process_mean,
        secret_read,
    })
}

/// Runs `work` on a thread of its own (its CPU is read per thread), and waits for it
/// without blocking the runner's runtime.
async fn on_own_thread<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let thread = std::thread::spawn(work);
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the measuring thread panicked"))?
}

/// One answer of the release token function.
struct Answer {
    bytes: usize,
    cache_control: String,
}

impl Answer {
    fn of(answer: &HttpAnswer) -> Self {
        Self {
            bytes: answer.raw_body.len(),
            cache_control: answer.headers["cache-control"]
                .as_str()
                .unwrap_or("none")
                .to_owned(),
        }
    }
}

/// The token function's public answers and a token, with the ring `secret`.
async fn answers(
    token: &Subject,
    keys: &KeyStore,
    secret: &str,
    stack: &TestStack,
) -> anyhow::Result<(Answer, Answer, usize)> {
    let mut env = token.env.clone();
    env.retain(|(name, _)| {
        name != "SIGNING_KEYS_SECRET_ID" && name != "AWS_ENDPOINT_URL_SECRETS_MANAGER"
    });
    env.extend(keys.env_of(secret));
    let runtime = RuntimeApi::start().await?;
    let process = spawn_with(token, &runtime, &env)?;
    runtime
        .wait_first_poll(TIMEOUT)
        .await
        .with_context(|| process.output())?;
    let get = async |path: &str| {
        let answer = runtime
            .invoke_http(http_event("GET", path, None, &[]))
            .await?;
        anyhow::ensure!(answer.status == 200, "GET {path}: {}", answer.raw_body);
        anyhow::Ok(answer)
    };
    let jwks = get("/.well-known/jwks.json").await?;
    let discovery = get("/.well-known/openid-configuration").await?;
    let (session, _) = stack.logged_in_user(json!({})).await?;
    let bearer = format!("Bearer {session}");
    let issued = runtime
        .invoke_http(http_event(
            "POST",
            "/token",
            None,
            &[("authorization", bearer.as_str())],
        ))
        .await?;
    anyhow::ensure!(issued.status == 200, "POST /token: {}", issued.raw_body);
    let token_len = issued.body["access_token"]
        .as_str()
        .context("no access_token")?
        .len();
    Ok((Answer::of(&jwks), Answer::of(&discovery), token_len))
}

/// Lambda's price of `cpu_ms` of CPU-bound work, per million, at [`FUNCTION_MB`]: the
/// wall time it becomes (× 1769/128) times the memory, times the price per GB-second.
fn lambda_per_million(cpu_ms: f64) -> f64 {
    let wall_seconds = cpu_ms * VCPU_MB / FUNCTION_MB / 1000.0;
    wall_seconds * FUNCTION_MB / 1024.0 * LAMBDA_ARM64_PER_GB_SECOND * 1e6
}

/// Lambda's price of waiting `ms` (on the network), per million, at [`FUNCTION_MB`].
fn lambda_wait_per_million(ms: f64) -> f64 {
    ms / 1000.0 * FUNCTION_MB / 1024.0 * LAMBDA_ARM64_PER_GB_SECOND * 1e6
}

fn timed_row(out: &mut String, what: &str, timed: &Timed) {
    let _ = writeln!(
        out,
        "| {what} | {} | {:.3} / {:.3} / {:.3} | {:.3} / {:.3} | {:.3} / {:.3} / {:.3} | {:.3} / {:.3} | {:.1} |",
        timed.runs,
        timed.cpu.p50,
        timed.cpu.p90,
        timed.cpu.p99,
        timed.wall.p50,
        timed.wall.p99,
        timed.spaced_cpu.p50,
        timed.spaced_cpu.p90,
        timed.spaced_cpu.p99,
        timed.spaced_wall.p50,
        timed.spaced_wall.p99,
        timed.spaced_cpu.p50 * VCPU_MB / FUNCTION_MB,
    );
}

/// Measures everything above and writes the report's section.
pub async fn report(
    keys: &KeyStore,
    token: Option<&Subject>,
    stack: &TestStack,
) -> anyhow::Result<String> {
    let mut out = String::from("\n## Standard tokens: signing and the key store\n\n");
    if let Some(token) = token {
        let (jwks_one, discovery, token_len) = answers(token, keys, &keys.one_key, stack).await?;
        let (jwks_two, _, _) = answers(token, keys, &keys.two_keys, stack).await?;
        let _ = writeln!(
            out,
            "The release token function's public answers (issuer `{TOKEN_ISSUER}`):\n\n\
             | answer | body bytes | Cache-Control |\n|---|---|---|\n\
             | `GET /.well-known/jwks.json`, 1 key | {} | {} |\n\
             | `GET /.well-known/jwks.json`, 2 keys | {} | {} |\n\
             | `GET /.well-known/openid-configuration` | {} | {} |\n\n\
             A token from `POST /token` for a session without a bound phone number: {token_len} characters.\n",
            jwks_one.bytes,
            jwks_one.cache_control,
            jwks_two.bytes,
            jwks_two.cache_control,
            discovery.bytes,
            discovery.cache_control,
        );
    }
    let ring_text = keys.one_key_text.clone();
    let local = on_own_thread(move || measure_in_process(&ring_text)).await?;
    let (endpoint, ring_id) = (keys.server.endpoint().to_owned(), keys.one_key.clone());
    let remote = on_own_thread(move || measure_remote(&endpoint, &ring_id)).await?;

    let _ = writeln!(
        out,
        "Per token, on one thread (its CPU from `CLOCK_THREAD_CPUTIME_ID`; reading it costs {:.4} ms, inside each figure). \
         In process: `SigningKey::sign_jwt` (aws-lc-rs RSA-2048, PKCS#1 v1.5 SHA-256) of a token's fullest claims ({} characters signed). \
         KMS: the same signing input sent to `Sign` (RSASSA_PKCS1_V1_5_SHA_256, MessageType RAW, an RSA_2048 key) through aws-sdk-kms \
         against moto's KMS on loopback, on a current-thread runtime as the function runs it, the JWT assembled around the answer: \
         the CPU is the Lambda side's; the wall time is a loopback round trip to moto's Python server, not AWS's network or KMS's HSMs. \
         After idle: each after {} ms asleep, as Lambda sends an instance its next event; at 128 MB ≈ that CPU × 1769/128.\n",
        local.reading_overhead,
        local.token_len,
        SPACING.as_millis(),
    );
    let _ = writeln!(
        out,
        "| work | runs | CPU p50 / p90 / p99 ms | wall p50 / p99 ms | after idle CPU p50 / p90 / p99 ms | after idle wall p50 / p99 ms | at 128 MB ms (after idle p50) |\n|---|---|---|---|---|---|---|"
    );
    timed_row(&mut out, "RS256 in process (`sign_jwt`)", &local.sign);
    timed_row(&mut out, "KMS `Sign` via the SDK (moto)", &remote.kms_sign);
    timed_row(
        &mut out,
        "ring read: `GetSecretValue` via the SDK (moto)",
        &remote.secret_read,
    );
    timed_row(
        &mut out,
        "ring parse: `KeyRing::parse`, 1 key",
        &local.parse,
    );
    let _ = writeln!(
        out,
        "\nA fresh client's first KMS `Sign`: {:.2} ms CPU, {:.2} ms wall (client built, connection opened). \
         The whole runner process spent {:.3} ms of CPU per `Sign` (mean over {} calls; the thread alone: p50 {:.3}).\n",
        remote.kms_first.0,
        remote.kms_first.1,
        remote.kms_process_mean,
        KMS_CALLS + SPACED,
        remote.kms_sign.cpu.p50,
    );

    // Cost per million tokens and per month.
    let in_process_sign = lambda_per_million(local.sign.spaced_cpu.p50);
    let kms_requests = KMS_RSA_2048_PER_10K * 100.0;
    let kms_client = lambda_per_million(remote.kms_sign.spaced_cpu.p50);
    let reads_per_instance_month = 30.0 * 86_400.0 / RING_MAX_AGE_SECONDS;
    let read_cpu = remote.secret_read.spaced_cpu.p50 + local.parse.spaced_cpu.p50;
    let per_instance_month = reads_per_instance_month * SECRETS_API_PER_10K / 10_000.0
        + lambda_per_million(read_cpu) * reads_per_instance_month / 1e6;
    let at_128 = |cpu: f64| cpu * VCPU_MB / FUNCTION_MB;
    let _ = write!(
        out,
        "Cost (us-east-1: arm64 Lambda ${LAMBDA_ARM64_PER_GB_SECOND} per GB-s, at {FUNCTION_MB:.0} MB; \
         KMS ${KMS_KEY_MONTH:.2} a key-month and ${KMS_RSA_2048_PER_10K} per 10,000 requests with RSA 2048 keys; \
         Secrets Manager ${SECRET_MONTH:.2} a secret-month and ${SECRETS_API_PER_10K} per 10,000 calls). \
         The CPU figures are the after-idle medians above. Lambda's price for CPU-bound work is the same at any \
         memory below 1,769 MB (less CPU for longer at a lower price per ms). Left out, the same either way: \
         the Lambda request charge, the session's DynamoDB read.\n\n\
         | | Secrets Manager + RS256 in process (chosen) | KMS `Sign` per token |\n|---|---|---|\n\
         | key store, per month | ${SECRET_MONTH:.2} the secret + ${per_instance_month:.4} per warm instance ({reads_per_instance_month:.0} reads, {read_cpu:.2} ms CPU each with the parse) | ${KMS_KEY_MONTH:.2} a key (1–2 live with the rotation's overlap) |\n\
         | key store, per million tokens | $0 (the reads are per instance, not per token) | ${kms_requests:.2} |\n\
         | Lambda time, per million tokens | ${in_process_sign:.4} ({:.3} ms CPU → {:.1} ms at 128 MB) | ${kms_client:.4} ({:.3} ms CPU → {:.1} ms at 128 MB) + ${:.5} per ms waiting on KMS |\n\
         | per million tokens, all told | ${in_process_sign:.4} | ${:.4} + the wait |\n\
         | time added to a token at 128 MB | {:.1} ms of CPU | {:.1} ms of CPU + KMS's round trip (unmeasured here) |\n\
         | throughput | no quota: the function's concurrency | {KMS_RSA_QUOTA_PER_SECOND} requests/s by default, shared by the account's RSA keys in the Region |\n",
        local.sign.spaced_cpu.p50,
        at_128(local.sign.spaced_cpu.p50),
        remote.kms_sign.spaced_cpu.p50,
        at_128(remote.kms_sign.spaced_cpu.p50),
        lambda_wait_per_million(1.0),
        kms_requests + kms_client,
        at_128(local.sign.spaced_cpu.p50),
        at_128(remote.kms_sign.spaced_cpu.p50),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_prices_cpu_bound_work_the_same_at_any_memory() {
        // One ms of CPU is 13.8 ms at 128 MB: 0.125 GB × 0.0138 s × the price, a million times.
        let expected = 0.125 * (VCPU_MB / 128.0 / 1000.0) * LAMBDA_ARM64_PER_GB_SECOND * 1e6;
        assert!((lambda_per_million(1.0) - expected).abs() < 1e-12);
        assert!((lambda_per_million(1.0) - 0.023_03).abs() < 1e-4);
        assert!((lambda_wait_per_million(1.0) - 0.001_666_7).abs() < 1e-6);
    }

    #[test]
    fn the_signing_input_is_two_base64url_json_parts() {
        let input = signing_input("kid", &json!({"sub": "o1"})).unwrap();
        let parts: Vec<&str> = input.split('.').collect();
        assert_eq!(parts.len(), 2);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "kid"}));
    }
}
