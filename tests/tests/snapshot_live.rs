//! Live snapshots against the emulator: every layer read, "not found" mapped to absent,
//! a vanished bucket reported as gone.

use aws_sdk_s3::types::{
    AccessControlPolicy, Grant, Grantee, ObjectOwnership, Owner, OwnershipControls,
    OwnershipControlsRule, Permission, PublicAccessBlockConfiguration, Type,
};
use bucketward::aws::s3::{ObjectSampling, SnapshotOptions, SnapshotReader, NO_SUCH_BUCKET};
use bucketward::evaluate;
use bucketward_tests::{Emulator, ACCOUNT_ID};

fn public_read_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    )
}

#[tokio::test]
async fn a_bare_bucket_has_absent_layers_not_errors() {
    let emu = Emulator::connect().await;
    let bucket = emu.create_bucket("bw-bare").await;
    let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
    let snapshot = reader
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert!(snapshot.errors.is_empty(), "{:?}", snapshot.errors);
    assert!(snapshot.policy.is_none());
    assert!(snapshot.website.is_none());
    assert!(snapshot.tags.is_empty());
    assert_eq!(snapshot.region.as_deref(), Some("us-east-1"));
    let acl = snapshot.acl.as_ref().expect("the ACL is always readable");
    assert!(!acl.grants.is_empty());
    assert!(!evaluate(&snapshot).public);
}

#[tokio::test]
async fn a_public_bucket_reads_back_with_every_layer() {
    let emu = Emulator::connect().await;
    let s3 = &emu.clients.s3;
    let bucket = emu.create_bucket("bw-public").await;
    let policy = public_read_policy(&bucket);
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(&policy)
        .send()
        .await
        .expect("policy");
    let acl = s3
        .get_bucket_acl()
        .bucket(&bucket)
        .send()
        .await
        .expect("acl");
    let owner = acl.owner().cloned().expect("owner");
    let owner_id = owner.id().expect("owner id").to_owned();
    let grant =
        |grantee: Grantee, p: Permission| Grant::builder().grantee(grantee).permission(p).build();
    let group = |uri: &str| {
        Grantee::builder()
            .r#type(Type::Group)
            .uri(uri)
            .build()
            .expect("grantee")
    };
    s3.put_bucket_acl()
        .bucket(&bucket)
        .access_control_policy(
            AccessControlPolicy::builder()
                .owner(Owner::builder().id(&owner_id).build())
                .grants(grant(
                    Grantee::builder()
                        .r#type(Type::CanonicalUser)
                        .id(&owner_id)
                        .build()
                        .expect("grantee"),
                    Permission::FullControl,
                ))
                .grants(grant(
                    group("http://acs.amazonaws.com/groups/global/AllUsers"),
                    Permission::Read,
                ))
                .grants(grant(
                    group("http://acs.amazonaws.com/groups/s3/LogDelivery"),
                    Permission::Write,
                ))
                .build(),
        )
        .send()
        .await
        .expect("acl");
    s3.put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(false)
                .block_public_policy(true)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .expect("bpa");
    s3.put_bucket_ownership_controls()
        .bucket(&bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::ObjectWriter)
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("controls"),
        )
        .send()
        .await
        .expect("ownership");
    s3.put_object()
        .bucket(&bucket)
        .key("index.html")
        .content_type("text/html")
        .body(b"<h1>hi</h1>".to_vec().into())
        .send()
        .await
        .expect("object");

    let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
    let snapshot = reader
        .snapshot(
            &bucket,
            None,
            SnapshotOptions {
                objects: ObjectSampling::First(10),
                access_points: false,
                lean: false,
            },
        )
        .await;
    assert!(snapshot.errors.is_empty(), "{:?}", snapshot.errors);
    assert_eq!(
        snapshot.policy.as_ref().map(|p| p.text.as_str()),
        Some(policy.as_str()),
        "policy text byte for byte"
    );
    let bpa = snapshot.public_access_block.expect("bpa read");
    assert!(bpa.block_public_acls && bpa.block_public_policy && !bpa.ignore_public_acls);
    assert!(!snapshot.acls_disabled());
    assert_eq!(snapshot.objects.len(), 1);
    assert_eq!(
        snapshot.objects[0].content_type.as_deref(),
        Some("text/html")
    );

    // BlockPublicPolicy and BlockPublicAcls alone do not neutralise what exists.
    let verdict = evaluate(&snapshot);
    assert!(verdict.public && verdict.policy_is_public && verdict.acl_is_public);
    assert!(verdict.exposure.read && verdict.exposure.list && !verdict.exposure.write);
}

#[tokio::test]
async fn a_deleted_bucket_is_reported_as_gone() {
    let emu = Emulator::connect().await;
    let bucket = emu.create_bucket("bw-gone").await;
    emu.clients
        .s3
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete");
    let reader = SnapshotReader::new(emu.clients.clone(), ACCOUNT_ID);
    let snapshot = reader
        .snapshot(&bucket, None, SnapshotOptions::default())
        .await;
    assert_eq!(snapshot.errors.len(), 1, "{:?}", snapshot.errors);
    assert_eq!(snapshot.errors[0].code, NO_SUCH_BUCKET);
}
