//! Every captured event in `fixtures/events/` is read, with the target it names.

use std::path::Path;

use bucketward::event::{ApiCallEvent, Target};

#[test]
fn every_captured_event_is_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("events dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        let event = ApiCallEvent::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        count += 1;
        match name.as_str() {
            "put_account_public_access_block" | "delete_account_public_access_block" => {
                assert_eq!(event.target, Target::Account, "{name}");
            }
            "create_access_point" => assert_eq!(
                event.target,
                Target::AccessPoint {
                    name: "example-ap".into(),
                    bucket: Some("example-bucket".into())
                }
            ),
            "put_access_point_policy" => assert_eq!(
                event.target,
                Target::AccessPoint {
                    name: "example-ap".into(),
                    bucket: None
                }
            ),
            "put_object_acl" => assert_eq!(
                event.target,
                Target::Object {
                    bucket: "example-bucket".into(),
                    key: "reports/q3.pdf".into()
                }
            ),
            "put_bucket_acl" => assert_eq!(event.bucket(), Some("DOC-EXAMPLE-BUCKET1")),
            _ => assert_eq!(event.bucket(), Some("example-bucket"), "{name}"),
        }
        assert_eq!(
            event.error_code.is_some(),
            name.starts_with("failed_"),
            "{name}"
        );
        assert!(!event.event_id.is_empty());
    }
    assert!(count >= 15, "found {count} event fixtures");
}
