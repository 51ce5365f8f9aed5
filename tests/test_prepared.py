"""marac.prepared: a query compiled once returns what the Peewee query returns, for every argument value,
and refuses a query whose arguments it cannot find among the parameters."""
import pytest
from marac_testing import make_agency, make_user

from marac import create_app
from marac.db import db
from marac.models import Agency, Referral, User
from marac.prepared import Prepared

BY_AUTHOR = Prepared(lambda user_id, status: Referral.select(Referral, User, Agency)
                     .join(User, on=(Referral.author == User.id)).join(Agency)
                     .where((Referral.author == user_id) & (Referral.status == status)).order_by(Referral.id),
                     Prepared.INT, Prepared.TEXT)


@pytest.fixture
def world(app):
    with db.connection_context():
        police, college = make_agency("Police"), make_agency("College")
        ann, bob = make_user("referrer", police, name="Ann"), make_user("referrer", college, name="Bob")
        rows = {name: Referral.create(author=user, agency=user.agency, status=status)
                for name, user, status in [("a1", ann, "draft"), ("a2", ann, "submitted"), ("a3", ann, "draft"),
                                           ("b1", bob, "draft")]}
    return ann, bob, rows


def test_rows_match_the_peewee_query_for_each_argument(world):
    ann, bob, rows = world
    with db.connection_context():
        for user in (ann, bob):
            for status in ("draft", "submitted", "declined"):
                expected = list(BY_AUTHOR._build(user.id, status))
                got = BY_AUTHOR.rows(user.id, status)
                assert [r.id for r in got] == [r.id for r in expected]
                # joined models come filled in, as from the query itself: no further query for them
                assert [(r.author.name, r.author.agency.name) for r in got] == \
                    [(r.author.name, r.author.agency.name) for r in expected]
        assert [r.id for r in BY_AUTHOR.rows(ann.id, "draft")] == [rows["a1"].id, rows["a3"].id]
        assert BY_AUTHOR.first(bob.id, "submitted") is None


def test_a_new_database_gets_its_own_compiled_query(world, tmp_path):
    ann, _bob, rows = world
    with db.connection_context():
        assert BY_AUTHOR.first(ann.id, "submitted").id == rows["a2"].id
    # Another app in this process binds another (empty) database: the query runs there, not on the first.
    create_app({"TESTING": True, "SECRET_KEY": "p" * 40, "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"},
               instance_path=str(tmp_path / "other"))
    with db.connection_context():
        assert BY_AUTHOR.first(ann.id, "submitted") is None
        assert BY_AUTHOR._compiled[id(db.obj)][0] is db.obj


def test_an_argument_folded_into_the_sql_is_refused(app):
    # An argument used twice cannot be told apart from a constant: refused, never guessed.
    twice = Prepared(lambda n: Referral.select().where((Referral.id == n) | (Referral.author == n)), Prepared.INT)
    missing = Prepared(lambda n: Referral.select(), Prepared.INT)
    with db.connection_context():
        for prepared in (twice, missing):
            with pytest.raises(ValueError, match="each argument"):
                prepared.rows(1)
