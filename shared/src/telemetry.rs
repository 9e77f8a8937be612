//! Log setup for the Lambda binaries.
//!
//! Honours Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT`)
//! and `RUST_LOG` for local runs, but caps every dependency at INFO: at DEBUG/TRACE the AWS
//! SDK prints whole request bodies (a PutItem carries the session_key) and HTTP stacks print
//! request URIs (code2Session carries the AppSecret in its query string). Only our own
//! crates follow the requested level.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Crates whose events follow the requested level in full.
const OWN_CRATES: &[&str] = &["wxlogin", "onlogin", "decrypt_phone"];

/// Installs the global subscriber; call once, first thing in `main`.
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter_for(requested.as_deref()))
        .with_target(false)
        .with_ansi(false);
    // A second init (tests calling main-like code twice) is harmless: keep the first.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The filter for a requested level such as `debug` (unknown text means INFO).
pub fn filter_for(requested: Option<&str>) -> EnvFilter {
    let level = requested
        .and_then(|raw| raw.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let dependency_cap = level.min(LevelFilter::INFO);
    let mut directives = dependency_cap.to_string().to_lowercase();
    for own in OWN_CRATES {
        directives.push_str(&format!(",{own}={}", level.to_string().to_lowercase()));
    }
    EnvFilter::new(directives)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(requested: Option<&str>) -> Vec<String> {
        let mut parts: Vec<String> = filter_for(requested)
            .to_string()
            .split(',')
            .map(str::to_owned)
            .collect();
        parts.sort();
        parts
    }

    #[test]
    fn dependencies_never_go_below_info() {
        assert_eq!(
            directives(Some("trace")),
            [
                "decrypt_phone=trace",
                "info",
                "onlogin=trace",
                "wxlogin=trace"
            ]
        );
    }

    #[test]
    fn quieter_levels_apply_to_everything() {
        assert_eq!(
            directives(Some("WARN")),
            ["decrypt_phone=warn", "onlogin=warn", "warn", "wxlogin=warn"]
        );
    }

    #[test]
    fn unknown_levels_mean_info() {
        assert!(directives(Some("chatty")).contains(&"info".to_owned()));
        assert!(directives(None).contains(&"wxlogin=info".to_owned()));
    }
}
