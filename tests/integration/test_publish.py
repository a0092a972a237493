"""`clinic publish`: validate everything first, then upload only what changed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from clinic.articles.models import PublishedIndex
from clinic_infra.cli import main
from clinic_infra.content import ContentError
from clinic_infra.provision import provision
from clinic_infra.publish import publish
from clinic_infra.template import StackTemplate
from tests.helpers import article_markdown, write_content


def _keys(bucket: str) -> set[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def _index(bucket: str) -> PublishedIndex:
    body = boto3.client("s3").get_object(Bucket=bucket, Key="published/index.json")["Body"].read()
    return PublishedIndex.model_validate_json(body)


@pytest.fixture
def bucket(stack: StackTemplate) -> str:
    return str(stack.refs["ContentBucket"])


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return write_content(
        tmp_path / "content",
        {"first": article_markdown("first", tags=["depression"]), "second": article_markdown("second")},
    )


def _silent(_: str) -> None:
    pass


def test_publish_uploads_each_article_and_the_indexes_as_json(bucket: str, content: Path) -> None:
    publish(content, bucket, say=_silent)
    assert _keys(bucket) == {
        "published/articles/first.json",
        "published/articles/second.json",
        "published/index.json",
        "published/feed.json",
    }
    head = boto3.client("s3").head_object(Bucket=bucket, Key="published/articles/first.json")
    assert head["ContentType"] == "application/json; charset=utf-8"


def test_bad_article_uploads_nothing(bucket: str, content: Path) -> None:
    # Given a published site and then one good edit and one broken article
    publish(content, bucket, say=_silent)
    before = {key: boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"] for key in _keys(bucket)}
    (content / "articles" / "first.md").write_text(article_markdown("first", title="Edited title"))
    (content / "articles" / "broken.md").write_text(article_markdown("broken").replace("summary:", "sumary:"))
    # When publishing
    with pytest.raises(ContentError) as raised:
        publish(content, bucket, say=_silent)
    # Then the error names the file and field, and the bucket is exactly as it was
    assert any("broken.md" in problem and "summary" in problem for problem in raised.value.problems)
    after = {key: boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"] for key in _keys(bucket)}
    assert after == before


def test_unchanged_articles_are_not_uploaded_again(
    bucket: str, content: Path, boto_hooks: Callable[[str, Callable[..., Any]], None]
) -> None:
    publish(content, bucket, say=_silent)
    puts: list[str] = []
    boto_hooks("before-parameter-build.s3.PutObject", lambda params, **_: puts.append(params["Key"]))
    report = publish(content, bucket, s3_client=boto3.client("s3"), say=_silent)
    assert puts == []
    assert report.uploaded == []
    assert len(report.unchanged) == 4


def test_an_edited_article_uploads_only_it_and_the_indexes(bucket: str, content: Path) -> None:
    publish(content, bucket, say=_silent)
    (content / "articles" / "second.md").write_text(article_markdown("second", title="A better title"))
    report = publish(content, bucket, say=_silent)
    # "first" shares no tag with "second", so its JSON (related list) is unchanged.
    assert set(report.uploaded) == {
        "published/articles/second.json",
        "published/index.json",
        "published/feed.json",
    }
    assert [summary.title for summary in _index(bucket).articles if summary.slug == "second"] == [
        "A better title"
    ]


def test_removed_article_disappears(bucket: str, content: Path) -> None:
    publish(content, bucket, say=_silent)
    (content / "articles" / "second.md").unlink()
    report = publish(content, bucket, say=_silent)
    assert report.deleted == ["published/articles/second.json"]
    assert "published/articles/second.json" not in _keys(bucket)
    assert [summary.slug for summary in _index(bucket).articles] == ["first"]


def test_dry_run_says_what_would_change_and_changes_nothing(bucket: str, content: Path) -> None:
    lines: list[str] = []
    report = publish(content, bucket, dry_run=True, say=lines.append)
    assert _keys(bucket) == set()
    assert len(report.uploaded) == 4
    assert any(line.startswith("would upload s3://") for line in lines)


def test_cli_exits_non_zero_naming_file_and_field(
    bucket: str, content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (content / "articles" / "second.md").write_text(article_markdown("second", published_at="yesterday"))
    code = main(["publish", "--bucket", bucket, "--content-dir", str(content)])
    err = capsys.readouterr().err
    assert code == 1
    assert "second.md" in err
    assert "published_at" in err
    assert _keys(bucket) == set()


def test_cli_publishes_to_the_endpoint_in_aws_endpoint_url(aws_credentials: None, content: Path) -> None:
    # Given an embedded AWS reachable only through AWS_ENDPOINT_URL
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        stack = provision(StackTemplate(), lambda name: boto3.client(name, endpoint_url=endpoint))
        bucket = stack.refs["ContentBucket"]
        # When the installed `clinic` command publishes with boto3's own configuration
        clinic = str(Path(sys.executable).parent / "clinic")
        result = subprocess.run(  # noqa: S603
            [clinic, "publish", "--bucket", bucket, "--content-dir", str(content)],
            env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
            capture_output=True,
            text=True,
            check=False,
        )
        # Then the objects are in that endpoint's bucket and the command said what it did
        assert result.returncode == 0, result.stderr
        assert "4 uploaded, 0 unchanged, 0 deleted" in result.stdout
        assert len(s3.list_objects_v2(Bucket=bucket)["Contents"]) == 4
    finally:
        server.stop()
