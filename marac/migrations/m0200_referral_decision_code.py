"""Inbox decisions: a coded reason beside the free-text decision_reason (issue 4).

The code ("below_threshold", "out_of_area", ...) is what the audit log and the decline counts
use, so no free text (which may name a person) has to go into the append-only audit log.
"""
from peewee import CharField
from playhouse.migrate import SchemaMigrator, migrate


def up(database):
    migrator = SchemaMigrator.from_database(database)
    migrate(migrator.add_column("referral", "decision_code", CharField(max_length=40, default="")))
