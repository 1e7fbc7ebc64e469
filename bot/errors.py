"""Error classes for the core. Catch them at the boundary, answer in Danish."""


class TraeningsguidenError(Exception):
    """Base class for errors raised by the core."""


class DataFileError(TraeningsguidenError):
    """A data file (profile, questions, legal references, copy) is invalid."""


class UnknownMunicipalityError(TraeningsguidenError):
    """A municipality id that has no profile was asked for."""


class BotUnavailableError(TraeningsguidenError):
    """Rasa (or the action server behind it) did not answer, answered late or answered nonsense."""
