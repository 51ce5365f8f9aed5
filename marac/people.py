"""People named in referrals: forgiving comparison keys, and Person records for a submitted referral.

A submitted referral's people (Referral.data["people"]) each get a Person and a ReferralPerson
link. Matching them to people the panel has seen before (proposals the coordinator confirms)
builds on link_referral_people() (issue 4).

People belong to a panel (issue 12): a referral's people are made in the referral's panel, and
only people of that panel are ever proposed, counted as earlier referrals or matched. A person
another borough's panel knows is never shown here, even with the same name and date of birth.
"""
import json
import re
import unicodedata
from datetime import date

from marac import audit
from marac.db import db
from marac.models import CasePerson, Person, PersonAlias, PersonMatch, Referral, ReferralPerson
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
            person = Person(panel=referral.panel_id)
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
    propose_matches(referral)
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
                                       & (Referral.panel == referral.panel_id) & Referral.submitted_at.is_null(False)))
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


# --- matching the same person across referrals (issue 4) ------------------------------------------
# Each submitted referral's people start as their own Person records ("as referred").
# propose_matches() suggests earlier records that may be the same person; the coordinator decides:
#   confirm: the referral's links (ReferralPerson, and CasePerson of its case) move to the earlier
#            record; the as-referred record stays, unlinked, as this referral's own copy of the person.
#   reject:  nothing moves; the proposal stays "rejected" and is never proposed again.
#   split:   a confirmed match undone: the links move back to the as-referred record; the match row
#            stays ("split") and both decisions are in the audit log, so nothing is lost.
# Every merge is therefore one PersonMatch row, and every merge can be undone.

MATCH_REASONS = ("name_dob", "dob_postcode", "alias_dob", "name_linked")


class MatchError(ValueError):
    """A match decision that cannot be made now (already decided, nothing to split, ...)."""


def current_record(person_id: int) -> int:
    """The record a person's links now point at: follows confirmed matches (at most a few steps)."""
    seen = {person_id}
    while True:
        row = (PersonMatch.select(PersonMatch.candidate)
               .where((PersonMatch.person == person_id) & (PersonMatch.status == "confirmed")).first())
        if row is None or row.candidate_id in seen:
            return person_id
        person_id = row.candidate_id
        seen.add(person_id)


def _name_keys(person: Person) -> tuple[set, set]:
    """The person's own name key and alias keys, and the alias keys alone."""
    aliases = {a.name_key for a in PersonAlias.select(PersonAlias.name_key)
               .where(PersonAlias.person == person.id) if a.name_key}
    return ({person.name_key} if person.name_key else set()) | aliases, aliases


def _same_name(keys: set):
    """People whose name, or one of whose aliases, has one of these keys."""
    aliased = PersonAlias.select(PersonAlias.person).where(PersonAlias.name_key.in_(list(keys)))
    return Person.name_key.in_(list(keys)) | Person.id.in_(aliased)


def propose_matches(referral) -> list[PersonMatch]:
    """Propose earlier people who may be this referral's people. Call inside the submission's
    transaction; a pair already proposed or decided is not proposed again.

    With a date of birth: the same name, the same postcode, or a known alias (name_dob,
    dob_postcode, alias_dob). Without one on either side (perpetrators often have none): the same
    name in an earlier referral of someone else this referral may be (name_linked), so a repeat
    of the same victim and perpetrator is found even then.
    """
    links = list(ReferralPerson.select(ReferralPerson, Person).join(Person)
                 .where(ReferralPerson.referral == referral.id))
    own = {link.person_id for link in links}
    here = Person.panel == referral.panel_id  # candidates are the referral's panel's people, never another's
    # A link already pointing at a shared record was matched before (a resubmission): it anchors.
    fresh = [link.person for link in links if _only_here(link.person_id, referral.id)]
    anchors = own - {p.id for p in fresh}
    found: dict[int, dict[int, list[str]]] = {}

    def add(person_id, other_id, reasons):
        target = current_record(other_id)
        if target not in own:
            listed = found.setdefault(person_id, {}).setdefault(target, [])
            listed += [r for r in reasons if r not in listed]

    for person in fresh:
        keys, aliases = _name_keys(person)
        if person.date_of_birth is None or not keys:
            continue
        where = _same_name(keys)
        if person.postcode_key:
            where |= Person.postcode_key == person.postcode_key
        for other in (Person.select(Person.id, Person.name_key, Person.postcode_key)
                      .where((Person.date_of_birth == person.date_of_birth) & Person.deleted_at.is_null()
                             & here & Person.id.not_in(list(own)) & where)):
            reasons = []
            if person.name_key and other.name_key == person.name_key:
                reasons.append("name_dob")
            if person.postcode_key and other.postcode_key == person.postcode_key:
                reasons.append("dob_postcode")
            if not reasons or (other.name_key in aliases and "name_dob" not in reasons):
                reasons.append("alias_dob")
            add(person.id, other.id, reasons)

    anchors |= {target for targets in found.values() for target in targets}
    if anchors:
        together = ReferralPerson.select(ReferralPerson.referral).where(
            ReferralPerson.person.in_(list(anchors)) & (ReferralPerson.referral != referral.id))
        for person in fresh:
            keys, _ = _name_keys(person)
            if not keys:
                continue
            for other in (Person.select(Person.id, Person.date_of_birth).distinct()
                          .join(ReferralPerson, on=(ReferralPerson.person == Person.id))
                          .where(ReferralPerson.referral.in_(together) & _same_name(keys) & here
                                 & Person.id.not_in(list(own)) & Person.deleted_at.is_null())):
                if person.date_of_birth is None or other.date_of_birth is None:
                    add(person.id, other.id, ["name_linked"])

    created = []
    for person_id, targets in found.items():
        decided = {m.candidate_id for m in PersonMatch.select(PersonMatch.candidate)
                   .where(PersonMatch.person == person_id)}
        for candidate_id, reasons in sorted(targets.items()):
            if candidate_id in decided:
                continue
            reasons.sort(key=MATCH_REASONS.index)
            match = PersonMatch.create(person=person_id, candidate=candidate_id, referral=referral.id,
                                       reason=",".join(reasons))
            audit.record("person_match.propose", match, detail={"referral_id": referral.id, "reason": match.reason})
            created.append(match)
    return created


def _move_links(referral_id: int, from_id: int, to_id: int, keep_in_case: bool = False) -> None:
    """Point this referral's links (and its case's people rows) at another Person record."""
    ReferralPerson.update(person=to_id).where((ReferralPerson.referral == referral_id)
                                             & (ReferralPerson.person == from_id)).execute()
    referral = Referral.get_by_id(referral_id)
    if referral.case_id is None:
        return
    rows = list(CasePerson.select().where((CasePerson.case == referral.case_id) & (CasePerson.person == from_id)))
    for row in rows:
        CasePerson.insert(case=row.case_id, person=to_id, role=row.role, added_at=row.added_at
                          ).on_conflict_ignore().execute()
        if not keep_in_case:
            row.delete_instance()


def _decidable(match_id: int, status: str) -> PersonMatch:
    match = PersonMatch.get_or_none(PersonMatch.id == match_id)
    if match is None or match.status != status:
        raise MatchError("This match has already been decided." if status == "proposed"
                         else "Only a confirmed match can be split.")
    return match


def same_panel(person_id: int, other_id: int) -> bool:
    """Whether two Person records are of one panel: a merge never moves a referral's people into another
    borough's records (propose_matches only proposes the panel's own; this guards older or hand-made rows)."""
    return Person.select(Person.panel).where(Person.id.in_([person_id, other_id])).distinct().count() == 1


def confirm_match(match_id: int, user) -> PersonMatch:
    """The coordinator says they are the same person: the referral's links move to the earlier record."""
    from marac import clock

    with db.atomic():
        match = _decidable(match_id, "proposed")
        target = current_record(match.candidate_id)  # the earlier record may itself have been merged since
        if target == match.person_id:
            raise MatchError("These are already the same record.")
        if not same_panel(match.person_id, target):
            raise MatchError("These people belong to different panels and cannot be the same record.")
        _move_links(match.referral_id, match.person_id, target)
        match.candidate = target
        match.status, match.decided_by, match.decided_at = "confirmed", user, clock.now()
        match.save()
        # The person is now settled: their other open proposals are closed, not left dangling.
        superseded = (PersonMatch.update(status="superseded", decided_by=user, decided_at=clock.now())
                      .where((PersonMatch.person == match.person_id) & (PersonMatch.status == "proposed"))
                      .execute())
        audit.record("person_match.confirm", match, user=user,
                     detail={"referral_id": match.referral_id, "person_id": match.person_id, "candidate_id": target,
                             "reason": match.reason, "superseded": superseded})
    return match


def reject_match(match_id: int, user) -> PersonMatch:
    """The coordinator says they are different people; the proposal is kept as rejected."""
    from marac import clock

    with db.atomic():
        match = _decidable(match_id, "proposed")
        match.status, match.decided_by, match.decided_at = "rejected", user, clock.now()
        match.save()
        audit.record("person_match.reject", match, user=user,
                     detail={"referral_id": match.referral_id, "reason": "different_people"})
    return match


def split_match(match_id: int, user) -> PersonMatch:
    """Undo a wrong match: the referral's links return to its own record; the match row is kept.

    The earlier record stays in the referral's case when another referral of that case names it
    (an open case the referral was attached to); otherwise the case's row moves back too."""
    from marac import clock

    with db.atomic():
        match = _decidable(match_id, "confirmed")
        referral = Referral.get_by_id(match.referral_id)
        others = (ReferralPerson.select().join(Referral)
                  .where((ReferralPerson.person == match.candidate_id) & (ReferralPerson.referral != referral.id)
                         & (Referral.case == referral.case_id)).exists()) if referral.case_id else False
        _move_links(referral.id, match.candidate_id, match.person_id, keep_in_case=others)
        match.status, match.decided_by, match.decided_at = "split", user, clock.now()
        match.save()
        audit.record("person_match.split", match, user=user,
                     detail={"referral_id": referral.id, "person_id": match.person_id,
                             "candidate_id": match.candidate_id, "reason": "not_the_same_person"})
    return match
