//! What one login code raced across many instances must come to.

use serde_json::Value;

/// Exactly one racer logs in (200) and every other one is refused with 409 `code_used`:
/// `outcomes` holds each racer's HTTP status and JSON body.
pub fn assert_one_winner(outcomes: &[(u16, Value)]) {
    for (status, body) in outcomes {
        if *status != 200 {
            assert_eq!(body["error"], "code_used", "{body}");
        }
    }
    let statuses: Vec<u16> = outcomes.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        outcomes.len() - 1,
        "{statuses:?}"
    );
}
