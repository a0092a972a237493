"""The example site's one setting, the API base, is the same for script and no-script visitors."""

from __future__ import annotations

import re
from pathlib import Path

from clinic_infra.local.site import configured_api_base
from clinic_infra.local.stack import DevConfig, LocalStack
from clinic_infra.template import StackTemplate

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


def test_the_deployed_default_article_path_is_the_example_sites_article_page() -> None:
    # js/api.js links each article as `article.html?slug=…`; the template's default must agree,
    # or the feed, the sitemap and canonical URLs of a default deploy point at missing pages.
    link = re.search(
        r"return `([^`]*)\$\{encodeURIComponent\(slug\)\}`", (SITE / "js" / "api.js").read_text()
    )
    assert link is not None
    default = StackTemplate().parameters["ArticlePathPattern"]
    assert default == "/" + link.group(1) + "{slug}"


def test_the_local_stack_links_to_its_own_site_and_api_with_the_defaults_path() -> None:
    stack = LocalStack(DevConfig(api_port=3999, site_port=8999))
    parameters = stack.local_parameters()
    assert "ArticlePathPattern" not in parameters  # the default is the example site's own page
    assert parameters["SiteBaseUrl"] == "http://127.0.0.1:8999"
    assert parameters["ApiBaseUrl"] == "http://127.0.0.1:3999"
    assert parameters["ConsoleUrl"] == "http://127.0.0.1:3999/staff"  # the staff email's links
