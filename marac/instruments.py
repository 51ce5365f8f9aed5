"""Where the app finds a risk instrument. Every lookup goes through get_instrument(), so that
borough instruments stored in the database (issue 10) can join the built-ins in one place.
"""
from marac import settings
from marac.risk import BUILTIN_INSTRUMENTS, Instrument


class UnknownInstrument(LookupError):
    """No instrument with this id (and version)."""


def get_instrument(instrument_id: str, version: int | None = None) -> Instrument:
    """The instrument with this id (its current version, or exactly `version`)."""
    instrument = BUILTIN_INSTRUMENTS.get(instrument_id)
    if instrument is None or (version is not None and instrument.version != version):
        raise UnknownInstrument(f"no risk instrument {instrument_id!r}"
                                + (f" version {version}" if version is not None else ""))
    return instrument


def available() -> list[Instrument]:
    """Every instrument a panel can choose, built-ins first."""
    return list(BUILTIN_INSTRUMENTS.values())


def current_instrument() -> Instrument:
    """The instrument this panel scores new referrals with (setting "instrument_id")."""
    return get_instrument(settings.get("instrument_id"))
