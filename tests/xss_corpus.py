"""An XSS payload corpus, and a borough whose every free-text field holds one (SECURITY.md check 15).

Fields are written straight into the database (past any form validation), so what is tested is the
output: every page, fragment and document must show the payloads as text."""
import json
from itertools import cycle

from security_world import build_world

PAYLOADS = [
    '<script>alert("xss1")</script>',
    '"><img src=x onerror=alert("xss2")>',
    "'><svg onload=alert('xss3')>",
    '</textarea><script>alert("xss4")</script>',
    '<a href="javascript:alert(5)">xss5</a>',
    '" hx-get="/logout" hx-trigger="load" x="',
    "<iframe srcdoc='<script>alert(7)</script>'></iframe>",
    '{{ 7*7 }}{% raw %}xss8',
    "javascript:alert('xss9')",
    "<style>body{display:none}</style>xss10",
]
# What must never appear in an HTML response (the payloads as markup, or a template evaluated).
DANGEROUS = [
    '<script>alert("xss1")', '<img src=x onerror', "<svg onload", '</textarea><script>', '<a href="javascript:',
    'hx-get="/logout" hx-trigger="load"', "<iframe srcdoc", "49{% raw %}", "<style>body{display:none}",
    'href="javascript:', "href='javascript:", 'src="javascript:',
]


def free_text_fields() -> dict:
    """Model -> the columns that hold free text typed by a user (the XSS corpus goes into each);
    tests/test_security_review.py checks that every TextField of the models is here or explained."""
    from marac import models as m

    return {
        m.Agency: ["isa_signatory", "dpo_contact"], m.User: ["name"],
        m.Person: ["given_name", "family_name", "address", "ethnicity", "gender_identity", "sexual_orientation"],
        m.Note: ["text"], m.Document: ["title", "filename"], m.Action: ["description", "completion_note"],
        m.ActionUpdate: ["text"], m.CaseEvent: ["text"],
        m.Research: ["victim_info", "perpetrator_info", "children_info"], m.SharedInfo: ["text"],
        m.CaseDiscussion: ["risk_victim", "risk_children", "risk_others", "risk_staff", "victim_views", "summary",
                           "decision_note"],
        m.MinutesAmendment: ["text"], m.MeetingRecord: ["notes", "statement"], m.Meeting: ["venue"],
        m.Listing: ["emergency_reason"], m.MoveRequest: ["note"],
        m.Attendance: ["name", "organisation", "decision_reason"],
        m.Referral: ["decision_reason", "coordinator_comment", "qa_reason", "transfer_area", "criteria_met"],
        m.ReleaseRequest: ["requester_name", "requester_organisation", "detail", "decision_reason"],
        m.RetentionDecision: ["reason"], m.ViewReason: ["reason"], m.PersonAlias: ["given_name", "family_name"],
        m.ActionReview: ["reason"], m.ReferralAmendment: ["reason"],
    }


def poison(app, world):
    """Put a payload into every free-text field of the seeded borough (and the panel settings), then
    circulate the agenda and sign off the minutes so their frozen copies hold payloads too."""
    from marac import meetings, minutes, settings
    from marac import models as m

    payloads = cycle(PAYLOADS)
    # Rows for the free-text columns the seeded borough has none of (issue 8 review).
    m.ReferralAmendment.create(referral=world.objects["referral"], user=world.users["C"], reason="x")
    action = m.Action.select().where(m.Action.case == world.objects["case"].id).first()
    m.ActionReview.create(meeting=world.objects["meeting"], action=action, outcome="carried", reason="x",
                          user=world.users["C"])
    for model, names in free_text_fields().items():
        for row in model.select():
            for name in names:
                setattr(row, name, next(payloads))
            row.save()
    for agency in m.Agency.select():  # unique names: a payload plus the id
        m.Agency.update(name=f"{next(payloads)} {agency.id}").where(m.Agency.id == agency.id).execute()
    for referral in m.Referral.select():
        data = json.loads(referral.data or "{}")
        for person in data.get("people", []):
            for key in ("given_name", "family_name", "aliases", "address", "school"):
                person[key] = next(payloads)
        data.update(current_risk=next(payloads), actions_taken=next(payloads),
                    incident={"date": "", "description": next(payloads), "background": next(payloads),
                              "police_reference": next(payloads)},
                    safe_contact={"phone": next(payloads), "times": next(payloads), "safe_to_post": "no",
                                  "safe_address": next(payloads), "notes": next(payloads)},
                    consent={"status": "given", "reason": next(payloads)},
                    barriers={"interpreter": "yes", "language": next(payloads), "disability_needs": next(payloads),
                              "other": next(payloads)})
        m.Referral.update(data=json.dumps(data)).where(m.Referral.id == referral.id).execute()
    chair = world.users["H"]
    with app.app_context():
        settings.set_many({"panel_name": PAYLOADS[0], "meeting_venue": PAYLOADS[1],
                           "confidentiality_statement": PAYLOADS[2]}, world.users["C"])
        meeting = world.objects["meeting"]
        meetings.circulate(m.Meeting.get_by_id(meeting.id), world.users["C"])
        minutes.sign_off(m.Meeting.get_by_id(meeting.id), chair)
    return world


def poisoned_world(app):
    return poison(app, build_world(app))
