"""The local stack's Time to Live: what moto records but never does, done as DynamoDB does it."""

from __future__ import annotations

from typing import Any

import boto3

from clinic_infra.local.ttl import TimeToLive, ttl_attributes
from clinic_infra.template import StackTemplate

NOW = 1_900_000_000.0


def put_lead(dynamodb: Any, table: str, lead_id: str, expires_at: int | None) -> None:
    item = {"id": {"S": lead_id}}
    if expires_at is not None:
        item["expires_at"] = {"N": str(expires_at)}
    dynamodb.put_item(TableName=table, Item=item)


def lead_ids(dynamodb: Any, table: str) -> set[str]:
    return {item["id"]["S"] for item in dynamodb.scan(TableName=table)["Items"]}


def test_ttl_tables_are_the_templates_tables_with_ttl(stack: StackTemplate) -> None:
    dynamodb = boto3.client("dynamodb")

    found = ttl_attributes(dynamodb)

    with_ttl = {
        stack.physical_name(logical_id): resource["Properties"]["TimeToLiveSpecification"]["AttributeName"]
        for logical_id, resource in stack.of_type("AWS::DynamoDB::Table").items()
        if resource["Properties"].get("TimeToLiveSpecification", {}).get("Enabled")
    }
    assert found == with_ttl
    assert found[stack.refs["LeadsTable"]] == "expires_at"


def test_ttl_deletes_a_lead_past_its_retention_and_keeps_the_rest(stack: StackTemplate) -> None:
    dynamodb = boto3.client("dynamodb")
    table = stack.refs["LeadsTable"]
    put_lead(dynamodb, table, "EXPIRED", int(NOW) - 1)
    put_lead(dynamodb, table, "CURRENT", int(NOW) + 86_400)
    put_lead(dynamodb, table, "NO-EXPIRY", None)
    logged: list[str] = []

    deleted = TimeToLive(dynamodb, logged.append, clock=lambda: NOW).sweep()

    assert deleted == 1
    assert lead_ids(dynamodb, table) == {"CURRENT", "NO-EXPIRY"}
    assert any("1 expired item(s) deleted" in line for line in logged)


def test_ttl_pages_through_a_table_larger_than_one_scan(stack: StackTemplate) -> None:
    dynamodb = boto3.client("dynamodb")
    table = stack.refs["LeadsTable"]
    padding = "x" * 20_000  # 60 items of 20 KB: more than one 1 MB scan page
    for number in range(60):
        dynamodb.put_item(
            TableName=table,
            Item={
                "id": {"S": f"LEAD{number}"},
                "expires_at": {"N": str(int(NOW) - 10)},
                "padding": {"S": padding},
            },
        )

    deleted = TimeToLive(dynamodb, lambda _: None, clock=lambda: NOW).sweep()

    assert deleted == 60
    assert lead_ids(dynamodb, table) == set()
