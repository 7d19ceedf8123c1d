#!/usr/bin/env python3
"""Expand a SAM template into plain CloudFormation, offline, for linting.

cfn-lint 1.x lints a SAM template without running the SAM transform, so it does not check what
SAM generates (IAM roles and their policies, event rules, permissions) nor references to those
resources. This runs the transform locally and prints the expanded template as JSON:

    .venv/bin/python scripts/sam-transform.py template.yaml > .aws-sam/transformed.json
    .venv/bin/cfn-lint .aws-sam/transformed.json

No AWS call is made: AWS managed policies must be given by ARN, not by name.
"""

import json
import sys

import boto3
from cfnlint.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    template, matches = decode(path)
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        return 1
    # Local code paths are uploaded by `sam build/deploy`; stand in an S3 location, as `sam validate` does.
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(props, dict):
            continue
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            value = props.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                props[key] = "s3://bucket/" + value.strip("./").replace("/", "-")
    translator = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name="us-east-1"),
    )
    try:
        output = translator.translate(template, parameter_values={})
    except InvalidDocumentException as err:
        for cause in err.causes:
            print(f"{path}: {cause.message}", file=sys.stderr)
        return 1
    json.dump(output, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
