//! Log setup: JSON lines under Lambda's JSON log format, plain text otherwise.
//!
//! Honours Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT`)
//! and `RUST_LOG` for local runs, but caps every dependency at INFO: at DEBUG/TRACE the AWS
//! SDK prints whole request bodies (a PutItem carries the session_key) and HTTP stacks print
//! request URIs (code2Session carries the AppSecret in its query string). Only our own
//! crates follow the requested level.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Crates whose events follow the requested level in full.
const OWN_CRATES: &[&str] = &[
    "wxlogin",
    "onlogin",
    "decrypt_phone",
    "session",
    "authorizer",
];

/// Installs the global subscriber.
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A plain target filter, not EnvFilter: EnvFilter's directive parsing pulls in a regex
    // engine, about a megabyte of every binary, for a feature we do not offer.
    let filter = filter_for(requested.as_deref());
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(false);
    let registry = tracing_subscriber::registry().with(filter);
    // The line keeps its current span (lambda_runtime's, with the request id and X-Ray
    // trace id) under "span"; the list of all spans would only repeat it under "spans".
    // A second init (tests calling main-like code twice) is harmless: keep the first.
    let _ = if json {
        registry
            .with(format.json().flatten_event(true).with_span_list(false))
            .try_init()
    } else {
        registry.with(format).try_init()
    };
}

/// The filter for a requested level such as `debug` (unknown text means INFO).
pub fn filter_for(requested: Option<&str>) -> Targets {
    let level = requested
        .map(str::trim)
        .and_then(|raw| {
            // Lambda's scale ends at FATAL, which tracing lacks: its nearest is ERROR.
            if raw.eq_ignore_ascii_case("fatal") {
                Some(LevelFilter::ERROR)
            } else {
                raw.parse::<LevelFilter>().ok()
            }
        })
        .unwrap_or(LevelFilter::INFO);
    let dependency_cap = level.min(LevelFilter::INFO);
    OWN_CRATES.iter().fold(
        Targets::new().with_default(dependency_cap),
        |targets, own| targets.with_target(*own, level),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn enabled(requested: Option<&str>, target: &str, level: Level) -> bool {
        filter_for(requested).would_enable(target, &level)
    }

    #[test]
    fn dependencies_never_go_below_info() {
        assert!(enabled(
            Some("trace"),
            "wxlogin::usecases::login",
            Level::TRACE
        ));
        assert!(enabled(Some("trace"), "decrypt_phone", Level::TRACE));
        assert!(!enabled(
            Some("trace"),
            "aws_smithy_runtime::client",
            Level::DEBUG
        ));
        assert!(!enabled(Some("trace"), "hyper_util", Level::TRACE));
        // The runtime's per-invocation span (request id, X-Ray trace id) is INFO: every
        // cause line and the authorizer's line find their request through it.
        assert!(enabled(Some("trace"), "lambda_runtime", Level::INFO));
    }

    #[test]
    fn quieter_levels_apply_to_everything() {
        assert!(!enabled(Some("WARN"), "onlogin", Level::INFO));
        assert!(enabled(Some("WARN"), "onlogin", Level::WARN));
        assert!(!enabled(Some("WARN"), "reqwest", Level::INFO));
    }

    #[test]
    fn lambdas_fatal_means_errors_only() {
        assert!(enabled(Some("FATAL"), "wxlogin", Level::ERROR));
        assert!(!enabled(Some("FATAL"), "wxlogin", Level::WARN));
    }

    #[test]
    fn unknown_levels_mean_info() {
        assert!(enabled(Some("chatty"), "wxlogin", Level::INFO));
        assert!(!enabled(Some("chatty"), "wxlogin", Level::DEBUG));
        assert!(enabled(None, "wxlogin", Level::INFO));
    }
}
