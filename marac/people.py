"""People named in referrals: forgiving comparison keys, and Person records for a submitted referral.

A submitted referral's people (Referral.data["people"]) each get a Person and a ReferralPerson
link. Matching them to people the panel has seen before (proposals the coordinator confirms)
builds on link_referral_people() (issue 4).
"""
import json
import re
import unicodedata
from datetime import date

from marac.models import CasePerson, Person, PersonAlias, Referral, ReferralPerson
from marac.risk import PreviousReferral

# Fields copied from a referral's person entry onto the Person record.
PERSON_FIELDS = ("given_name", "family_name", "address", "postcode", "sex", "gender_identity",
                 "sexual_orientation", "ethnicity", "disability")
_NOT_IN_KEY = re.compile(r"[\s\-'\u2019\u2018`.]+")


def name_key(given: str, family: str = "") -> str:
    """A forgiving comparison key: lower case, accents, spaces, hyphens and apostrophes removed."""
    text = unicodedata.normalize("NFKD", f"{given or ''}{family or ''}")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NOT_IN_KEY.sub("", text.casefold())


def postcode_key(postcode: str) -> str:
    """A postcode without spaces, in capitals ("ig11 7ab " -> "IG117AB")."""
    return re.sub(r"\s+", "", postcode or "").upper()


def outward_code(postcode: str) -> str:
    """The part of a UK postcode before the space ("IG11 7AB" -> "IG11"); "" when too short."""
    key = postcode_key(postcode)
    return key[:-3] if len(key) >= 5 else ""


def _dob(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _alias_names(text: str) -> list[tuple[str, str]]:
    """Aliases typed as "Jo Bloggs; Joanne B" -> [("Jo", "Bloggs"), ("Joanne", "B")]."""
    names = []
    for part in re.split(r"[;,\n]+", text or ""):
        words = part.split()
        if words:
            names.append((" ".join(words[:-1]), words[-1]))
    return names


def _fill(person: Person, entry: dict) -> None:
    for field in PERSON_FIELDS:
        setattr(person, field, (entry.get(field) or "").strip())
    person.name_key = name_key(person.given_name, person.family_name)
    person.postcode_key = postcode_key(person.postcode)
    person.date_of_birth = _dob(entry.get("date_of_birth"))


def _set_aliases(person: Person, text: str) -> None:
    PersonAlias.delete().where(PersonAlias.person == person).execute()
    for given, family in _alias_names(text):
        PersonAlias.create(person=person, given_name=given, family_name=family, name_key=name_key(given, family))


def _only_here(person_id: int, referral_id: int) -> bool:
    """Whether this Person was made for this referral alone (no other referral or case uses it)."""
    elsewhere = ReferralPerson.select().where((ReferralPerson.person == person_id)
                                              & (ReferralPerson.referral != referral_id))
    return not elsewhere.exists() and not CasePerson.select().where(CasePerson.person == person_id).exists()


def link_referral_people(referral) -> list[ReferralPerson]:
    """Make the referral's Person links match its data; call inside the caller's transaction.

    Idempotent, so a resubmitted or amended referral is linked again safely: an entry keeps its
    link (by position in data["people"]); a Person used only by this referral is updated from
    the entry; a Person shared with another referral or a case is left as it is (the coordinator
    corrects shared records); links for entries that were removed are dropped.
    """
    people = [p for p in json.loads(referral.data or "{}").get("people", [])
              if p.get("given_name") or p.get("family_name")]
    existing = {rp.position: rp for rp in ReferralPerson.select().where(ReferralPerson.referral == referral)}
    links = []
    for position, entry in enumerate(people):
        link = existing.pop(position, None)
        if link is not None and _only_here(link.person_id, referral.id):
            person = link.person
            _fill(person, entry)
            person.save()
            _set_aliases(person, entry.get("aliases", ""))
        elif link is None:
            person = Person()
            _fill(person, entry)
            person.save()
            _set_aliases(person, entry.get("aliases", ""))
            link = ReferralPerson.create(referral=referral, person=person, role=entry.get("role", "other"),
                                         position=position)
        if link.role != entry.get("role", link.role):
            link.role = entry["role"]
            link.save()
        links.append(link)
    for stale in existing.values():
        person_id = stale.person_id
        stale.delete_instance()
        if _only_here(person_id, referral.id):
            Person.delete().where(Person.id == person_id).execute()
    return links


MAIN_ROLES = ("victim", "subject")


def previous_referrals(referral, links) -> list[PreviousReferral]:
    """Earlier referrals sharing a linked Person with this one, as marac.risk needs them.

    One entry per (victim, perpetrator) pair of each earlier referral. An earlier referral
    counts as heard here once accepted; one received from another MARAC does not count.
    """
    ids = [link.person_id for link in links if link.role in MAIN_ROLES + ("perpetrator",)]
    if not ids:
        return []
    shared = ReferralPerson.select(ReferralPerson.referral).where(ReferralPerson.person.in_(ids))
    earlier = (Referral.select().where(Referral.id.in_(shared) & (Referral.id != referral.id)
                                       & Referral.submitted_at.is_null(False)))
    earlier = {r.id: r for r in earlier}
    if not earlier:
        return []
    by_referral: dict[int, dict[str, list[int]]] = {}
    for link in ReferralPerson.select().where(ReferralPerson.referral.in_(list(earlier))):
        roles = by_referral.setdefault(link.referral_id, {"main": [], "perpetrator": []})
        if link.role in MAIN_ROLES:
            roles["main"].append(link.person_id)
        elif link.role == "perpetrator":
            roles["perpetrator"].append(link.person_id)
    result = []
    for referral_id, roles in by_referral.items():
        other = earlier[referral_id]
        for victim_id in roles["main"]:
            for perpetrator_id in roles["perpetrator"] or [None]:
                result.append(PreviousReferral(
                    date=other.submitted_at.date(), victim_id=victim_id, perpetrator_id=perpetrator_id,
                    panel_heard=other.status == "accepted", other_marac=other.source == "transfer_in"))
    return result
