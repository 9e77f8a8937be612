//! Local tooling for wxlogin, shared by `make dev`, the tests and the benchmarks:
//! DynamoDB Local as a child process, table setup, a Lambda Runtime API emulator that
//! drives the real function binaries, API Gateway v2 events, the `TestStack`, a reader
//! for the metrics functions print, the end-to-end check of a real function binary
//! (spawn, invoke, search its output for secrets), what a raced login code must come to,
//! a Secrets Manager server (moto) for the AppSecret tests, the signing keys of the local stack, template.yaml's alarms and parameters as the tests check them, the local gateway that plays API Gateway's authorizer step for `make dev`, and a push receiver on a local port for the sandbox's pushes.

pub mod apigw;
pub mod authorizer_event;
pub mod binary_check;
pub mod dynamodb_local;
pub mod emf;
pub mod function_process;
pub mod gateway;
pub mod playground;
pub mod push_endpoint;
pub mod race;
pub mod runtime_api;
pub mod secrets_manager;
pub mod signing_keys;
pub mod stack;
pub mod tables;
pub mod template;
