use serde_json::Value;

use super::*;
use crate::evaluate;
use crate::plan::Step;

const ACCOUNT: &str = "123456789012";

fn repo(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

fn terraform_repo() -> Vec<SourceFile> {
    repo(&[
        (
            "main.tf",
            include_str!("../../../tests/fixtures/iac/terraform/main.tf"),
        ),
        (
            "exports.tf",
            include_str!("../../../tests/fixtures/iac/terraform/exports.tf"),
        ),
    ])
}

fn cfn_repo() -> Vec<SourceFile> {
    repo(&[
        (
            "template.yaml",
            include_str!("../../../tests/fixtures/iac/cloudformation/template.yaml"),
        ),
        (
            "json/uploads.json",
            include_str!("../../../tests/fixtures/iac/cloudformation/json/uploads.json"),
        ),
    ])
}

fn ownership_plan() -> Plan {
    Plan {
        bucket: String::new(),
        steps: vec![Step {
            change: Change::PutOwnership {
                object_ownership: "BucketOwnerEnforced".to_owned(),
            },
            summary: "Disable ACLs".to_owned(),
            before: Value::Null,
            after: Value::Null,
            diff: String::new(),
        }],
        notes: Vec::new(),
    }
}

fn run(files: &[SourceFile], bucket: &str, plan: &Plan) -> IacFix {
    let request = FixRequest {
        bucket,
        account_id: ACCOUNT,
        plan,
        allowed: ExposureKinds::NONE,
    };
    fix_repository(files, &request).unwrap()
}

fn edited<'f>(fix: &'f IacFix, path: &str) -> &'f str {
    &fix.edits.iter().find(|e| e.path == path).unwrap().after
}

fn assert_fixed(fix: &IacFix) {
    let before = evaluate(fix.before.as_ref().unwrap());
    let after = evaluate(fix.after.as_ref().unwrap());
    assert!(before.public, "the fixture should start public: {before:?}");
    assert!(
        !after.public && !after.has_latent(),
        "still public after the fix: {:?}\n{:#?}",
        fix.changes,
        after.findings
    );
}

#[test]
fn terraform_jsonencode_policy_loses_only_its_public_statement() {
    let files = terraform_repo();
    let fix = run(&files, "acme-public-assets", &Plan::default());
    assert_eq!(fix.format, Some(IacFormat::Terraform));
    assert_fixed(&fix);
    let main = edited(&fix, "main.tf");
    // Comments and untouched resources are byte for byte where they were.
    assert!(main.contains("# Reviewed 2024-03: the partner account reads the exports prefix."));
    assert!(main.contains("    team = \"web\" # owned by the web team\n"));
    assert!(main.contains("acl    = \"public-read\" # TODO: who needs this?"));
    assert!(!main.contains("PublicRead"));
    // The statements kept are byte for byte as written, references and alignment included.
    let original = include_str!("../../../tests/fixtures/iac/terraform/main.tf");
    let kept = &original[original
        .find("      {\n        Sid       = \"PartnerRead\"")
        .unwrap()..original.find("    ]\n  })").unwrap()];
    assert!(main.contains(kept), "{main}");
    assert!(main.contains("    Statement = [\n      {\n        Sid       = \"PartnerRead\""));
    assert!(main.contains("resource \"aws_s3_bucket_public_access_block\" \"assets\""));
    assert!(hcl_edit::parser::parse_body(main).is_ok());
    assert!(fix
        .changes
        .iter()
        .any(|c| c.contains("remove statement PublicRead")));
}

#[test]
fn terraform_canned_acl_becomes_private_and_bpa_flags_are_completed() {
    let files = terraform_repo();
    let fix = run(&files, "acme-legacy-reports", &Plan::default());
    assert_fixed(&fix);
    let main = edited(&fix, "main.tf");
    assert!(main.contains("acl    = \"private\" # TODO: who needs this?"));
    assert!(main.contains("  block_public_acls   = true\n  block_public_policy = true\n"));
    assert!(main.contains("  ignore_public_acls = true\n  restrict_public_buckets = true\n}"));
    // The policy of the other bucket is not touched.
    assert!(main.contains("Sid       = \"PublicRead\""));
}

#[test]
fn terraform_policy_document_data_source_loses_its_public_statement_block() {
    let files = terraform_repo();
    let fix = run(&files, "acme-data-exports", &Plan::default());
    assert_fixed(&fix);
    let exports = edited(&fix, "exports.tf");
    assert!(!exports.contains("AnyoneRead"));
    assert!(!exports.contains("Anyone may list and read"));
    assert!(exports.contains("sid       = \"AnalyticsRole\""));
    assert!(exports.contains("// Data exports for analytics partners."));
    assert!(exports.contains("block_public_policy     = true"));
}

#[test]
fn terraform_ownership_controls_are_added_when_the_plan_disables_acls() {
    let files = terraform_repo();
    let fix = run(&files, "acme-legacy-reports", &ownership_plan());
    assert_fixed(&fix);
    let main = edited(&fix, "main.tf");
    assert!(!main.contains("resource \"aws_s3_bucket_acl\" \"reports\""));
    assert!(main.contains("resource \"aws_s3_bucket_ownership_controls\" \"reports\""));
    assert!(main.contains("object_ownership = \"BucketOwnerEnforced\""));
}

#[test]
fn heredoc_and_inline_v3_policies_are_patched_in_their_own_form() {
    let text = r#"resource "aws_s3_bucket" "b" {
  bucket = "heredoc-bucket"
  acl    = "public-read-write"
}

resource "aws_s3_bucket_policy" "b" {
  bucket = "heredoc-bucket"
  policy = <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::111122223333:root"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::heredoc-bucket/*"}
  ]
}
POLICY
}
"#;
    let files = repo(&[("s3.tf", text)]);
    let fix = run(&files, "heredoc-bucket", &Plan::default());
    assert_fixed(&fix);
    let after = edited(&fix, "s3.tf");
    assert!(after.contains("policy = <<POLICY\n{"));
    assert!(after.contains("\"AWS\": [\n"));
    assert!(after.contains("\"arn:aws:iam::111122223333:root\""));
    assert!(!after.contains("\"*\""));
    assert!(after.contains("acl    = \"private\""));
    assert!(fix
        .changes
        .iter()
        .any(|c| c.contains("narrow statement Open")));
}

#[test]
fn a_policy_with_only_public_statements_is_removed() {
    let text = r#"resource "aws_s3_bucket" "b" {
  bucket = "only-public"
}

# Make it public.
resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "${aws_s3_bucket.b.arn}/*" }]
  })
}
"#;
    let files = repo(&[("s3.tf", text)]);
    let fix = run(&files, "only-public", &Plan::default());
    assert_fixed(&fix);
    let after = edited(&fix, "s3.tf");
    assert!(!after.contains("aws_s3_bucket_policy"));
    assert!(!after.contains("Make it public"));
    assert!(after.contains("resource \"aws_s3_bucket\" \"b\""));
}

#[test]
fn a_bucket_no_resource_defines_gets_a_new_clearly_named_file() {
    let files = terraform_repo();
    let fix = run(&files, "somebody-elses-bucket", &Plan::default());
    assert_eq!(fix.format, None);
    assert_eq!(fix.edits.len(), 1);
    assert_eq!(fix.edits[0].path, "bucketward-somebody-elses-bucket.tf");
    assert!(fix.edits[0].before.is_none());
    assert!(hcl_edit::parser::parse_body(&fix.edits[0].after).is_ok());
    assert!(fix.notes[0].contains("No `aws_s3_bucket`"));

    let cfn = run(&cfn_repo(), "somebody-elses-bucket", &Plan::default());
    assert_eq!(cfn.edits[0].path, "bucketward-somebody-elses-bucket.yaml");
    assert!(cfn.edits[0].after.contains("DeletionPolicy: Retain"));
}

#[test]
fn a_bucket_defined_twice_is_refused() {
    let text = "resource \"aws_s3_bucket\" \"a\" {\n  bucket = \"twice\"\n}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"twice\"\n}\n";
    let files = repo(&[("a.tf", text)]);
    let request = FixRequest {
        bucket: "twice",
        account_id: ACCOUNT,
        plan: &Plan::default(),
        allowed: ExposureKinds::NONE,
    };
    let err = fix_repository(&files, &request).unwrap_err();
    assert!(err.to_string().contains("defined 2 times"), "{err}");
}

#[test]
fn malformed_hcl_is_named() {
    let files = repo(&[("broken.tf", "resource \"aws_s3_bucket\" \"a\" {\n")]);
    let request = FixRequest {
        bucket: "x",
        account_id: ACCOUNT,
        plan: &Plan::default(),
        allowed: ExposureKinds::NONE,
    };
    let err = fix_repository(&files, &request).unwrap_err();
    assert!(
        err.to_string().contains("`broken.tf` does not parse"),
        "{err}"
    );
}

#[test]
fn cloudformation_yaml_keeps_comments_and_tags() {
    let fix = run(&cfn_repo(), "acme-cfn-assets", &Plan::default());
    assert_eq!(fix.format, Some(IacFormat::CloudFormation));
    assert_fixed(&fix);
    let after = edited(&fix, "template.yaml");
    assert!(after.contains("Description: Marketing site buckets # kept by the web team\n"));
    assert!(after.contains("  # The site's static assets.\n"));
    assert!(after.contains("  # Old reports, shared with a canned ACL.\n"));
    assert!(after.contains("AccessControl: PublicRead # set in 2019"));
    assert!(!after.contains("PublicRead\n            Effect"));
    assert!(after.contains("Sid: DeployRole"));
    assert!(after.contains("!Sub arn:aws:iam::${AWS::AccountId}:role/deploy"));
    assert!(
        after.contains("      PublicAccessBlockConfiguration:\n        BlockPublicAcls: true\n")
    );
    assert!(after.contains("      Bucket: !Ref AssetsBucket\n"));
}

#[test]
fn cloudformation_canned_acl_becomes_private() {
    let fix = run(&cfn_repo(), "acme-cfn-legacy", &Plan::default());
    assert_fixed(&fix);
    let after = edited(&fix, "template.yaml");
    assert!(after.contains("      AccessControl: Private\n"));
    assert!(after.contains("      VersioningConfiguration:\n        Status: Enabled\n"));
    assert!(after.contains("    DeletionPolicy: Retain\n"));
}

#[test]
fn cloudformation_json_narrows_a_mixed_principal() {
    let fix = run(&cfn_repo(), "acme-cfn-uploads", &ownership_plan());
    assert_fixed(&fix);
    let after = edited(&fix, "json/uploads.json");
    let value: Value = serde_json::from_str(after).unwrap();
    let statement =
        &value["Resources"]["UploadsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"]["AWS"],
        serde_json::json!(["arn:aws:iam::111122223333:root"])
    );
    assert_eq!(
        statement["Resource"]["Fn::Join"][1][0],
        serde_json::json!({"Fn::GetAtt": ["UploadsBucket", "Arn"]})
    );
    assert_eq!(
        value["Resources"]["UploadsBucket"]["Properties"]["OwnershipControls"]["Rules"][0]
            ["ObjectOwnership"],
        "BucketOwnerEnforced"
    );
    assert!(after.starts_with("{\n    \"AWSTemplateFormatVersion\""));
}

#[test]
fn an_exception_keeps_what_it_allows() {
    let files = terraform_repo();
    let request = FixRequest {
        bucket: "acme-public-assets",
        account_id: ACCOUNT,
        plan: &Plan::default(),
        allowed: ExposureKinds {
            read: true,
            ..ExposureKinds::NONE
        },
    };
    let fix = fix_repository(&files, &request).unwrap();
    assert!(fix.edits.is_empty(), "{:?}", fix.changes);
}

#[test]
fn yaml_outline_follows_indentation() {
    let text = "A:\n  B:\n    C: 1\n    # note\n  D: 2\nE: 3\n";
    assert_eq!(
        cloudformation::outline_find_for_tests(text, &["A", "B"]).as_deref(),
        Some("  B:\n    C: 1\n")
    );
    assert_eq!(
        cloudformation::outline_find_for_tests(text, &["A", "D"]).as_deref(),
        Some("  D: 2\n")
    );
}

#[test]
fn json_renders_as_hcl() {
    let value =
        serde_json::json!({"Version": "1", "Statement": [{"aws:x": ["a", "${b.c}"]}], "n": null});
    assert_eq!(
        terraform::render_for_tests(&value),
        "{\n  Version = \"1\"\n  Statement = [\n    {\n      \"aws:x\" = [\"a\", b.c]\n    },\n  ]\n  n = null\n}"
    );
}

#[test]
fn a_jsonencode_mixed_principal_is_narrowed_in_place() {
    let text = r#"resource "aws_s3_bucket" "b" {
  bucket = "mixed-principal"
}

resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "Mixed" # partner and, by mistake, everyone
      Effect    = "Allow"
      Principal = { AWS = ["*", "arn:aws:iam::111122223333:root"] }
      Action    = "s3:GetObject"
      Resource  = "${aws_s3_bucket.b.arn}/*"
    }]
  })
}
"#;
    let files = repo(&[("s3.tf", text)]);
    let fix = run(&files, "mixed-principal", &Plan::default());
    assert_fixed(&fix);
    let after = edited(&fix, "s3.tf");
    assert!(after.contains("      Sid       = \"Mixed\" # partner and, by mistake, everyone\n"));
    assert!(
        after.contains(
            "      Principal = {\n        AWS = [\"arn:aws:iam::111122223333:root\"]\n      }\n"
        ),
        "{after}"
    );
    assert!(fix
        .changes
        .iter()
        .any(|c| c.contains("narrow statement Mixed")));
}
