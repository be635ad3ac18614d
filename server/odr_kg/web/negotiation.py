"""Content negotiation, the one way every view does it: the media types a view offers, in its
order of preference, against the request's ``Accept`` header (Werkzeug's ``best_match``)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import request


def negotiate(offered: Sequence[str], default: str | None = None) -> str | None:
    """The entry of ``offered`` the request's ``Accept`` prefers (the earlier one on a tie), or
    ``None`` when it accepts none of them. A request without ``Accept`` gets ``default``, else
    the first entry of ``offered``."""
    if not request.accept_mimetypes:
        return default if default is not None else offered[0]
    return request.accept_mimetypes.best_match(offered)
