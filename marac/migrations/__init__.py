"""Numbered schema migrations, applied in order at start-up: mNNNN_name.py with up(database).

Each script freezes the schema of its moment (its own table definitions), so a later
change to models.py never changes what an old script creates. An older database is
upgraded, never recreated.
"""
