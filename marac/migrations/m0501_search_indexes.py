"""Speed of the case record at 100,000 cases (issue 7):

- an index on lower(family_name), which SQLite keeps up to date by itself, so a search by family
  name alone is an index seek rather than a scan of every person;
- an index on action (case, owner agency), so "does this agency own an action on this case"
  (the case visibility rule, marac.access.case_filter) is one seek, not a walk through every
  action of the agency.
"""

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS "person_family_name_lower" ON "person" (lower("family_name"))',
    'CREATE INDEX IF NOT EXISTS "action_case_id_owner_agency_id" ON "action" ("case_id", "owner_agency_id")',
]


def up(database):
    """Create the two indexes."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
