"""Where the app finds a risk instrument. Every lookup goes through get_instrument(), so that
borough instruments stored in the database (issue 10) can join the built-ins in one place.
"""
from marac import settings
from marac.risk import Instrument


class UnknownInstrument(LookupError):
    """No instrument with this id (and version)."""


def get_instrument(instrument_id: str, version: int | None = None) -> Instrument:
    """The instrument with this id (its current version, or exactly `version`)."""
    from marac import instrument_store  # borough versions in the database (issue 10)

    instrument = (instrument_store.latest(instrument_id) if version is None
                  else instrument_store.version_of(instrument_id, version))
    if instrument is None or (version is not None and instrument.version != version):
        raise UnknownInstrument(f"no risk instrument {instrument_id!r}"
                                + (f" version {version}" if version is not None else ""))
    return instrument


def available() -> list[Instrument]:
    """Every instrument a panel can choose (current versions), built-ins first."""
    from marac import instrument_store

    return instrument_store.catalogue()


def list_instruments() -> list[Instrument]:
    """The same as available(): every instrument's current version, built-ins first."""
    return available()


def current_instrument() -> Instrument:
    """The instrument this panel scores new referrals with (setting "instrument_id")."""
    return get_instrument(settings.get("instrument_id"))
