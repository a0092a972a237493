"""The template's resources have the properties the clinic relies on."""

from __future__ import annotations

from typing import Any

from tests.infrastructure.conftest import resources_of_type

NAME_PROPERTIES = {
    "BucketName",
    "TableName",
    "FunctionName",
    "TopicName",
    "QueueName",
    "LogGroupName",
    "RoleName",
}


def test_no_resource_has_a_hard_coded_name(template: dict[str, Any]) -> None:
    for name, resource in template["Resources"].items():
        assert not NAME_PROPERTIES & set(resource.get("Properties", {})), name


def test_every_function_runs_python313_on_arm64_with_the_powertools_layer(template: dict[str, Any]) -> None:
    defaults = template["Globals"]["Function"]
    assert defaults["Runtime"] == "python3.13"
    assert defaults["Architectures"] == ["arm64"]
    (layer,) = defaults["Layers"]
    assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:" in layer["Fn::Sub"]
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        assert "Runtime" not in function["Properties"], f"{name} overrides the runtime"
        assert function["Metadata"]["BuildMethod"] == "makefile", name


def test_every_function_logs_to_its_own_group_with_retention(template: dict[str, Any]) -> None:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    used = set()
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups, name
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        used.add(group)
    assert len(used) == len(resources_of_type(template, "AWS::Serverless::Function"))


def test_content_bucket_is_private_versioned_encrypted(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["ContentBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}


def test_content_bucket_refuses_requests_without_tls(template: dict[str, Any]) -> None:
    policy = template["Resources"]["ContentBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ContentBucket"}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["ContentBucket", "Arn"]},
        {"Fn::Sub": "${ContentBucket.Arn}/*"},
    ]


def test_http_api_cors_allows_only_the_configured_origins(template: dict[str, Any]) -> None:
    api = template["Resources"]["HttpApi"]["Properties"]
    cors = api["DefinitionBody"]["x-amazon-apigateway-cors"]
    assert cors["allowOrigins"] == {"Ref": "AllowedOrigins"}
    assert "*" not in template["Parameters"]["AllowedOrigins"]["Default"]
    assert template["Parameters"]["AllowedOrigins"]["AllowedPattern"].startswith("^https?://")


def test_http_api_stage_is_throttled_and_access_logged_without_client_addresses(
    template: dict[str, Any],
) -> None:
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
    }
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "sourceIp" not in api["AccessLogSettings"]["Format"]
    assert "userAgent" not in api["AccessLogSettings"]["Format"]


def test_article_routes_are_explicit(translated: dict[str, Any]) -> None:
    paths = translated["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    assert {path: sorted(methods) for path, methods in paths.items() if path != "/consultations"} == {
        "/articles": ["get"],
        "/articles/{slug}": ["get"],
        "/tags": ["get"],
        "/feed.json": ["get"],
        "/sitemap.xml": ["get"],
    }


def test_outputs_give_the_api_url_and_bucket_name(template: dict[str, Any]) -> None:
    assert template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://${HttpApi}.execute-api.")
    assert template["Outputs"]["ContentBucketName"]["Value"] == {"Ref": "ContentBucket"}
