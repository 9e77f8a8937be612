//! README.md's walk against docs/api.md: every field and error code an answer in the walk
//! shows is documented in the API reference. `make test` runs the walk itself and compares
//! each answer; this keeps the two documents from drifting apart.

use std::collections::BTreeSet;

use devkit::dynamodb_local::workspace_root;
use serde_json::Value;

fn read(name: &str) -> String {
    std::fs::read_to_string(workspace_root().join(name)).unwrap()
}

/// The `# {…}` answers of the walk between README.md's markers, `…` made a string.
fn walk_answers(readme: &str) -> Vec<Value> {
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("the walk's start");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("the walk's end");
    readme[start..end]
        .lines()
        .filter_map(|line| line.split_once("# {").map(|(_, rest)| format!("{{{rest}")))
        .map(|json| {
            let quoted = json.replace(":…", ":\"…\"").replace("\"…\"\"", "\"…\"");
            serde_json::from_str(&quoted).unwrap_or_else(|err| panic!("{json}: {err}"))
        })
        .collect()
}

/// Every key, at any depth, and every `error` code of `answer`.
fn names(answer: &Value, found: &mut BTreeSet<String>) {
    if let Value::Object(map) = answer {
        for (key, value) in map {
            found.insert(key.clone());
            if key == "error"
                && let Some(code) = value.as_str()
            {
                found.insert(code.to_owned());
            }
            names(value, found);
        }
    }
}

#[test]
fn every_field_and_code_the_walk_shows_is_in_the_api_reference() {
    let answers = walk_answers(&read("README.md"));
    assert!(
        answers.len() >= 5,
        "the walk shows its answers: {answers:?}"
    );
    let mut shown = BTreeSet::new();
    for answer in &answers {
        names(answer, &mut shown);
    }
    assert!(
        shown.contains("token") && shown.contains("invalid_token"),
        "{shown:?}"
    );
    let api = read("docs/api.md");
    let undocumented: Vec<_> = shown
        .iter()
        .filter(|name| !api.contains(&format!("\"{name}\"")) && !api.contains(&format!("`{name}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "README.md's walk shows what docs/api.md does not document: {undocumented:?}"
    );
}
