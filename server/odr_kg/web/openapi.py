"""The OpenAPI 3 description of the JSON API (``/api/*``), served at ``/openapi.json``.

Written by hand as data; ``tests/test_openapi.py`` checks that it names exactly the routes and
methods of the ``api`` blueprint, and schemathesis (``bench/fuzz.py``, ``tests/test_fuzz.py``)
sends what it describes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__)

_ERROR = {
    "description": "The request was not acceptable; `error.message` says why.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {
                            "status": {"type": "integer"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                            "allowed": {"type": "array", "items": {"type": "string"}},
                            "line": {"type": ["integer", "null"]},
                            "errors": {
                                "type": "array",
                                "description": "The problems of the request, the first "
                                "one first (present when there is more than one; at most 20).",
                                "items": {"type": "object"},
                            },
                            "unlisted": {
                                "type": "integer",
                                "description": "How many more problems there are than "
                                "errors lists.",
                            },
                        },
                    }
                },
            }
        }
    },
}
_MONEY = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {
        "amount": {
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?$",
            "maxLength": 19,
            "description": "Plain decimal notation, no exponent; at most 18 digits. "
            '"0" says nothing was paid.',
            "example": "1200.00",
        },
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "example": "USD"},
    },
}
_STATUS = {
    "type": "string",
    "enum": [
        "applies",
        "does-not-apply",
        "conditional",
        "out-of-time",
        "discretionary",
        "not-stated",
    ],
    "description": "applies: with no unmet or unknown condition; conditional: only if the "
    "listed conditions hold; out-of-time: a sourced time limit has passed (the source's own "
    "exception, if any, is named); discretionary (a decision's remedy only): a possible "
    "outcome at Alibaba's sole discretion, never one that applies; not-stated: the sources do "
    "not say whether or how it runs for this dispute (e.g. enforcing a decision in a seller's "
    "favour, or on a Secure Payment order).",
}
_BASIS = {
    "type": "object",
    "properties": {
        "iri": {"type": "string", "description": "The article, or the statement, cited."},
        "document": {"type": ["string", "null"], "description": "The rule document, if any."},
        "article": {"type": ["string", "null"]},
        "source": {"type": "string", "description": "The public source that states it."},
        "confidence": {"type": "string", "enum": ["high", "medium", "low"]},
    },
}
_CONDITION = {
    "type": "object",
    "required": ["iri", "label", "legalBasis"],
    "properties": {
        "iri": {"type": "string"},
        "label": {"type": "string", "description": "The condition in the answer's language."},
        "legalBasis": {
            "type": "array",
            "items": _BASIS,
            "description": "The sources (and articles) that state the condition; never empty.",
        },
    },
}
_DECISION = {
    "type": "object",
    "properties": {
        "remedy": {"type": "string"},
        "iri": {"type": "string"},
        "label": {"type": "string"},
        "status": _STATUS,
        "enforceable": {
            "type": ["boolean", "null"],
            "description": "false where the sources deny Alibaba the power to compel it; "
            "null where they are silent.",
        },
        "family": {"type": "object"},
        "reason": {"type": ["string", "null"]},
        "conditions": {
            "type": "array",
            "items": _CONDITION,
            "description": "Where the status is conditional: the conditions it holds on (the "
            "decision's own, and on an offline order that the Transaction Dispute Rules reach it).",
        },
        "notStated": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What the sources leave unstated about the remedy's decision "
            "family (which claim types it covers).",
        },
        "legalBasis": {"type": "array", "items": _BASIS},
    },
}
_DEADLINE = {
    "type": "object",
    "properties": {
        "label": {"type": "string"},
        "kind": {"type": "string", "enum": ["by", "from", "on"]},
        "date": {"type": ["string", "null"], "format": "date"},
        "passed": {"type": ["boolean", "null"], "description": "For a by-date only."},
        "reached": {"type": ["boolean", "null"], "description": "For a from- or on-date."},
        "judgedOn": {"type": ["string", "null"], "format": "date"},
        "assumedOpening": {
            "type": "boolean",
            "description": "Counted from an opening date assumed to be asOf.",
        },
        "version": {"type": ["string", "null"]},
        "notLive": {
            "type": ["string", "null"],
            "description": "Why the step is not reached: the dispute is out of time, so its "
            "steps do not run (date, passed and reached are then null).",
        },
        "legalBasis": {"type": "array", "items": _BASIS},
    },
}
_ANSWER = {
    "type": "object",
    "required": ["stages", "decisions", "enforcement", "objections", "caveats"],
    "properties": {
        "stages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "stage": {"type": "string"},
                    "applies": {"type": "boolean"},
                    "status": _STATUS,
                    "reason": {"type": "string"},
                    "conditions": {"type": "array", "items": _CONDITION},
                    "exception": {"type": ["string", "null"]},
                    "legalBasis": {"type": "array", "items": _BASIS},
                    "deadlines": {"type": "array", "items": _DEADLINE},
                    "provisions": {"type": "array", "items": {"type": "object"}},
                    "notStated": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "decisions": {"type": "array", "items": _DECISION},
        "enforcement": {"type": "object"},
        "objections": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Each approach: status, procedure, forum, reason, conditions, "
            "legalBasis, and alternatives: forums a source gives beside the approach's own, on "
            "conditions of their own (the Chinese courts for a buyer beside a foreign court the "
            "contract names not exclusively), each with status, procedure, forum, reason, "
            "conditions and legalBasis.",
        },
        "caveats": {"type": "array", "items": {"type": "string"}},
    },
}
_CASE_GRAPH = {"type": "string", "description": "A case graph (see cases/ in the repository)."}
_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "The answer's language; another value is refused (422). Absent: the best "
    "of Accept-Language.",
    "schema": {"type": "string", "enum": ["en", "zh"]},
}
_ERRORS = {status: _ERROR for status in ("400", "413", "415", "422")}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "ODR knowledge graph: procedure lookup API",
        "version": "0.1.0",
        "description": "Which procedure applies to a dispute on Alibaba.com, and why. The "
        "SPARQL endpoint at /sparql follows the SPARQL 1.1 Protocol instead.",
    },
    "paths": {
        "/api/lookup": {
            "post": {
                "summary": "The procedure, deadlines and remedies for the facts of a dispute",
                "parameters": [
                    _LANG,
                    {
                        "name": "asOf",
                        "in": "query",
                        "required": False,
                        "description": "The as-of date of a case graph (Turtle, JSON-LD); with a "
                        "JSON body, give asOf in the body (in the URL it is refused, 422).",
                        "schema": {"type": "string", "format": "date"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["role", "channel", "claim"],
                                "additionalProperties": False,
                                "properties": {
                                    "role": {"type": "string", "example": "buyer"},
                                    "channel": {"type": "string", "example": "trade-assurance"},
                                    "claim": {"type": "string", "example": "non-delivery"},
                                    "paid": _MONEY,
                                    "guarantee": _MONEY,
                                    "receivedOn": {
                                        "type": "string",
                                        "format": "date",
                                        "description": "Date of confirmed receipt of the "
                                        "products (for Secure Payment: the day the buyer "
                                        "clicked Confirm: Order Received); the TDR's 30 days "
                                        "and the Trade Assurance claim period run from it. "
                                        "Absent: the stages hold on each limit counted from "
                                        "it, listed as conditions.",
                                    },
                                    "goodsReceivedOn": {
                                        "type": "string",
                                        "format": "date",
                                        "description": "Date the goods were received; Trade "
                                        "Assurance protection runs 30 days from it. Absent: "
                                        "that limit is not dated.",
                                    },
                                    "notYet": {
                                        "type": "array",
                                        "items": {
                                            "type": "string",
                                            "enum": ["confirmed-receipt", "goods-received"],
                                        },
                                        "uniqueItems": True,
                                        "description": "Events of the order that have not "
                                        "happened yet: the limits counted from them have not "
                                        "started (not dated, not conditions). Not with the "
                                        "event's own date (receivedOn, goodsReceivedOn).",
                                    },
                                    "openedOn": {
                                        "type": "string",
                                        "format": "date",
                                        "description": "Absent: the dispute is not opened "
                                        "yet; days counted from the opening are dated as if "
                                        "opened on asOf, and marked so.",
                                    },
                                    "asOf": {"type": "string", "format": "date"},
                                    "dissatisfiedWithDecision": {"type": "boolean"},
                                    "contractForum": {"type": "string"},
                                    "contractForumExclusive": {
                                        "type": "boolean",
                                        "description": "With contractForum foreign-court "
                                        "only: whether that clause is exclusive. Absent: not "
                                        "known, and 'no exclusive foreign-court jurisdiction "
                                        "agreement' stays a condition of the Chinese courts' "
                                        "possibility for a buyer. Any other value, or one "
                                        "given with another contractForum, is refused (422).",
                                    },
                                },
                            }
                        },
                        "text/turtle": {"schema": _CASE_GRAPH},
                        "application/ld+json": {"schema": _CASE_GRAPH},
                    },
                },
                "responses": {
                    "200": {
                        "description": "The answer",
                        "content": {
                            "application/json": {"schema": _ANSWER},
                            "text/turtle": {"schema": {"type": "string"}},
                        },
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/vocabulary": {
            "get": {
                "summary": "The values each enumerated field of a lookup accepts, with labels",
                "parameters": [_LANG],
                "responses": {
                    "200": {
                        "description": "Per field, the accepted values",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/validate": {
            "post": {
                "summary": "Validate a case graph against the SHACL shapes",
                "requestBody": {
                    "required": True,
                    "content": {
                        "text/turtle": {"schema": _CASE_GRAPH},
                        "application/n-triples": {"schema": _CASE_GRAPH},
                        "application/ld+json": {"schema": _CASE_GRAPH},
                    },
                },
                "responses": {
                    "200": {
                        "description": "The validation report",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/turtle": {"schema": {"type": "string"}},
                        },
                    },
                    **_ERRORS,
                },
            }
        },
    },
}


@bp.get("/openapi.json")
def description() -> Response:
    return jsonify(SPEC)
