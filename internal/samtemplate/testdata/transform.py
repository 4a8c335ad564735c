"""Transform a SAM template into CloudFormation JSON, offline.

Usage: python3 transform.py TEMPLATE  (JSON on stdout)

Uses the installed aws-sam-translator, the code CloudFormation itself runs
for the AWS::Serverless-2016-10-31 transform. Like `sam package`, it first
replaces each function's local CodeUri with an S3 URI; the S3 key is the
CodeUri itself (s3://sam-package/functions/proxy/), so the transformed
AWS::Lambda::Function's Code.S3Key names the source directory. Resource
Metadata (BuildMethod) is passed through. The managed-policy loader is a stub:
codexgate's functions use explicit roles, so no managed policy name has to be
resolved to an ARN (a template that needed one would fail to transform).
Exit status 3 means samtranslator is not importable.
"""
import json
import os
import sys

# The translator asks boto3 for a region to fill AWS::Region/AWS::Partition;
# pin one so the output does not depend on the caller's AWS configuration.
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_REGION", None)
os.environ.pop("AWS_PROFILE", None)

try:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as e:  # reported to the Go test, which skips or fails
    print(f"samtranslator not importable: {e}", file=sys.stderr)
    sys.exit(3)


class NoManagedPolicies:
    """Stands in for ManagedPolicyLoader, which would call IAM ListPolicies."""

    def load(self):
        return {}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        uri = props.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(uri, str) and not uri.startswith("s3://"):
            props["CodeUri"] = "s3://sam-package/" + uri
    out = transform(template, {}, NoManagedPolicies(), passthrough_metadata=True)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
