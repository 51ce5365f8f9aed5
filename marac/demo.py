"""A fictional demo borough for trainers: agencies and one account per role.

Every name here is invented. The loader refuses a database that already holds
anything but the first coordinator, so it can never mix with real records.
"""
import secrets
from datetime import date

from marac import accounts
from marac.db import db
from marac.models import Agency, User

DEMO_DOMAIN = "demo.marac.invalid"

AGENCIES = [
    # name, kind, police
    ("Anytown Police Public Protection Unit", "core", True),
    ("Anytown Council Community Safety", "core", False),
    ("Anytown Council Adult Social Care", "core", False),
    ("Anytown Council Children's Services", "core", False),
    ("Anytown Housing", "core", False),
    ("Anytown Independent Domestic Violence Advocates", "core", False),
    ("Anytown Mental Health Trust", "core", False),
    ("Probation Service, Anytown", "core", False),
    ("Anytown Drug and Alcohol Service", "flexible", False),
    ("Riverside GP Practice", "referrer", False),
]

USERS = [
    # name, local part, role, agency index, deputy
    ("Casey Demo-Coordinator", "coordinator", "coordinator", 1, False),
    ("Jordan Demo-Chair", "chair", "chair", 0, False),
    ("Riley Demo-Police", "police.rep", "representative", 0, False),
    ("Sam Demo-Housing", "housing.rep", "representative", 4, False),
    ("Alex Demo-Housing-Deputy", "housing.deputy", "representative", 4, True),
    ("Morgan Demo-Advocate", "idva.rep", "representative", 5, False),
    ("Taylor Demo-GP", "gp.referrer", "referrer", 9, False),
    ("Jamie Demo-Observer", "observer", "observer", 2, False),
]


class NotEmpty(RuntimeError):
    """The database holds real data: the demo loader will not touch it."""


def _password() -> str:
    # Four random words' worth of entropy, readable when printed for a trainer.
    return "-".join(secrets.token_hex(3) for _ in range(4))


def load() -> list[tuple[str, str, str, str]]:
    """Create the demo agencies and users; return (email, password, role, agency) per account."""
    if User.select().count() > 1 or Agency.select().count() > 1:
        raise NotEmpty("this database already holds agencies or users; the demo is only loaded into a new one")
    made = []
    with db.atomic():
        agencies = []
        for name, kind, police in AGENCIES:
            agencies.append(accounts.save_agency({
                "name": name, "kind": kind, "is_police": police,
                "isa_signed_on": date(2025, 4, 1) if kind != "referrer" else None,
                "isa_signatory": "Head of service (demo)" if kind != "referrer" else "",
                "dpo_contact": f"dpo@{DEMO_DOMAIN}" if kind != "referrer" else "",
            }))
        for name, local, role, agency_index, deputy in USERS:
            password = _password()
            email = f"{local}@{DEMO_DOMAIN}"
            accounts.save_user({"name": name, "email": email, "role": role, "agency": agencies[agency_index],
                                "is_deputy": deputy, "active": True}, password=password)
            made.append((email, password, role, agencies[agency_index].name))
    return made
