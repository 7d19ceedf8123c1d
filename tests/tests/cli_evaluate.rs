//! `bucketward evaluate` and `classify` on good and bad input: exit codes, stdin, formats, and
//! messages that name the file and the JSON path of the problem.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use bucketward_tests::lambda::binary;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(binary("bucketward"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("output")
}

const PUBLIC: &str = r#"{"Bucket":"b","Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}]}","PublicAccessBlock":{"BlockPublicPolicy":true}}"#;
const PRIVATE: &str = r#"{"Bucket":"b","Policy":null,"PublicAccessBlock":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}"#;

#[test]
fn prints_the_verdict_and_exits_0() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.json");
    std::fs::write(&path, PUBLIC).expect("write");
    let out = run(&["evaluate", &path.to_string_lossy()], None);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("verdict json");
    assert_eq!(v["public"], true);
    assert_eq!(v["exposure"]["read"], true);
    assert_eq!(v["findings"][0]["code"], "policy.public_principal");
    assert_eq!(
        v["severity"], "high",
        "public read of a bucket of unknown intent"
    );
    assert_eq!(v["intent"], "unknown");
}

#[test]
fn fail_on_public_exits_3_only_when_public() {
    assert_eq!(
        run(&["evaluate", "-", "--fail-on-public"], Some(PUBLIC))
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        run(&["evaluate", "-", "--fail-on-public"], Some(PRIVATE))
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn the_table_format_is_for_people() {
    let out = run(&["evaluate", "-", "--format", "table"], Some(PUBLIC));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("public now        yes") && text.contains("policy.public_principal"),
        "{text}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_file_and_the_path() {
    let out = run(&["evaluate", "/nonexistent/snapshot.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/snapshot.json"));

    let out = run(
        &["evaluate", "-"],
        Some(r#"{"Bucket":"b","Acl":{"Grants":[{"Grantee":{"Type":"Group"},"Permission":7}]}}"#),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("<stdin>") && err.contains("Acl.Grants[0].Permission"),
        "{err}"
    );

    let out = run(
        &["evaluate", "-"],
        Some(r#"{"Bucket":"b","Policy":"{not json"}"#),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Policy"));

    let out = run(&["evaluate", "-"], Some("[]"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn classify_reports_intent_with_reasons() {
    let snapshot =
        r#"{"Bucket":"acme-cdn-assets","Website":{"IndexDocument":{"Suffix":"index.html"}}}"#;
    let out = run(&["classify", "-"], Some(snapshot));
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["intent"], "public-content");
    assert!(!v["reasons"].as_array().expect("reasons").is_empty());
}
