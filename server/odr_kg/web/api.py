"""The JSON API of the procedure lookup: ``POST /api/lookup``, ``GET /api/vocabulary`` and
``POST /api/validate``."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Flask, Request, Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType

from odr_kg.lookup import Answer, Facts, LookupEngine, LookupInputError
from odr_kg.validation import CASE_MEDIA_TYPES, ShapesValidator, UnreadableCaseError, parse_case
from odr_kg.web.extension import get_store

bp = Blueprint("api", __name__, url_prefix="/api")

ENGINE_KEY = "odr_kg.lookup"
VALIDATOR_KEY = "odr_kg.case_validator"
MAX_BODY_BYTES = 1024 * 1024
LANGUAGES = ("en", "zh")
JSON_MEDIA_TYPE = "application/json"
TURTLE_MEDIA_TYPE = "text/turtle"
ANSWER_MEDIA_TYPES = (JSON_MEDIA_TYPE, TURTLE_MEDIA_TYPE)


def init_app(app: Flask) -> None:
    """Build the lookup engine once, over the application's knowledge store."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions[ENGINE_KEY] = LookupEngine(app.extensions["odr_kg"])


def get_engine() -> LookupEngine:
    return current_app.extensions[ENGINE_KEY]


def get_case_validator() -> ShapesValidator:
    # Built on first use: it converts the graphs for pySHACL, which lookups do not need.
    validator = current_app.extensions.get(VALIDATOR_KEY)
    if validator is None:
        validator = current_app.extensions[VALIDATOR_KEY] = ShapesValidator.for_cases(get_store())
    return validator


def request_language(req: Request) -> str:
    """``?lang=`` if it names a language we have, else the best of ``Accept-Language``."""
    lang = req.args.get("lang")
    if lang in LANGUAGES:
        return lang
    return req.accept_languages.best_match(LANGUAGES, default="en") or "en"


def answer_response(answer: Answer, req: Request) -> Response:
    """The answer as JSON, or as Turtle when the client prefers it."""
    if (
        req.accept_mimetypes.best_match(ANSWER_MEDIA_TYPES, default=JSON_MEDIA_TYPE)
        == TURTLE_MEDIA_TYPE
    ):
        return Response(answer.turtle(), mimetype=TURTLE_MEDIA_TYPE)
    return Response(
        json.dumps(answer.json, ensure_ascii=False, indent=2),
        mimetype=JSON_MEDIA_TYPE,
    )


def facts_of_request(req: Request) -> Facts:
    """The facts of a lookup request: a JSON object or a case graph (Turtle, JSON-LD)."""
    engine = get_engine()
    body = req.get_data()  # raises RequestEntityTooLarge beyond MAX_CONTENT_LENGTH
    if req.mimetype == JSON_MEDIA_TYPE:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BadRequest(f"malformed JSON: {error}") from error
        return engine.facts_from_json(data)
    if req.mimetype in CASE_MEDIA_TYPES:
        case = parse_case(body, CASE_MEDIA_TYPES[req.mimetype], "request body")
        as_of = req.args.get("asOf")
        return engine.facts_from_case(case, as_of=_as_of(as_of))
    raise UnsupportedMediaType(
        f"send {JSON_MEDIA_TYPE} or a case graph ({', '.join(CASE_MEDIA_TYPES)})"
    )


def _as_of(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LookupInputError("asOf", f"{value!r} is not a date YYYY-MM-DD") from None


@bp.post("/lookup")
def lookup() -> Response:
    facts = facts_of_request(request)
    return answer_response(get_engine().lookup(facts, request_language(request)), request)


@bp.get("/vocabulary")
def vocabulary() -> Response:
    return jsonify(get_engine().vocabulary_json(request_language(request)))


@bp.post("/validate")
def validate() -> Response:
    if request.mimetype not in CASE_MEDIA_TYPES:
        raise UnsupportedMediaType(f"send a case graph ({', '.join(CASE_MEDIA_TYPES)})")
    case = parse_case(request.get_data(), CASE_MEDIA_TYPES[request.mimetype], "request body")
    report = get_case_validator().validate(case, "request body")
    if (
        request.accept_mimetypes.best_match(ANSWER_MEDIA_TYPES, default=JSON_MEDIA_TYPE)
        == TURTLE_MEDIA_TYPE
    ):
        return Response(report.graph.serialize(format="turtle"), mimetype=TURTLE_MEDIA_TYPE)
    return jsonify(report.to_json())


def error_response(error: Exception) -> tuple[Response, int]:
    """Bad input as JSON: 400 malformed, 413 too large, 415 wrong type, 422 unacceptable facts."""
    if isinstance(error, LookupInputError):
        return jsonify(error={"status": 422, **error.to_json()}), 422
    if isinstance(error, UnreadableCaseError):
        body = {"status": 400, "message": str(error), "line": error.line}
        return jsonify(error=body), 400
    assert isinstance(error, HTTPException)
    status = error.code or 400
    return jsonify(error={"status": status, "message": error.description}), status


for _error_class in (LookupInputError, UnreadableCaseError, HTTPException):
    bp.register_error_handler(_error_class, error_response)
