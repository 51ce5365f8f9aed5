"""Entry point. `python app.py` serves the app with waitress; `python app.py --help` lists commands."""
import sys

from marac.cli import main

if __name__ == "__main__":
    sys.exit(main())
