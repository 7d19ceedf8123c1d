#!/usr/bin/env python3
"""Seed the emulator with N buckets in the mix used by `make bench` (tests/src/bin/bench_sweep.rs).

    bench_peers_seed.py N [--endpoint-url URL] [--threads 32] [--prefix bench-]

For bucket i (named bench-000000, bench-000001, ...):
  i % 20 == 0  public by policy: the mixed policy of tests/src/lib.rs `scenario::mixed_policy`
               (Principal "*" s3:GetObject, a cross-account statement, a Deny on insecure transport)
  i % 20 == 1  public by legacy ACL: owner FULL_CONTROL, AllUsers READ, LogDelivery WRITE and
               READ_ACP (`scenario::put_legacy_acl(.., partner = false)`)
  i % 20 == 2  private, without Block Public Access
  otherwise    private, all four bucket-level Block Public Access flags on

No account-level Block Public Access is set. Prints one JSON line with the expected counts.
Credentials come from the environment (the caller sets testing/testing, us-east-1).
"""

import argparse
import json
import os
import sys
import time
from multiprocessing.pool import ThreadPool

import boto3
from botocore.config import Config

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


def mixed_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                },
                {
                    "Sid": "PartnerRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/partner-reader"},
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        },
        indent=2,
    )


def kind(i: int) -> str:
    return {0: "policy", 1: "acl", 2: "no-bpa"}.get(i % 20, "bpa")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--prefix", default="bench-")
    args = ap.parse_args()
    if not args.endpoint_url:
        print("bench_peers_seed: no --endpoint-url and no AWS_ENDPOINT_URL; refusing to touch real AWS", file=sys.stderr)
        return 2

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint_url,
        region_name="us-east-1",
        config=Config(max_pool_connections=args.threads, retries={"max_attempts": 5}),
    )

    def seed(i: int) -> str:
        b = f"{args.prefix}{i:06d}"
        s3.create_bucket(Bucket=b)
        k = kind(i)
        if k == "policy":
            s3.put_bucket_policy(Bucket=b, Policy=mixed_policy(b))
        elif k == "acl":
            owner = s3.get_bucket_acl(Bucket=b)["Owner"]["ID"]
            s3.put_bucket_acl(
                Bucket=b,
                AccessControlPolicy={
                    "Owner": {"ID": owner},
                    "Grants": [
                        {"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"},
                        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
                        {"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "WRITE"},
                        {"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "READ_ACP"},
                    ],
                },
            )
        elif k == "bpa":
            s3.put_public_access_block(
                Bucket=b,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        return k

    started = time.monotonic()
    with ThreadPool(args.threads) as pool:
        kinds = pool.map(seed, range(args.n))
    counts = {k: kinds.count(k) for k in ("policy", "acl", "no-bpa", "bpa")}
    print(
        json.dumps(
            {
                "buckets": args.n,
                "expected_public": counts["policy"] + counts["acl"],
                "kinds": counts,
                "seconds": round(time.monotonic() - started, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
