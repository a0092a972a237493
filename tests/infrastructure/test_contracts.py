"""What the code's single owners name is what template.yaml deploys (YAML cannot import them)."""

from __future__ import annotations

import json
from typing import Any

from clinic.articles.published import PUBLISHED_PREFIX
from clinic.leads import record


def _role(template: dict[str, Any], function: str) -> dict[str, Any]:
    """The IAM role the function runs with (its own resource, named by the function's Role)."""
    role: dict[str, Any] = template["Resources"][
        template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    ]
    return role


def test_the_leads_table_has_the_key_index_and_ttl_the_lead_record_names(template: dict[str, Any]) -> None:
    table = template["Resources"]["LeadsTable"]["Properties"]
    assert [key["AttributeName"] for key in table["KeySchema"]] == [record.KEY]
    (index,) = [
        index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] == record.PENDING_INDEX
    ]
    assert [key["AttributeName"] for key in index["KeySchema"]] == [record.NOTIFY_STATE, record.CREATED_AT]
    assert table["TimeToLiveSpecification"]["AttributeName"] == record.EXPIRES_AT
    # The sweeper's role may query that index, by its name
    assert f"${{LeadsTable.Arn}}/index/{record.PENDING_INDEX}" in json.dumps(
        _role(template, "SweeperFunction")
    )


def test_the_articles_function_reads_and_may_read_only_the_published_prefix(template: dict[str, Any]) -> None:
    function = template["Resources"]["ArticlesFunction"]["Properties"]
    assert function["Environment"]["Variables"]["CONTENT_PREFIX"] == PUBLISHED_PREFIX
    assert f"${{ContentBucket.Arn}}/{PUBLISHED_PREFIX}*" in json.dumps(_role(template, "ArticlesFunction"))
