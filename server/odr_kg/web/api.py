"""The JSON API of the procedure lookup: ``POST /api/lookup``, ``GET /api/vocabulary`` and
``POST /api/validate``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType

from odr_kg.jobs import CaseBounds, JobFailedError, ParseJob, ValidateJob
from odr_kg.limits import LimitError, check_json_depth, load_json
from odr_kg.lookup import LookupEngine
from odr_kg.lookup_facts import Facts, LookupInputError, parse_date, quoted
from odr_kg.lookup_service import LookupService
from odr_kg.validation import CASE_MEDIA_TYPES, UnreadableCaseError
from odr_kg.web.extension import get_workers
from odr_kg.web.security import client_address, get_client_budget
from odr_kg.workers import WorkerError

bp = Blueprint("api", __name__, url_prefix="/api")

ENGINE_KEY = "odr_kg.lookup"
LANGUAGES = ("en", "zh")
JSON_MEDIA_TYPE = "application/json"
TURTLE_MEDIA_TYPE = "text/turtle"
ANSWER_MEDIA_TYPES = (JSON_MEDIA_TYPE, TURTLE_MEDIA_TYPE)


def init_app(app: Flask) -> None:
    """Build the lookup service once, over the application's knowledge store."""
    config = app.config
    app.extensions[ENGINE_KEY] = LookupService(
        app.extensions["odr_kg"],
        cache_bytes=int(float(config["LOOKUP_CACHE_MB"]) * 2**20),
        refresh_seconds=float(config["LOOKUP_REFRESH_SECONDS"]),
    )


def get_lookup() -> LookupService:
    """The lookup service of the application handling the current request."""
    return current_app.extensions[ENGINE_KEY]


def get_engine() -> LookupEngine:
    """The lookup engine over the store's current data."""
    return get_lookup().engine()


def request_language(req: Request) -> str:
    """``?lang=`` if it names a language we have, else the best of ``Accept-Language``."""
    lang = req.args.get("lang")
    if lang in LANGUAGES:
        return lang
    return req.accept_languages.best_match(LANGUAGES, default="en") or "en"


def check_language(req: Request) -> None:
    """Refuse (422) a ``?lang=`` that names no language we have: an API client would get the
    answer in another without a word. (The pages fall back to English instead.)"""
    lang = req.args.get("lang")
    if lang is not None and lang not in LANGUAGES:
        raise LookupInputError(
            "lang", f"{quoted(lang)} is not a language of the answers", LANGUAGES
        )


def answer_response(engine: LookupEngine, facts: Facts, answer_format: str) -> Response:
    """The answer to ``facts`` by ``engine`` (from :func:`get_engine`) in ``answer_format``,
    ``json`` or ``turtle``, in the request's language."""
    body = get_lookup().answer(engine, facts, request_language(request), answer_format)
    media_type = TURTLE_MEDIA_TYPE if answer_format == "turtle" else JSON_MEDIA_TYPE
    return Response(body, mimetype=media_type)


def preferred_answer_format(req: Request) -> str:
    """``turtle`` when the client prefers Turtle to JSON, else ``json``."""
    best = req.accept_mimetypes.best_match(ANSWER_MEDIA_TYPES, default=JSON_MEDIA_TYPE)
    return "turtle" if best == TURTLE_MEDIA_TYPE else "json"


def facts_of_request(req: Request, engine: LookupEngine) -> Facts:
    """The facts of a lookup request: a JSON object or a case graph (Turtle, JSON-LD)."""
    body = req.get_data()  # raises RequestEntityTooLarge beyond MAX_CONTENT_LENGTH
    if req.mimetype == JSON_MEDIA_TYPE:
        config = current_app.config
        try:
            data = load_json(body, config["MAX_JSON_DEPTH"], config["MAX_JSON_NUMBER_LENGTH"])
        except (UnicodeDecodeError, ValueError) as error:
            raise BadRequest(f"malformed JSON: {error}") from error
        if "asOf" in req.args:
            # Read beside a case graph only: ignored here, it would go without a word.
            raise LookupInputError(
                "asOf", "is read from the URL only beside a case graph; give asOf in the JSON body"
            )
        return engine.facts_from_json(data)
    if req.mimetype in CASE_MEDIA_TYPES:
        case = read_case(ParseJob, body, req.mimetype)
        return engine.facts_from_case(case, as_of=parse_date(req.args.get("asOf"), "asOf"))
    raise UnsupportedMediaType(
        f"send {JSON_MEDIA_TYPE} or a case graph ({', '.join(CASE_MEDIA_TYPES)})"
    )


def read_case(job_class: type[ParseJob], body: bytes, media_type: str, **job: object) -> Any:
    """The answer of a worker to a :class:`ParseJob` (the case graph) or a
    :class:`ValidateJob` (the report) on a case graph sent in a request: JSON-LD nested too
    deep is refused before any parser sees it; the rest is read, bounded in triples, cases and
    time, in a confined worker, within the client's fair share."""
    config = current_app.config
    if media_type == "application/ld+json":
        check_json_depth(body, config["MAX_JSON_DEPTH"])
    bounds = CaseBounds(config["MAX_CASE_TRIPLES"], config["MAX_CASES_PER_REQUEST"])
    work = job_class(body, media_type, "request body", bounds, **job)
    with get_client_budget().admit(client_address()) as ticket:
        return get_workers().run(work, float(config["VALIDATION_TIMEOUT"]), ticket)


@bp.post("/lookup")
def lookup() -> Response:
    check_language(request)
    engine = get_engine()
    facts = facts_of_request(request, engine)
    return answer_response(engine, facts, preferred_answer_format(request))


@bp.get("/vocabulary")
def vocabulary() -> Response:
    check_language(request)
    return jsonify(get_engine().vocabulary_json(request_language(request)))


@bp.post("/validate")
def validate() -> Response:
    if request.mimetype not in CASE_MEDIA_TYPES:
        raise UnsupportedMediaType(f"send a case graph ({', '.join(CASE_MEDIA_TYPES)})")
    turtle = (
        request.accept_mimetypes.best_match(ANSWER_MEDIA_TYPES, default=JSON_MEDIA_TYPE)
        == TURTLE_MEDIA_TYPE
    )
    report, report_turtle = read_case(
        ValidateJob, request.get_data(), request.mimetype, turtle=turtle
    )
    if turtle:
        return Response(report_turtle, mimetype=TURTLE_MEDIA_TYPE)
    return jsonify(report)


@bp.errorhandler(LookupInputError)
@bp.errorhandler(UnreadableCaseError)
@bp.errorhandler(LimitError)
@bp.errorhandler(WorkerError)
@bp.errorhandler(JobFailedError)
def refused(error: Exception) -> tuple[Response, int]:
    """Bad input as JSON: 400 malformed, 413 too large, 415 wrong type, 422 unacceptable facts,
    429 over the client's fair share, 502/503 when a worker could not answer. An HTTP error
    reaches it through the site's handler (``home.error_page``), also where no view matched.
    Each error says its status (Werkzeug's as ``code``), and what to fix in ``to_json`` where
    it says more than its message."""
    headers: list[tuple[str, str]] = []
    if isinstance(error, HTTPException):
        status, body = error.code or 400, {"message": error.description}
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            body["message"] = f"{error.description} Use {', '.join(sorted(allowed))}."
        # Werkzeug's own headers (Allow on a 405), not its HTML content type.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    else:
        status = error.status
        body = error.to_json() if hasattr(error, "to_json") else {"message": str(error)}
    response = jsonify(error={"status": status, **body})
    response.headers.extend(headers)
    if getattr(error, "retry_after", None) is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response, status
