"""Every id on a page is unique (WCAG 4.1.1 / 1.3.1): a duplicate id sends a label, an error
summary link or aria-describedby to the wrong control. The crawl of test_sentinels visits every
GET route for every role, full page and htmx fragment, on the seeded borough."""
import re
from collections import Counter

import pytest
from test_sentinels import ROLES, crawl, seeded  # noqa: F401  (seeded is the crawl's fixture)

ID = re.compile(r'\sid\s*=\s*["\']([^"\']+)["\']')
# Markup the ids are read from: comments and <template> contents are not part of the page.
COMMENT = re.compile(r"<!--.*?-->", re.S)


def duplicate_ids(html: str) -> list[str]:
    counts = Counter(ID.findall(COMMENT.sub("", html)))
    return sorted(i for i, n in counts.items() if n > 1)


def test_the_check_would_catch_a_duplicate():
    page = '<label for="agency">A</label><select id="agency"></select><select id="agency"></select>'
    assert duplicate_ids(page) == ["agency"]
    assert duplicate_ids('<p id="a"></p><!-- <p id="a"></p> --><p id="b"></p>') == []


@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_has_a_duplicate_id(app, seeded, role):  # noqa: F811
    received, _ = crawl(app, seeded, role)
    found = {url: dups for url, text in received if (dups := duplicate_ids(text))}
    assert not found, f"duplicate ids: {found}"
