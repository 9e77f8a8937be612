//! What the functions tell operators: one log line per request ([`logs`]) and CloudWatch
//! metrics in Embedded Metric Format ([`metrics`]). Names and dimensions are documented in
//! docs/operations.md.

pub mod logs;
pub mod metrics;

/// Installs logging and the metrics recorder for `function`; call once, first thing in
/// `main`.
pub fn init(function: &'static str) {
    logs::init();
    metrics::init(function);
}
