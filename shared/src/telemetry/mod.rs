//! What the functions tell operators: one log line per request ([`logs`]) and CloudWatch
//! metrics in Embedded Metric Format ([`metrics`]). Names and dimensions are documented in
//! docs/operations.md.

pub mod logs;
pub mod metrics;

/// Installs logging and the metrics recorder; call once, first thing in `main`.
pub fn init() {
    logs::init();
    metrics::init();
}
