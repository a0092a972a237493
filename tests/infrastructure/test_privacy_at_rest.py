"""Every place a patient's data can rest is encrypted with the stack's customer-managed key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.conftest import resources_of_type

DATA_KEY_ARN = {"Fn::GetAtt": ["DataKey", "Arn"]}
DATA_KEY = {"Ref": "DataKey"}
# Where the key is named, by resource type (the property differs from service to service).
KEY_PROPERTY = {
    "AWS::DynamoDB::Table": lambda props: props["SSESpecification"]["KMSMasterKeyId"],  # and its stream
    "AWS::SQS::Queue": lambda props: props["KmsMasterKeyId"],
    "AWS::SNS::Topic": lambda props: props["KmsMasterKeyId"],
    "AWS::Logs::LogGroup": lambda props: props["KmsKeyId"],
    "AWS::SecretsManager::Secret": lambda props: props["KmsKeyId"],
}


@pytest.mark.parametrize("resource_type", sorted(KEY_PROPERTY))
def test_every_resource_that_can_hold_a_lead_uses_the_data_key(
    translated: dict[str, Any], resource_type: str
) -> None:
    resources = resources_of_type(translated, resource_type)
    assert resources, f"no {resource_type} in the template"
    for name, resource in resources.items():
        assert KEY_PROPERTY[resource_type](resource["Properties"]) in (DATA_KEY_ARN, DATA_KEY), name


def test_the_only_other_store_is_the_public_article_bucket(translated: dict[str, Any]) -> None:
    # The content bucket holds published articles, which are public; SSE-S3 is enough there.
    stores = {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::Kinesis::Stream",
        "AWS::EFS::FileSystem",
    }
    present = {resource["Type"] for resource in translated["Resources"].values()} & stores
    assert present - set(KEY_PROPERTY) == {"AWS::S3::Bucket"}
    assert list(resources_of_type(translated, "AWS::S3::Bucket")) == ["ContentBucket"]
