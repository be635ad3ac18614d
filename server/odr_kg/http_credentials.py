"""Credentials written in a store's URL (``http://user:password@host/...``): taken out of the
URL, so that it is never shown, and sent as HTTP Basic or Digest when the store asks."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Mapping


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@``, and the credentials if it held any."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    bare = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    user = urllib.parse.unquote(parts.username)
    return bare, (user, urllib.parse.unquote(parts.password or ""))


def credentials_opener(
    credentials: Mapping[str | None, tuple[str, str] | None],
) -> urllib.request.OpenerDirector:
    """An opener answering a Basic or Digest challenge from each URL of ``credentials`` with
    its credentials; a plain one when there are none."""
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    for url, pair in credentials.items():
        if url is not None and pair is not None:
            passwords.add_password(None, url, *pair)
    if not any(credentials.values()):
        return urllib.request.build_opener()
    return urllib.request.build_opener(
        _ClosingBasicAuthHandler(passwords), _ClosingDigestAuthHandler(passwords)
    )


class _ClosingChallenge:
    """Closes the 401 answer once it has been answered with credentials: urllib leaves it open
    (a ResourceWarning). Unanswered, it stays open to become the HTTPError."""

    def http_error_401(self, req, fp, code, msg, headers):
        try:
            answered = super().http_error_401(req, fp, code, msg, headers)
        except BaseException:
            fp.close()
            raise
        if answered is not None:
            fp.close()
        return answered


class _ClosingBasicAuthHandler(_ClosingChallenge, urllib.request.HTTPBasicAuthHandler):
    pass


class _ClosingDigestAuthHandler(_ClosingChallenge, urllib.request.HTTPDigestAuthHandler):
    pass
