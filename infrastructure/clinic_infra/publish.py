"""`clinic publish`: validate every article, then sync the published JSON to S3.

Only changed objects are uploaded (their MD5 against S3's ETag, which is the MD5 of a
single-part upload to an SSE-S3 bucket), articles before the index that lists them,
and objects whose article left `content/` are deleted last.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from clinic.articles.published import PUBLISHED_PREFIX
from clinic_infra.content import build_objects, load_site

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_PREFIX = PUBLISHED_PREFIX  # what the articles function reads
CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass
class PublishReport:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _existing_etags(s3: S3Client, bucket: str, prefix: str) -> dict[str, str]:
    etags: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            etags[item["Key"]] = item["ETag"].strip('"')
    return etags


def publish(
    content_dir: Path,
    bucket: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    dry_run: bool = False,
    s3_client: S3Client | None = None,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> PublishReport:
    """Publish `content_dir` to `bucket`; raises ContentError before any upload if an article is bad."""
    site = load_site(content_dir)
    objects = build_objects(site, now or datetime.now(UTC))
    s3 = s3_client or boto3.client("s3")
    existing = _existing_etags(s3, bucket, prefix)
    report = PublishReport()
    verb = "would " if dry_run else ""

    for relative_key, body in objects.items():
        key = prefix + relative_key
        if existing.get(key) == _md5(body):
            report.unchanged.append(key)
            continue
        change = "changed" if key in existing else "new"
        if not dry_run:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
        report.uploaded.append(key)
        say(f"{verb}upload s3://{bucket}/{key} ({change})")

    removed = sorted(set(existing) - {prefix + key for key in objects})
    for start in range(0, len(removed), 1000):
        batch = removed[start : start + 1000]
        if not dry_run:
            s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
        for key in batch:
            say(f"{verb}delete s3://{bucket}/{key}")
    report.deleted = removed

    say(
        f"{'Dry run: ' if dry_run else ''}{len(site.articles)} articles; "
        f"{len(report.uploaded)} {verb}uploaded, {len(report.unchanged)} unchanged, "
        f"{len(report.deleted)} {verb}deleted."
    )
    return report
