"""Logging rules every function follows."""

from __future__ import annotations

import logging

# At DEBUG these log whole requests (botocore logs every API call's parameters, including a
# lead's fields). Patients' details must never reach the logs, whatever the log level.
SDK_LOGGERS = ("botocore", "boto3", "urllib3", "aws_lambda_powertools")


def keep_sdk_logs_quiet() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
