"""The example site's one setting, the API base, is the same for script and no-script visitors."""

from __future__ import annotations

import re
from pathlib import Path

from clinic_infra.local.site import configured_api_base

SITE = Path(__file__).resolve().parents[2] / "site"


def test_the_no_javascript_form_posts_to_the_configured_api() -> None:
    base = configured_api_base(SITE)
    assert base == "https://api.example-clinic.com"
    action = re.search(r'<form[^>]*id="consultation-form"[^>]*>', (SITE / "consult.html").read_text(), re.S)
    assert action is not None
    assert f'action="{base}/consultations"' in action.group(0)


def test_every_page_loads_the_setting_before_its_scripts() -> None:
    for page in ("index.html", "article.html", "consult.html"):
        html = (SITE / page).read_text()
        assert html.index('src="config.js"') < html.index('type="module"'), page
