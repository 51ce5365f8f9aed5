"""A fictional borough with a known set of cases, meetings, attendance, research and actions for the
report tests (tests/test_reports.py, tests/e2e/test_reports_e2e.py). No tests here: import seed().

The period under test is April to June 2026 (quarter 2), with meetings on its first and last days
and on the days just outside, referrals sent either side of the UK midnights that bound it, and
actions due on its first and last days. "Today" is 10 July 2026. Every expected figure is in
EXPECTED, worked out by hand from the rows below (the comments say which rows make each one).
All names are invented.
"""
from datetime import date, datetime
from types import SimpleNamespace

from marac_testing import make_agency, make_person, make_user

from marac import settings
from marac.models import (
    Action,
    Attendance,
    Case,
    CasePerson,
    Listing,
    ListingInvite,
    Meeting,
    Referral,
    Research,
)

TODAY_UTC = datetime(2026, 7, 10, 9, 0)
MEMBER = {"isa_signed_on": date(2025, 1, 6), "isa_signatory": "A Signatory"}
POPULATION = 100_000

# Quarter 2 2026. Hearings: M1 (1 Apr) c1 c2 c3 [c4 review, not counted]; M2 (13 May) c5 c6; M3 (30 Jun) c7 c1.
EXPECTED = {
    "heard": 7, "full": 5, "information": 1, "closed": 1, "review": 1, "repeat": 4, "repeat_rate": 57.1,
    "children": 4, "children_count": 8, "police": 4, "partner": 2, "no_referral": 1, "meetings": 3,
    "bame": 4, "lgbt": 2, "disability": 1, "male": 2, "victim_16_17": 2, "perpetrator_under_18": 1,
    "timed": 6, "avg_days": 14.2, "median_days": 12.0, "max_days": 30,
    "days_0_7": 1, "days_8_14": 4, "days_15_28": 0, "days_29": 1,
}
# One row per meeting of the quarter, in SAFELIVES_COLUMNS order: heard, children, repeat, police, partner,
# not recorded, BAME, LGBT+, disability, male, 16-17, perpetrators under 18.
SAFELIVES = [
    (date(2026, 4, 1), [3, 2, 1, 1, 2, 0, 1, 1, 1, 1, 2, 1]),
    (date(2026, 5, 13), [2, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0]),
    (date(2026, 6, 30), [2, 5, 2, 2, 0, 0, 2, 0, 0, 1, 0, 0]),
]
SAFELIVES_TOTAL = [7, 8, 4, 4, 2, 1, 4, 2, 1, 2, 2, 1]
# name: (expected, present, deputy, apologies, absent, written, rate)
ATTENDANCE = {
    "Anytown Children's Services": (2, 1, 0, 0, 1, 0, 50.0),
    "Anytown Community Charity": (0, 1, 0, 0, 0, 0, None),
    "Anytown Health Trust": (2, 1, 0, 0, 1, 0, 50.0),
    "Anytown Homes": (3, 1, 0, 1, 1, 0, 33.3),
    "Anytown IDVA Service": (3, 1, 2, 0, 0, 0, 100.0),
    "Anytown Police": (3, 2, 0, 1, 0, 1, 66.7),
}
# name: (cases listed, researched, nothing known, written, not researched, rate)
RESEARCH = {
    "Anytown Children's Services": (5, 4, 0, 1, 1, 80.0),
    "Anytown Health Trust": (3, 0, 0, 0, 3, 0.0),
    "Anytown Homes": (7, 3, 0, 0, 4, 42.9),
    "Anytown IDVA Service": (8, 5, 1, 0, 3, 62.5),
    "Anytown Police": (8, 8, 2, 0, 0, 100.0),
}
# name: (due, on time, late, cannot, open past due, not yet due, on time %)
ACTIONS = {
    "Anytown Homes": (3, 0, 1, 2, 0, 0, 0.0),
    "Anytown IDVA Service": (3, 1, 0, 1, 1, 0, 33.3),
    "Anytown Police": (3, 2, 1, 0, 0, 0, 66.7),
}
ACTIONS_TOTAL = (9, 3, 2, 3, 1, 0, 33.3)
# name: (received, accepted, declined, waiting/returned/transferred, cases heard from its referrals)
REFERRALS = {
    "Anytown Police (police)": (5, 4, 0, 1, 4),
    "Anytown Health Trust": (0, 0, 0, 0, 1),
    "Anytown Homes": (2, 0, 1, 1, 1),
}
# side: (received, accepted at QA, declined at QA, awaiting QA)
PROFESSIONAL_JUDGEMENT = {"Police": (2, 2, 0, 0), "Partner agencies": (2, 0, 1, 1), "All agencies": (4, 2, 1, 1)}
# Expected cases = 40 x 100,000 / 10,000 x 91 / 365 = 99.7; rate = 7 x 10,000 / 100,000 x 365 / 91 = 2.8.
BENCHMARK = {"expected": 99.7, "rate": 2.8, "of_benchmark": 7.0}


def _person(given, family, dob=None, **equality):
    return make_person(given, family, date_of_birth=dob, **equality)


def _case(number, victim, perpetrator, children=0):
    case = Case.create(number=number, status="heard")
    CasePerson.create(case=case, person=victim, role="victim")
    CasePerson.create(case=case, person=perpetrator, role="perpetrator")
    for i in range(children):
        CasePerson.create(case=case, person=_person("Kit", f"{number.replace('-', '')}Child{i}",
                                                    date(2019, 1, 1)), role="child")
    return case


def _referral(author, case, submitted_at, status="accepted", **kw):
    return Referral.create(author=author, agency=author.agency_id, case=case, status=status,
                           submitted_at=submitted_at, **kw)


def _attend(meeting, agency, capacity, status="present", user=None, name="A Fictional Attendee", **kw):
    return Attendance.create(meeting=meeting, agency=agency, user=user, name=name, capacity=capacity, status=status,
                             **kw)


def seed(coordinator=None) -> SimpleNamespace:
    """Create the borough; returns its agencies, users, cases, meetings and listings by name."""
    s = SimpleNamespace()
    s.police = make_agency("Anytown Police", is_police=True, **MEMBER)
    s.idva = make_agency("Anytown IDVA Service", **MEMBER)
    s.housing = make_agency("Anytown Homes", **MEMBER)
    s.health = make_agency("Anytown Health Trust", isa_signed_on=date(2026, 5, 1), isa_signatory="A Signatory")
    s.childrens = make_agency("Anytown Children's Services", withdrawn_on=date(2026, 6, 1), **MEMBER)
    s.charity = make_agency("Anytown Community Charity", kind="referrer")
    s.team = make_agency("MARAC Team", kind="referrer")
    s.coordinator = coordinator or make_user("coordinator", agency=s.team, name="Casey Coordinator")
    s.chair = make_user("chair", agency=s.police, name="Chris Chair")
    s.rep = {a: make_user("representative", agency=getattr(s, a), name=f"Rep {a.title()}")
             for a in ("police", "idva", "housing", "health", "childrens", "charity")}
    s.deputy_idva = make_user("representative", agency=s.idva, name="Dee Deputy", is_deputy=True)
    s.referrer = {a: make_user("referrer", agency=getattr(s, a), name=f"Referrer {a.title()}")
                  for a in ("police", "housing", "health")}
    adult = date(1990, 1, 1)

    # People and cases. Equality codes as the referral form stores them (marac.referrals).
    c = {}
    c[1] = _case("RC-0001", _person("Ama", "Testone", date(2008, 6, 30), sex="female", ethnicity="black"),
                 _person("Ben", "Testone", adult, sex="male"), children=2)  # 17 on 1 Apr, 18 on 30 Jun
    c[2] = _case("RC-0002", _person("Cal", "Testtwo", date(1985, 3, 3), sex="male", ethnicity="white_british",
                                    disability="yes"),
                 _person("Dan", "Testtwo", date(2008, 4, 2), sex="male"))  # perpetrator 17 on 1 Apr
    c[3] = _case("RC-0003", _person("Eve", "Testthree", date(2010, 4, 1), sex="female", ethnicity="white_british",
                                    sexual_orientation="bisexual"),
                 _person("Fay", "Testthree", adult, sex="female"))  # victim 16 on 1 Apr
    c[4] = _case("RC-0004", _person("Gil", "Testfour", adult, sex="male", ethnicity="black"),
                 _person("Hal", "Testfour", adult))  # a review listing: never counted
    c[5] = _case("RC-0005", _person("Ida", "Testfive", date(1992, 2, 2), sex="female", ethnicity="asian",
                                    gender_identity="different"),
                 _person("Jon", "Testfive", adult), children=1)
    c[6] = _case("RC-0006", _person("Kay", "Testsix", date(2008, 5, 13), sex="female", ethnicity="white_other"),
                 _person("Lee", "Testsix", date(2008, 5, 13), sex="male"))  # both 18 on the day of M2
    c[7] = _case("RC-0007", _person("Max", "Testseven", date(1980, 7, 7), sex="male", ethnicity="mixed"),
                 _person("Nia", "Testseven", adult), children=3)
    c[8] = _case("RC-0008", _person("Oli", "Testeight", date(2009, 1, 1), sex="male", ethnicity="black"),
                 _person("Pat", "Testeight", date(2010, 1, 1)))  # heard 31 Mar: outside
    c[9] = _case("RC-0009", _person("Ray", "Testnine", date(2009, 1, 1), sex="male", ethnicity="asian"),
                 _person("Sam", "Testnine", adult))  # heard 1 Jul: outside
    c[10] = _case("RC-0010", _person("Tia", "Testten", adult, sex="male"), _person("Uma", "Testten", adult))
    c[11] = _case("RC-0011", _person("Vic", "Testeleven", adult, sex="male"), _person("Wyn", "Testeleven", adult))
    s.cases = c

    pol, hou, hea = s.referrer["police"], s.referrer["housing"], s.referrer["health"]
    r = {}
    r[1] = _referral(pol, c[1], datetime(2026, 3, 20, 10, 0))
    r[2] = _referral(hou, c[2], datetime(2026, 3, 25, 10, 0))
    r[3] = _referral(hea, c[3], datetime(2026, 3, 2, 10, 0))
    r[4] = _referral(pol, c[4], datetime(2025, 12, 1, 10, 0))
    r[5] = _referral(pol, c[5], datetime(2026, 5, 1, 10, 0))
    r[7] = _referral(pol, c[7], datetime(2026, 6, 16, 10, 0), professional_judgement=True, qa_status="accepted")
    r["1b"] = _referral(pol, c[1], datetime(2026, 6, 20, 10, 0), is_repeat=True)
    r[8] = _referral(pol, c[8], datetime(2026, 3, 10, 10, 0))
    r[9] = _referral(pol, c[9], datetime(2026, 6, 25, 10, 0), is_repeat=True)
    r[10] = _referral(pol, c[10], datetime(2026, 1, 5, 10, 0))
    r[11] = _referral(pol, c[11], datetime(2026, 1, 6, 10, 0))
    # Referrals without a case. 23:30 UTC on 31 March is 00:30 on 1 April in the UK: inside the quarter.
    _referral(hou, None, datetime(2026, 3, 31, 23, 30), status="declined", professional_judgement=True,
              qa_status="declined")
    _referral(hou, None, datetime(2026, 3, 31, 22, 30), status="declined")  # 23:30 on 31 March UK: outside
    _referral(pol, None, datetime(2026, 6, 30, 22, 30), status="submitted", professional_judgement=True,
              qa_status="accepted")  # 23:30 on 30 June UK: inside
    _referral(pol, None, datetime(2026, 6, 30, 23, 30), status="submitted")  # 00:30 on 1 July UK: outside
    _referral(hou, None, datetime(2026, 5, 5, 10, 0), status="submitted", professional_judgement=True,
              qa_status="pending")
    _referral(pol, None, None, status="draft")
    s.referrals = r

    m = {}
    m[0] = Meeting.create(starts_at=datetime(2026, 3, 31, 10, 0), status="held")
    m[1] = Meeting.create(starts_at=datetime(2026, 4, 1, 9, 30), status="held")
    m[2] = Meeting.create(starts_at=datetime(2026, 5, 13, 9, 30), status="held")
    m[3] = Meeting.create(starts_at=datetime(2026, 6, 30, 14, 0), status="held")
    m[4] = Meeting.create(starts_at=datetime(2026, 7, 1, 9, 30), status="held")
    m[5] = Meeting.create(starts_at=datetime(2026, 5, 20, 9, 30), status="cancelled")
    m[6] = Meeting.create(starts_at=datetime(2026, 6, 10, 9, 30), status="planned")
    s.meetings = m

    def listing(meeting, case, referral, kind="full", repeat=False, review=False):
        return Listing.create(meeting=meeting, case=case, referral=referral, kind=kind, is_repeat=repeat,
                              is_review=review, position=Listing.select().where(Listing.meeting == meeting).count())

    ls = {}
    ls[0] = listing(m[0], c[8], r[8], repeat=True)
    ls[1] = listing(m[1], c[1], r[1], repeat=True)
    ls[2] = listing(m[1], c[2], r[2])
    ls[3] = listing(m[1], c[3], r[3], kind="information")
    ls[4] = listing(m[1], c[4], r[4], review=True)
    ls[5] = listing(m[2], c[5], r[5], kind="closed", repeat=True)
    ListingInvite.create(listing=ls[5], agency=s.police)
    ListingInvite.create(listing=ls[5], agency=s.idva)
    ls[6] = listing(m[2], c[6], None)
    ls[7] = listing(m[3], c[7], r[7], repeat=True)
    ls[8] = listing(m[3], c[1], r["1b"], repeat=True)
    ls[9] = listing(m[4], c[9], r[9], repeat=True)
    ls[10] = listing(m[5], c[10], r[10])
    ls[11] = listing(m[6], c[11], r[11])
    s.listings = ls

    rep, dep = s.rep, s.deputy_idva
    for meeting in (m[1], m[2], m[3]):  # run by the chair and the coordinator: not agency attendance
        _attend(meeting, s.police, "chair", user=s.chair)
        _attend(meeting, s.team, "coordinator", user=s.coordinator)
    _attend(m[1], None, "observer", status="expected", name="An Observer", organisation="Elsewhere",
            observer_status="approved")
    _attend(m[1], s.police, "representative", user=rep["police"])
    _attend(m[2], s.police, "representative", user=rep["police"])
    _attend(m[3], s.police, "representative", status="apologies", user=rep["police"], written_info=True)
    _attend(m[1], s.idva, "deputy", user=dep)
    _attend(m[2], s.idva, "other", name="Someone Else")
    _attend(m[3], s.idva, "representative", user=rep["idva"])
    _attend(m[1], s.housing, "representative", status="apologies", user=rep["housing"])
    _attend(m[3], s.housing, "representative", user=rep["housing"])
    _attend(m[2], s.health, "representative", user=rep["health"])
    _attend(m[1], s.childrens, "representative", user=rep["childrens"])
    _attend(m[2], s.charity, "representative", user=rep["charity"])
    _attend(m[0], s.police, "representative", user=rep["police"])  # outside the quarter
    _attend(m[4], s.housing, "representative", user=rep["housing"])  # outside the quarter

    def research(listing, agency, **kw):
        Research.create(listing=listing, agency=getattr(s, agency), user=rep[agency], victim_info="Fictional", **kw)

    for n in range(1, 9):
        research(ls[n], "police", nothing_known=n in (3, 6))
    for n in (1, 2, 3, 5, 7):
        research(ls[n], "idva", nothing_known=n == 3)
    for n in (2, 6, 7):
        research(ls[n], "housing")
    for n in (1, 2, 3, 4):
        research(ls[n], "childrens", written_submission=n == 2)
    research(ls[0], "police")  # outside the quarter

    def action(case, agency, due, status="open", completed=None, reason=""):
        return Action.create(case=case, owner_agency=agency, description="A fictional action", due_date=due,
                             status=status, completed_at=completed, cannot_reason=reason)

    s.actions = {
        "police_first_day": action(c[1], s.police, date(2026, 4, 1), "done", date(2026, 4, 1)),
        "police_last_day_late": action(c[2], s.police, date(2026, 6, 30), "done", date(2026, 7, 2)),
        "police_early": action(c[5], s.police, date(2026, 5, 15), "done", date(2026, 5, 10)),
        "police_before": action(c[8], s.police, date(2026, 3, 31), "done", date(2026, 3, 31)),
        "police_after": action(c[9], s.police, date(2026, 7, 1)),
        "idva_cannot": action(c[3], s.idva, date(2026, 5, 1), "cannot", date(2026, 4, 28), "no_contact"),
        "idva_overdue": action(c[7], s.idva, date(2026, 6, 30)),
        "idva_on_time": action(c[1], s.idva, date(2026, 4, 10), "done", date(2026, 4, 10)),
        "idva_not_due": action(c[7], s.idva, date(2026, 8, 1)),
        "housing_cannot_other": action(c[6], s.housing, date(2026, 5, 20), "cannot", date(2026, 5, 18), "other"),
        "housing_cannot_declined": action(c[6], s.housing, date(2026, 5, 20), "cannot", date(2026, 5, 19),
                                          "declined"),
        "housing_late": action(c[2], s.housing, date(2026, 6, 1), "done", date(2026, 6, 2)),
    }
    settings.set_many({"adult_female_population": POPULATION, "panel_name": "Anytown MARAC"})
    return s
