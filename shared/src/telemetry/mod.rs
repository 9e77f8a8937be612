//! What the functions tell operators: one log line per request ([`logs`]), CloudWatch
//! metrics in Embedded Metric Format ([`metrics`]), and the record of the request being
//! served that both report ([`current`]). Names and dimensions are documented in docs/operations.md.

pub mod current;
pub mod logs;
pub mod metrics;

/// Installs logging and the metrics recorder for `function`; call once, first thing in
/// `main`.
pub fn init(function: &'static str) {
    logs::init();
    metrics::init(function);
}
