//! Walks `fixtures/exposure/`: each file holds a snapshot, the verdict AWS semantics demand, and
//! a one-line reason citing the rule.

use bucketward::{evaluate, Snapshot, Verdict};
use serde_json::Value;

/// Compares the verdict with the fixture's expectations; returns the mismatches.
fn check(verdict: &Verdict, expect: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let actual = serde_json::to_value(verdict).unwrap_or(Value::Null);
    for key in ["policy_is_public", "acl_is_public", "public"] {
        if let Some(want) = expect.get(key) {
            if actual.get(key) != Some(want) {
                errors.push(format!("{key}: expected {want}, got {}", actual[key]));
            }
        }
    }
    if let Some(want) = expect.get("exposure").and_then(Value::as_object) {
        for (kind, value) in want {
            if actual["exposure"].get(kind) != Some(value) {
                errors.push(format!(
                    "exposure.{kind}: expected {value}, got {}",
                    actual["exposure"][kind]
                ));
            }
        }
    }
    match expect.get("latent") {
        Some(Value::Bool(want)) => {
            let got = verdict.latent.any();
            if got != *want {
                errors.push(format!("latent (any): expected {want}, got {got}"));
            }
        }
        Some(Value::Object(want)) => {
            for (kind, value) in want {
                if actual["latent"].get(kind) != Some(value) {
                    errors.push(format!(
                        "latent.{kind}: expected {value}, got {}",
                        actual["latent"][kind]
                    ));
                }
            }
        }
        _ => {}
    }
    let codes: Vec<&str> = verdict.findings.iter().map(|f| f.code.as_str()).collect();
    for code in expect
        .get("codes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !codes.contains(&code) {
            errors.push(format!("code `{code}` missing; got {codes:?}"));
        }
    }
    for code in expect
        .get("absent_codes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if codes.contains(&code) {
            errors.push(format!("code `{code}` present but should be absent"));
        }
    }
    errors
}

#[test]
fn exposure_fixtures_match_aws_semantics() {
    let fixtures = bucketward_tests::json_fixtures("exposure");
    assert!(
        fixtures.len() >= 150,
        "expected at least 150 fixtures, found {}",
        fixtures.len()
    );

    let mut failures = Vec::new();
    for (name, fixture) in &fixtures {
        let reason = fixture["reason"].as_str().unwrap_or_default();
        assert!(
            !reason.is_empty(),
            "{name}: every fixture states its reason"
        );
        assert!(
            fixture["expect"].get("public").is_some(),
            "{name}: expect.public is required"
        );
        let snapshot = match Snapshot::from_json(&fixture["snapshot"].to_string()) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{name}: snapshot rejected: {e}"));
                continue;
            }
        };
        let verdict = evaluate(&snapshot);
        for error in check(&verdict, &fixture["expect"]) {
            failures.push(format!("{name}: {error}  [{reason}]"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
