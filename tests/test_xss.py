"""XSS (SECURITY.md check 15): a payload corpus stored in every free-text field renders escaped in every
page and htmx fragment, is echoed escaped by forms that re-render what was typed, and is written as
literal text into Word documents. (A real browser's check is in tests/e2e/test_security_e2e.py.)"""
import json
import zipfile
from io import BytesIO

import pytest
from marac_testing import make_referral
from security_world import docx_text, signed_in_client, url_for_rule
from xss_corpus import DANGEROUS, PAYLOADS, poisoned_world

from marac.models import Referral

ROLES = "CHRFO"


@pytest.fixture
def world(app, fake_clock):
    w = poisoned_world(app)
    # A draft the referrer is still writing, every section full of payloads.
    existing = json.loads(Referral.get_by_id(w.values["referral_id"]).data)
    draft = make_referral(author=w.users["F"], status="draft", data=existing, instrument_id="dash")
    w.values["draft_id"] = draft.id
    w.values["open_listing_id"] = w.objects["open_listing"].id
    return w


def assert_escaped(url: str, body: str) -> None:
    found = [d for d in DANGEROUS if d in body]
    assert not found, f"{url} renders {found} unescaped"


def _crawl(app, world, role):
    client = signed_in_client(app, world, role)
    bodies = []
    value_sets = [world.values, {**world.values, "listing_id": world.values["open_listing_id"]}]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.logout"):
            continue
        for url in sorted({url_for_rule(rule, v) for v in value_sets}):
            for headers in ({}, {"HX-Request": "true"}):
                r = client.get(url, headers=headers)
                if r.headers.get("Content-Type", "").startswith("text/"):
                    body = r.get_data(as_text=True)
                    assert_escaped(url, body)
                    bodies.append(body)
                r.close()
    return client, bodies


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_and_fragment_escapes_the_corpus(app, world, role):
    client, bodies = _crawl(app, world, role)
    if role == "F":
        from marac.referrals import sections, settings

        rules = settings.panel_rules()
        for section in sections(rules):
            url = f"/referrals/{world.values['draft_id']}/section/{section.slug}"
            for headers in ({}, {"HX-Request": "true"}):
                body = client.get(url, headers=headers).get_data(as_text=True)
                assert_escaped(url, body)
                bodies.append(body)
        for page in ("tasks", "check"):
            body = client.get(f"/referrals/{world.values['draft_id']}/{page}").get_data(as_text=True)
            assert_escaped(page, body)
            bodies.append(body)
    everything = "\n".join(bodies)
    # Not vacuous: the payloads are there, as text.
    assert "&lt;script&gt;alert(&#34;xss1&#34;)&lt;/script&gt;" in everything


def test_forms_echo_what_was_typed_escaped(app, world):
    client = signed_in_client(app, world, "C")
    case_id, v = world.values["case_id"], world.values
    for payload in PAYLOADS:
        pages = [
            client.post(f"/cases/{case_id}/notes/new", data={"text": payload}),  # no category: re-rendered
            client.post("/cases/", data={"name": payload, "number": payload}),
            client.post("/cases/", data={"name": payload}, headers={"HX-Request": "true"}),
            client.post(f"/cases/{case_id}/close", data={"reason": "other", "text": ""}),
            client.post(f"/actions/{v['action_id']}/cannot", data={"text": payload}),
            client.post(f"/governance/cases/{case_id}/releases/new", data={"requester_name": payload,
                                                                            "detail": payload}),
            client.post("/admin/agencies/new", data={"name": payload, "kind": "nonsense"}),
            client.post(f"/meetings/{v['meeting_id']}/run/cases/{v['listing_id']}/discussion",
                        data={"summary": payload, "decision": "nonsense"}, headers={"HX-Request": "true"}),
        ]
        for r in pages:
            assert r.status_code < 500
            assert_escaped(r.request.path, r.get_data(as_text=True))


def test_word_documents_hold_the_payloads_as_literal_text(app, world):
    client = signed_in_client(app, world, "C")
    v = world.values
    texts = []
    r = client.post(f"/governance/people/{v['person_id']}/subject-access")
    assert r.status_code == 200
    texts.append(docx_text(r.data))
    r = client.get(f"/meetings/{v['meeting_id']}/run/minutes/word")
    assert r.status_code == 200
    texts.append(docx_text(r.data))
    r = client.get(f"/meetings/{v['meeting_id']}/agenda.docx")
    assert r.status_code == 200
    texts.append(docx_text(r.data))
    r = client.post(f"/cases/{v['case_id']}/transfer", data={"area": PAYLOADS[0]})
    assert r.status_code == 200
    with zipfile.ZipFile(BytesIO(r.data)) as archive:
        texts += [docx_text(archive.read(name)) for name in archive.namelist()]
    joined = "\n".join(texts)
    # python-docx writes text, never markup: the payloads come back exactly as stored.
    assert PAYLOADS[0] in joined and PAYLOADS[1] in joined
