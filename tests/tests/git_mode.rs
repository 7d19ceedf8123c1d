//! Git mode end to end: public buckets in the emulator, their Terraform and CloudFormation in
//! real local bare git repositories, and a local GitHub API that checks every request. The
//! pipeline opens one pull request per bucket (and updates it, never a second one), pushes a
//! branch whose patched files parse and evaluate as not public, records the pull request in
//! the audit trail, and leaves the live bucket as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use bucketward::action::{Outcome, Trigger};
use bucketward::audit::store::AuditedStore;
use bucketward::audit::{AuditKind, AuditLog as _, MemoryAuditLog};
use bucketward::aws::remediate::Remediator;
use bucketward::aws::s3::{SnapshotOptions, SnapshotReader};
use bucketward::decide::{CategoryModes, DecideConfig, Mode};
use bucketward::git::{GitConfig, Token};
use bucketward::iac::{fix_repository, FixRequest, SourceFile};
use bucketward::notify::MemoryNotifier;
use bucketward::pipeline::{Pipeline, PipelineConfig};
use bucketward::store::{ActionStore as _, MemoryActionStore, MemoryDedupe};
use bucketward_tests::github::MockGitHub;
use bucketward_tests::{scenario, Emulator, ACCOUNT_ID};

const TOKEN: &str = "ghp_test_token_0123456789";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/iac");

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A bare repository whose `main` holds the fixture folder under `infra/`, with every
/// `acme-` bucket name made unique to this run.
fn bare_repo(root: &Path, fixture: &str, suffix: &str) -> PathBuf {
    let bare = root.join(format!("{fixture}.git"));
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare"]);
    let work = root.join(format!("{fixture}-work"));
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "--quiet", "-b", "main"]);
    copy_tree(
        &Path::new(FIXTURES).join(fixture),
        &work.join("infra"),
        suffix,
    );
    std::fs::write(work.join("README.md"), "infrastructure\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "infrastructure"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main"]);
    bare
}

fn copy_tree(from: &Path, to: &Path, suffix: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, suffix);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(target, text.replace("acme-", &format!("acme-{suffix}-"))).unwrap();
        }
    }
}

/// The files of `branch` in a bare repository, as the fixer reads them.
fn branch_files(bare: &Path, branch: &str) -> Vec<SourceFile> {
    let names = git(bare, &["ls-tree", "-r", "--name-only", branch]);
    names
        .lines()
        .filter(|p| p.starts_with("infra/"))
        .map(|path| SourceFile {
            path: path.to_owned(),
            text: git(bare, &["show", &format!("{branch}:{path}")]),
        })
        .collect()
}

type GitPipeline =
    Pipeline<AuditedStore<MemoryActionStore, MemoryAuditLog>, MemoryDedupe, MemoryNotifier>;

fn pipeline(emu: &Emulator, config: GitConfig) -> GitPipeline {
    Pipeline {
        remediator: Remediator::new(SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID)),
        store: AuditedStore {
            inner: MemoryActionStore::default(),
            audit: Some(MemoryAuditLog::new(b"0123456789abcdef0123".to_vec())),
        },
        dedupe: MemoryDedupe::default(),
        notifier: MemoryNotifier::default(),
        config: PipelineConfig {
            decide: DecideConfig {
                modes: CategoryModes::all(Mode::Git),
                harden_missing_bpa: false,
            },
            snapshot: SnapshotOptions::default(),
            ..PipelineConfig::default()
        },
        exceptions: Vec::new(),
        approval_links: None,
        git: Some(config),
    }
}

fn config(bare: &Path, github: &MockGitHub, token: &str) -> GitConfig {
    GitConfig {
        repository: bare.to_string_lossy().into_owned(),
        base_branch: "main".to_owned(),
        path: "infra".to_owned(),
        github_repository: github.repository.clone(),
        api_url: github.url.clone(),
        token: Token::new(token),
        audit_link: Some("https://audit.example.com/actions/{action_id}".to_owned()),
    }
}

/// An emulator, a bare repository of one fixture (bucket names made unique), the mock GitHub
/// and a git-mode pipeline pointed at them with `token`.
struct Setup {
    emu: Emulator,
    _root: tempfile::TempDir,
    suffix: String,
    bare: PathBuf,
    github: MockGitHub,
    p: GitPipeline,
}

impl Setup {
    /// A fixture bucket's name in this run.
    fn bucket(&self, name: &str) -> String {
        format!("acme-{}-{name}", self.suffix)
    }
}

async fn setup(fixture: &str, repository: &str, token: &str) -> Setup {
    let emu = Emulator::connect().await;
    let root = tempfile::tempdir().unwrap();
    let suffix = Emulator::unique_bucket("g")[2..10].to_owned();
    let bare = bare_repo(root.path(), fixture, &suffix);
    let github = MockGitHub::start(repository, TOKEN).await;
    let p = pipeline(&emu, config(&bare, &github, token));
    Setup {
        emu,
        _root: root,
        suffix,
        bare,
        github,
        p,
    }
}

/// A live bucket public by the mixed policy (public read, partner read, Deny on HTTP).
async fn public_by_policy(emu: &Emulator, bucket: &str) {
    let s3 = &emu.clients.s3;
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(scenario::mixed_policy(bucket))
        .send()
        .await
        .unwrap();
}

/// A live bucket public by its ACL (AllUsers READ).
async fn public_by_acl(emu: &Emulator, bucket: &str) {
    emu.clients
        .s3
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    scenario::put_legacy_acl(&emu.clients.s3, bucket, false).await;
}

/// The patched configuration must parse, evaluate as not public, and need no further fix.
fn assert_patched_is_private(bare: &Path, branch: &str, bucket: &str) {
    let files = branch_files(bare, branch);
    for f in &files {
        if f.path.ends_with(".tf") {
            hcl_parses(&f.text, &f.path);
        } else {
            cfn_lint_clean(&f.text, &f.path);
        }
    }
    let plan = bucketward::plan::Plan::default();
    let request = FixRequest {
        bucket,
        account_id: ACCOUNT_ID,
        plan: &plan,
        allowed: bucketward::policy::ExposureKinds::NONE,
    };
    let again = fix_repository(&files, &request).expect("patched repository parses");
    let patched = again.before.expect("the bucket is still defined");
    let verdict = bucketward::evaluate(&patched);
    assert!(
        !verdict.public && !verdict.has_latent(),
        "{bucket}: the patched configuration is still public: {:#?}",
        verdict.findings
    );
    assert!(
        again.edits.is_empty(),
        "{bucket}: a second fix still changes {:?}",
        again.changes
    );
}

/// cfn-lint (installed by `make setup`) finds no error in a patched template; warnings, such
/// as `AccessControl` being a legacy property, are the fixture's own.
fn cfn_lint_clean(text: &str, path: &str) {
    let lint = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/cfn-lint");
    if !lint.exists() {
        eprintln!("cfn-lint not installed (run `make setup`): {path} checked by parsing only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(Path::new(path).file_name().unwrap());
    std::fs::write(&file, text).unwrap();
    let out = Command::new(lint).arg(&file).output().expect("cfn-lint");
    let code = out.status.code().unwrap_or(-1);
    // cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
    assert!(
        code >= 0 && code & 3 == 0,
        "{path}: cfn-lint found errors in the patched template:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn hcl_parses(text: &str, path: &str) {
    // Parsed by the fixer's own HCL parser through a fix run on the file alone.
    let plan = bucketward::plan::Plan::default();
    let files = vec![SourceFile {
        path: path.to_owned(),
        text: text.to_owned(),
    }];
    let request = FixRequest {
        bucket: "no-such-bucket",
        account_id: ACCOUNT_ID,
        plan: &plan,
        allowed: bucketward::policy::ExposureKinds::NONE,
    };
    fix_repository(&files, &request).unwrap_or_else(|e| panic!("{path}: {e}"));
}

async fn audit_kinds(p: &GitPipeline) -> Vec<(AuditKind, serde_json::Value)> {
    p.store
        .audit
        .as_ref()
        .unwrap()
        .entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.payload))
        .collect()
}

#[tokio::test]
async fn terraform_repository_gets_one_pull_request_per_bucket() {
    let s = setup("terraform", "acme/infra", TOKEN).await;

    let by_policy = s.bucket("public-assets");
    let by_acl = s.bucket("legacy-reports");
    public_by_policy(&s.emu, &by_policy).await;
    public_by_acl(&s.emu, &by_acl).await;
    let live_policy_before = s
        .emu
        .clients
        .s3
        .get_bucket_policy()
        .bucket(&by_policy)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();

    for bucket in [&by_policy, &by_acl] {
        let out =
            s.p.process_bucket(bucket, None, None, Trigger::Sweep)
                .await
                .unwrap();
        assert_eq!(out.outcome, Some(Outcome::PullRequest), "{bucket}: {out:?}");
        assert!(out.notified);
        let branch = format!("bucketward/{bucket}");
        assert!(git(&s.bare, &["branch", "--list", &branch]).contains(&branch));
        assert_patched_is_private(&s.bare, &branch, bucket);
    }

    // The requests GitHub received: authenticated, versioned, one pull per bucket.
    let received = s.github.received();
    assert!(received.iter().all(|r| r.authorization.as_deref()
        == Some(&format!("Bearer {TOKEN}")[..])
        && r.api_version.as_deref() == Some("2022-11-28")));
    let creates: Vec<_> = received.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(creates.len(), 2, "{received:#?}");
    assert!(creates
        .iter()
        .all(|r| r.status == 201 && r.body["base"] == "main"));
    let pulls = s.github.pulls();
    let policy_pr = pulls
        .iter()
        .find(|p| p.head == format!("bucketward/{by_policy}"))
        .unwrap();
    for needle in [
        "**Severity:**",
        "policy.public",
        "statement `PublicRead`",
        "```diff",
        "-      \"Sid\": \"PublicRead\"",
        "after this change, **not public**",
        "https://audit.example.com/actions/act",
        &format!("<!-- bucketward:bucket={by_policy} -->"),
    ] {
        assert!(
            policy_pr.body.contains(needle),
            "body lacks {needle:?}:\n{}",
            policy_pr.body
        );
    }
    assert!(!policy_pr.body.contains(TOKEN));
    // For the README: `BUCKETWARD_PR_BODY_OUT=/tmp/pr.md cargo test --test git_mode`.
    if let Ok(path) = std::env::var("BUCKETWARD_PR_BODY_OUT") {
        let diff = git(
            &s.bare,
            &["diff", "main", &format!("bucketward/{by_policy}")],
        );
        std::fs::write(path, format!("{}\n---\n{diff}", policy_pr.body)).unwrap();
    }

    // The patched Terraform keeps what is not public, as written.
    let main = git(
        &s.bare,
        &["show", &format!("bucketward/{by_policy}:infra/main.tf")],
    );
    assert!(main.contains("Sid       = \"PartnerRead\"") || main.contains("Sid = \"PartnerRead\""));
    assert!(main.contains("# Reviewed 2024-03: the partner account reads the exports prefix."));
    assert!(main.contains("resource \"aws_s3_bucket_public_access_block\" \"assets\""));
    let log = git(
        &s.bare,
        &["log", "--format=%an %s", &format!("bucketward/{by_policy}")],
    );
    assert!(log.starts_with(&format!(
        "bucketward Stop public access to s3://{by_policy}"
    )));

    // Git mode changes nothing in the account.
    let live_policy_after = s
        .emu
        .clients
        .s3
        .get_bucket_policy()
        .bucket(&by_policy)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(live_policy_before, live_policy_after);

    // The audit trail holds the pull requests.
    let prs: Vec<_> = audit_kinds(&s.p)
        .await
        .into_iter()
        .filter(|(k, _)| *k == AuditKind::Pr)
        .collect();
    assert_eq!(prs.len(), 2);
    assert!(prs.iter().any(|(_, payload)| payload["pull_request"]["url"]
        .as_str()
        .is_some_and(|u| u.ends_with("/acme/infra/pull/1"))));

    // The next sweep finds the bucket still public: the open pull request is reused, not
    // duplicated, and nothing is pushed or announced when nothing changed.
    let again =
        s.p.process_bucket(&by_policy, None, None, Trigger::Sweep)
            .await
            .unwrap();
    assert_eq!(again.outcome, Some(Outcome::PullRequest));
    assert!(!again.notified, "an unchanged pull request is not news");
    let received = s.github.received();
    assert_eq!(received.iter().filter(|r| r.method == "POST").count(), 2);
    assert_eq!(received.iter().filter(|r| r.method == "PATCH").count(), 1);
    assert_eq!(s.github.pulls().len(), 2);

    // Once the reviewers close it, the next detection opens a new one.
    s.github.close(policy_pr.number);
    let reopened =
        s.p.process_bucket(&by_policy, None, None, Trigger::Sweep)
            .await
            .unwrap();
    assert_eq!(reopened.outcome, Some(Outcome::PullRequest));
    assert_eq!(s.github.pulls().len(), 3);
}

#[tokio::test]
async fn terraform_policy_document_data_source_is_patched() {
    let s = setup("terraform", "acme/infra", TOKEN).await;
    let bucket = s.bucket("data-exports");
    public_by_policy(&s.emu, &bucket).await;
    let out =
        s.p.process_bucket(&bucket, None, None, Trigger::Manual)
            .await
            .unwrap();
    assert_eq!(out.outcome, Some(Outcome::PullRequest), "{out:?}");
    let branch = format!("bucketward/{bucket}");
    assert_patched_is_private(&s.bare, &branch, &bucket);
    let exports = git(&s.bare, &["show", &format!("{branch}:infra/exports.tf")]);
    assert!(!exports.contains("AnyoneRead"));
    assert!(exports.contains("AnalyticsRole"));
}

#[tokio::test]
async fn cloudformation_repository_gets_pull_requests_for_policy_and_acl() {
    let s = setup("cloudformation", "acme/stacks", TOKEN).await;

    let by_policy = s.bucket("cfn-assets");
    let by_acl = s.bucket("cfn-legacy");
    public_by_policy(&s.emu, &by_policy).await;
    public_by_acl(&s.emu, &by_acl).await;
    for bucket in [&by_policy, &by_acl] {
        let out =
            s.p.process_bucket(bucket, None, None, Trigger::Sweep)
                .await
                .unwrap();
        assert_eq!(out.outcome, Some(Outcome::PullRequest), "{bucket}: {out:?}");
        assert_patched_is_private(&s.bare, &format!("bucketward/{bucket}"), bucket);
    }
    let template = git(
        &s.bare,
        &["show", &format!("bucketward/{by_acl}:infra/template.yaml")],
    );
    assert!(template.contains("AccessControl: Private"));
    assert!(template.contains("# Old reports, shared with a canned ACL."));
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
    assert!(parsed.get("Resources").is_some());
    assert_eq!(s.github.pulls().len(), 2);
}

#[tokio::test]
async fn a_bucket_outside_the_repository_gets_a_new_file_and_says_so() {
    let s = setup("terraform", "acme/infra", TOKEN).await;
    let bucket = s.emu.create_bucket("unmanaged").await;
    scenario::put_legacy_acl(&s.emu.clients.s3, &bucket, false).await;
    let out =
        s.p.process_bucket(&bucket, None, None, Trigger::Sweep)
            .await
            .unwrap();
    assert_eq!(out.outcome, Some(Outcome::PullRequest), "{out:?}");
    let branch = format!("bucketward/{bucket}");
    let file = git(
        &s.bare,
        &["show", &format!("{branch}:infra/bucketward-{bucket}.tf")],
    );
    assert!(file.contains("aws_s3_bucket_public_access_block"));
    hcl_parses(&file, "new.tf");
    let body = &s.github.pulls()[0].body;
    assert!(body.contains("was not found in this repository"), "{body}");
}

#[tokio::test]
async fn a_rejected_token_fails_the_action_without_leaking_it() {
    let wrong = "ghp_wrong_token_9876543210";
    let s = setup("terraform", "acme/infra", wrong).await;
    let bucket = s.bucket("public-assets");
    public_by_policy(&s.emu, &bucket).await;
    let out =
        s.p.process_bucket(&bucket, None, None, Trigger::Sweep)
            .await
            .unwrap();
    assert_eq!(out.outcome, Some(Outcome::Failed));
    let record =
        s.p.store
            .inner
            .load(out.action_id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap();
    let failure = record.failure.unwrap();
    assert!(failure.message.contains("Bad credentials"), "{failure:?}");
    assert!(!failure.message.contains(wrong));
    assert!(s.github.pulls().is_empty());
}

#[tokio::test]
async fn the_propose_pr_command_opens_the_pull_request() {
    let s = setup("cloudformation", "acme/stacks", TOKEN).await;
    let bucket = s.bucket("cfn-legacy");
    public_by_acl(&s.emu, &bucket).await;
    let state = s._root.path().join("state");
    let out = tokio::process::Command::new(bucketward_tests::lambda::binary("bucketward"))
        .args(["propose-pr", &bucket, "--output", "json"])
        .args(["--repo", s.bare.to_str().unwrap(), "--repo-path", "infra"])
        .args([
            "--github-repo",
            "acme/stacks",
            "--github-api",
            &s.github.url,
        ])
        .args(["--state-dir", state.to_str().unwrap()])
        .env("BUCKETWARD_GIT_TOKEN", TOKEN)
        .env("AWS_ENDPOINT_URL", &s.emu.endpoint)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["outcome"], "pull_request", "{outcome}");
    assert!(outcome["pull_request"]
        .as_str()
        .unwrap()
        .ends_with("/acme/stacks/pull/1"));
    assert_patched_is_private(&s.bare, &format!("bucketward/{bucket}"), &bucket);
    // The record was kept with the pull request.
    let id = outcome["action_id"].as_str().unwrap();
    let saved = std::fs::read_to_string(state.join(format!("{id}.json"))).unwrap();
    assert!(saved.contains("\"pull_request\""), "{saved}");
}
