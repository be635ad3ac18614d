"""The errors the knowledge store raises, embedded or external, and reading RDF for it."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the errors the knowledge store raises."""


class InvalidBaseError(StoreError, ValueError):
    """The configured base IRI is not an absolute IRI ending in ``/``."""


class InvalidGraphNameError(StoreError, ValueError):
    """A graph name given for loaded data is not an absolute IRI."""


class DataSyntaxError(StoreError):
    """An RDF file does not parse. ``source`` names the file, ``message`` is the parser's,
    ``line`` the line it stopped at when the parser says."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.line = line


class QuerySyntaxError(StoreError):
    """A SPARQL query does not parse. ``message`` is the parser's, position included. In a
    request, 400."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedFormatError(StoreError, ValueError):
    """No serialization of that name, or none that fits this kind of result."""


class NotLoadedError(StoreError):
    """The store does not hold the knowledge graph: run ``odr-kg load`` first."""


class ExternalStoreError(StoreError):
    """An external SPARQL store did not give a usable answer. ``status`` is the HTTP status a
    gateway answers with: 502, 503 or 504."""

    status = 502

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"the SPARQL store at {endpoint} {message}")
        self.endpoint = endpoint


class StoreUnavailableError(ExternalStoreError):
    """The external store cannot be reached or says it is unavailable."""

    status = 503


class StoreTimeoutError(ExternalStoreError):
    """The external store did not answer within the configured timeout."""

    status = 504


class StoreResponseError(ExternalStoreError):
    """The external store answered with an error or with something that does not parse."""

    status = 502
