"""What the code's single owners name is what template.yaml deploys (YAML cannot import them)."""

from __future__ import annotations

import json
from typing import Any

from clinic.leads import record


def test_the_leads_table_has_the_key_index_and_ttl_the_lead_record_names(template: dict[str, Any]) -> None:
    table = template["Resources"]["LeadsTable"]["Properties"]
    assert [key["AttributeName"] for key in table["KeySchema"]] == [record.KEY]
    (index,) = [
        index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] == record.PENDING_INDEX
    ]
    assert [key["AttributeName"] for key in index["KeySchema"]] == [record.NOTIFY_STATE, record.CREATED_AT]
    assert table["TimeToLiveSpecification"]["AttributeName"] == record.EXPIRES_AT
    # The sweeper may query that index, by its name
    sweeper = json.dumps(template["Resources"]["SweeperFunction"]["Properties"]["Policies"])
    assert f"${{LeadsTable.Arn}}/index/{record.PENDING_INDEX}" in sweeper
