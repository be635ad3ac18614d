"""What every request and response goes through before and after its view: the outbound
guard, the size limits (413, 414), the security headers, and each client's fair share of
query time. The limits and their defaults are :data:`odr_kg.limits.DEFAULTS`."""

from __future__ import annotations

import io
import ipaddress
from typing import IO

from flask import Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge, RequestURITooLarge

from odr_kg import guard
from odr_kg.client_budget import ClientBudget, client_concurrency

POLICY_KEY = "odr_kg.outbound_policy"
BUDGET_KEY = "odr_kg.client_budget"

# No inline script or style anywhere: the templates load sparql.js and the style sheets as
# files (a test checks that they hold no inline script, style or event handler attribute).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class BoundedRequest(Request):
    """A request whose form uploads stay in memory: the body is at most
    ``MAX_CONTENT_LENGTH`` (1 MiB by default), and a temporary file would be a file opened
    while handling a request, which the outbound guard refuses."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def init_app(app: Flask) -> None:
    """Install the guard and the per-request checks and headers on ``app``."""
    app.request_class = BoundedRequest
    config = app.config
    guard.install()
    endpoints = [
        config[key]
        for key in ("SPARQL_ENDPOINT", "SPARQL_UPDATE_ENDPOINT", "GRAPH_STORE")
        if config[key]
    ]
    app.extensions[POLICY_KEY] = guard.policy_for(endpoints)
    app.extensions[BUDGET_KEY] = ClientBudget(
        client_concurrency(config["CLIENT_CONCURRENCY"], config["QUERY_WORKERS"]),
        float(config["CLIENT_QUERY_SECONDS"]),
    )
    app.before_request(check_request)
    app.after_request(add_security_headers)
    app.teardown_request(release_guard)


def get_client_budget() -> ClientBudget:
    return current_app.extensions[BUDGET_KEY]


def client_address() -> str:
    """The client a request counts against: its remote address. Behind a reverse proxy that
    is the proxy's, unless the application is wrapped in ``werkzeug.middleware.proxy_fix``
    with the number of proxies to trust (README.md, "Running it in public").

    An IPv6 client counts by its /64 network: one host is usually given a whole /64, and
    would otherwise be as many clients as it has addresses."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network((parsed, 64), strict=False))
    return str(parsed)


def check_request() -> None:
    """Guard the request, then refuse an over-long URL (414) or body (413) before any view."""
    g.outbound_guard = guard.enter(current_app.extensions[POLICY_KEY])
    environ = request.environ
    url_length = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    limit = current_app.config["MAX_URL_LENGTH"]
    if url_length > limit:
        # Routing has run: POST is named only where the address takes it (not the form).
        rule = request.url_rule
        advice = (
            "Send a long query by POST."
            if rule is not None and "POST" in (rule.methods or ())
            else "Shorten it."
        )
        raise RequestURITooLarge(
            f"the URL is {url_length} characters long; the limit is {limit}. {advice}"
        )
    length, most = request.content_length, current_app.config["MAX_CONTENT_LENGTH"]
    if length is not None and most is not None and length > most:
        raise RequestEntityTooLarge(f"the body is {length} bytes; the limit is {most}")


def release_guard(error: BaseException | None) -> None:
    token = g.pop("outbound_guard", None)
    if token is not None:
        guard.leave(token)


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
