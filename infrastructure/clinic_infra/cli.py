"""The `clinic` command: `clinic publish` for editors, `clinic dev` for the local stack,
`clinic doctor` to check that leads will reach staff, `clinic lead show` to read a lead,
`clinic staff add` for staff accounts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from clinic_infra.content import ContentError
from clinic_infra.publish import DEFAULT_PREFIX, publish

if TYPE_CHECKING:
    from clinic_infra.stack_view import StackView


def _publish(args: argparse.Namespace) -> int:
    try:
        publish(args.content_dir, args.bucket, prefix=args.prefix, dry_run=args.dry_run)
    except ContentError as error:
        print("Nothing was published: fix these articles first.", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"Publishing failed talking to S3: {error}", file=sys.stderr)
        return 3
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from clinic_infra.openapi import DOCUMENT_PATH, render_document, write_document

    if args.check:
        current = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
        if current != render_document():
            print(f"{DOCUMENT_PATH} differs from the code; run `clinic openapi`", file=sys.stderr)
            return 1
        return 0
    print(f"wrote {write_document()}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    import json

    from clinic_infra.template import load_template, translate

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(translate(load_template()), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def _dev(args: argparse.Namespace) -> int:
    from clinic_infra.local.stack import run_dev  # the local stack needs the dev extra

    return run_dev(args)


def _doctor(args: argparse.Namespace) -> int:
    from clinic_infra.doctor import run_doctor
    from clinic_infra.stack_view import StackLookupError, deployed_stack, local_stack

    view: StackView
    try:
        if args.local:
            view = local_stack(args.api_url or "http://127.0.0.1:3000", args.aws_url)
        else:
            view = deployed_stack(args.stack, api_url=args.api_url)
    except StackLookupError as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    timeout = args.test_lead_timeout if args.send_test_lead else None
    return run_doctor(view, test_lead_timeout=timeout)


def _stack_view(args: argparse.Namespace) -> StackView:
    from clinic_infra.stack_view import deployed_stack, local_stack

    if args.local:
        return local_stack(args.api_url or "http://127.0.0.1:3000", args.aws_url)
    return deployed_stack(args.stack, api_url=args.api_url or "")


def _lead_show(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from clinic.leads.record import read_reference
    from clinic_infra.leads import lead_text, leads_with_reference
    from clinic_infra.stack_view import StackLookupError

    try:
        reference = read_reference(args.reference)
    except ValueError as error:
        print(f"✗ {error}", file=sys.stderr)
        return 2
    try:
        view = _stack_view(args)
        table = view.physical_id("LeadsTable")
        zone = ZoneInfo(view.parameters.get("ClinicTimeZone") or "America/New_York")
        leads = list(leads_with_reference(view.client("dynamodb"), table, reference))
    except StackLookupError as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"✗ Reading the leads table failed: {error}", file=sys.stderr)
        return 3
    if not leads:
        print(f"No lead has the reference {reference} (it may have expired or been erased).", file=sys.stderr)
        return 1
    if len(leads) > 1:
        print(f"{len(leads)} leads share the reference {reference}; each is shown, oldest first.\n")
    print("\n\n".join(lead_text(lead, zone) for lead in leads))
    return 0


def _staff_code(args: argparse.Namespace) -> int:
    from clinic_infra.staff_users import totp_code

    try:
        print(totp_code(args.secret))
    except ValueError:
        print("✗ that is not a base32 TOTP secret", file=sys.stderr)
        return 2
    return 0


def _staff_add(args: argparse.Namespace) -> int:
    import boto3

    from clinic_infra.staff_users import add_staff

    try:
        pool = boto3.client("cloudformation").describe_stack_resource(
            StackName=args.stack, LogicalResourceId="StaffUserPool"
        )["StackResourceDetail"]["PhysicalResourceId"]
        add_staff(boto3.client("cognito-idp"), pool, args.email, admin=args.admin)
    except (BotoCoreError, ClientError) as error:
        print(f"✗ the user was not added: {error}", file=sys.stderr)
        return 1
    role = "staff and admin" if args.admin else "staff"
    print(f"✓ {args.email} added to {pool} ({role}); Cognito emails them a temporary password.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clinic", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    publish_cmd = commands.add_parser("publish", help="validate content/ and publish it to S3")
    publish_cmd.add_argument("--bucket", required=True, help="the stack's ContentBucketName output")
    publish_cmd.add_argument("--content-dir", type=Path, default=Path("content"))
    publish_cmd.add_argument("--prefix", default=DEFAULT_PREFIX, help=argparse.SUPPRESS)
    publish_cmd.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    publish_cmd.set_defaults(run=_publish)

    openapi_cmd = commands.add_parser("openapi", help="write openapi.json from the code")
    openapi_cmd.add_argument(
        "--check", action="store_true", help="fail if openapi.json differs from the code"
    )
    openapi_cmd.set_defaults(run=_openapi)

    translate_cmd = commands.add_parser("translate", help="write the SAM-translated template, offline")
    translate_cmd.add_argument("--output", type=Path, default=Path("build/template.translated.json"))
    translate_cmd.set_defaults(run=_translate)

    doctor_cmd = commands.add_parser(
        "doctor",
        help="check that leads will reach staff (a checklist; exit status 1 on any ✗)",
        description="Check that leads will reach staff: each line ✓, ✗ with its fix, or ○ (not "
        "checkable locally). Exit status 1 on any ✗.",
    )
    target = doctor_cmd.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--stack", metavar="NAME", help="a deployed stack (boto3's own credentials and region)"
    )
    target.add_argument("--local", action="store_true", help="the local stack that `make dev` runs")
    doctor_cmd.add_argument(
        "--api-url", help="the HTTP API (default: the stack's ApiUrl output; locally http://127.0.0.1:3000)"
    )
    doctor_cmd.add_argument(
        "--aws-url", default="http://127.0.0.1:5000", help="the local stack's embedded AWS (--local only)"
    )
    doctor_cmd.add_argument(
        "--send-test-lead",
        action="store_true",
        help="post a lead marked as a test, wait until staff are emailed, then delete it",
    )
    doctor_cmd.add_argument(
        "--test-lead-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for the test lead's staff email (default 120)",
    )
    doctor_cmd.set_defaults(run=_doctor)

    lead_cmd = commands.add_parser("lead", help="read leads (staff with AWS access to the stack)")
    lead_commands = lead_cmd.add_subparsers(dest="lead_command", required=True)
    show_cmd = lead_commands.add_parser(
        "show",
        help="print the lead behind a reference, such as K7M4-QX2P",
        description="Print the whole lead behind a reference from a staff email or a patient's call. "
        "Needs dynamodb:Scan and dynamodb:GetItem on the leads table "
        "and kms:Decrypt on the stack's data key.",
    )
    show_cmd.add_argument("reference", help="the reference, in any case, with or without its hyphen")
    show_target = show_cmd.add_mutually_exclusive_group(required=True)
    show_target.add_argument(
        "--stack", metavar="NAME", help="a deployed stack (boto3's own credentials and region)"
    )
    show_target.add_argument("--local", action="store_true", help="the local stack that `make dev` runs")
    show_cmd.add_argument(
        "--api-url", help="the local stack's HTTP API (--local; default http://127.0.0.1:3000)"
    )
    show_cmd.add_argument(
        "--aws-url", default="http://127.0.0.1:5000", help="the local stack's embedded AWS (--local only)"
    )
    show_cmd.set_defaults(run=_lead_show)

    staff_cmd = commands.add_parser("staff", help="manage the staff inbox's users")
    staff_commands = staff_cmd.add_subparsers(dest="staff_command", required=True)
    add_cmd = staff_commands.add_parser(
        "add", help="add a user to a deployed stack's staff pool; Cognito emails a temporary password"
    )
    add_cmd.add_argument("email", help="the staff member's email address (their username)")
    add_cmd.add_argument(
        "--admin", action="store_true", help="also an administrator (export, erasure, audit)"
    )
    add_cmd.add_argument("--stack", required=True, metavar="NAME", help="the deployed stack")
    add_cmd.set_defaults(run=_staff_add)
    code_cmd = staff_commands.add_parser(
        "code", help="print the current sign-in code for a TOTP secret (what an authenticator app shows)"
    )
    code_cmd.add_argument("secret", help="the base32 secret, e.g. one `clinic dev` printed")
    code_cmd.set_defaults(run=_staff_code)

    dev_cmd = commands.add_parser("dev", help="run the whole product locally against an embedded AWS")
    from clinic_infra.local.options import add_dev_options

    add_dev_options(dev_cmd)
    dev_cmd.set_defaults(run=_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
