"""A SPARQL tokenizer after the grammar's terminals: the bare keywords of a query, with strings,
IRIs, prefixed names, numbers, language tags and comments each read as one token.

pyoxigraph exposes no query algebra, yet the endpoint wants to tell a client, before evaluation,
that ``SERVICE`` or ``LOAD`` is not available (the worker processes could not reach out anyway:
:mod:`odr_kg.sandbox`), and the store must know whether a query names its own dataset
(``FROM``). A substring test would be fooled by ``"SERVICE"`` in a literal or by
``<http://schema.org/Service>``; a tokenizer that splits differently from the engine would miss
``1.SERVICE`` or ``true.SERVICE``. This one follows the terminals of SPARQL 1.1 (section 19.8):
``1.`` is the integer 1 and a dot, ``ex:a.b`` one prefixed name, ``"x"@en`` a string and a
language tag; where the text is ambiguous it errs towards finding a keyword.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ESCAPE = r"""\\[_~.\-!$&'()*+,;=/?#@%]"""
_HEX = r"%[0-9A-Fa-f]{2}"
_LOCAL_FIRST = rf"(?:[\w:]|{_HEX}|{_ESCAPE})"
_LOCAL_LAST = rf"(?:[\w:\-\u00B7]|{_HEX}|{_ESCAPE})"
_LOCAL_MIDDLE = rf"(?:[\w.:\-\u00B7]|{_HEX}|{_ESCAPE})"
_PREFIX = r"[^\W\d_](?:[\w.\-\u00B7]*[\w\-\u00B7])?"

_TOKEN = re.compile(
    rf"""
      (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
                |\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n\r]|\\.)*'
                |"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<variable>[?$]\w+)
    | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
    | (?P<number>\d+\.?\d*[eE][+-]?\d+|\.\d+[eE][+-]?\d+|\d*\.\d+|\d+)
    | (?P<pname>_:\w(?:[\w.\-\u00B7]*[\w\-\u00B7])?
              |(?:{_PREFIX})?:(?:{_LOCAL_FIRST}(?:{_LOCAL_MIDDLE}*{_LOCAL_LAST})?)?)
    | (?P<name>[^\W\d]\w*)
    | (?P<other>&&|\|\||!=|<=|>=|\^\^|\S)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(query: str) -> Iterator[tuple[str, str]]:
    """The tokens of ``query`` as ``(kind, text)``: kind ``string``, ``iri``, ``comment``,
    ``variable``, ``langtag``, ``number``, ``pname`` (a prefixed name or blank node label),
    ``name`` (a keyword, function name, ``a``, ``true`` or ``false``) or ``other`` (an
    operator or punctuation: one character, or ``&&``, ``||``, ``!=``, ``<=``, ``>=``, ``^^``)."""
    for match in _TOKEN.finditer(query):
        yield match.lastgroup or "other", match.group()


def engine_tokens(query: str) -> Iterator[tuple[str, str]]:
    """The tokens of ``query`` where the engine may read more than :func:`tokens` does,
    each ambiguity resolved towards what a limit or a refusal must see:

    - The engine matches a keyword without a word boundary: ``SERVICESILENT<…>`` is
      ``SERVICE SILENT <…>`` to it, and in a group, ``SERVICEex:`` or ``service:`` (a prefixed
      name) calls the endpoint the prefix names. So a bare word holding ``SERVICE``, or one
      beginning with ``FROM`` or ``LOAD``, and a prefixed name beginning with ``SERVICE`` that
      is followed by a group ``{`` (as a SERVICE's endpoint is), are split into the keyword and
      the tokens of the rest. (``?s service:p ?o`` stays a prefixed name.)
    - ``?a<((?b))&&?c>?d`` is one IRI to a tokenizer and ``?a < ((?b)) && ?c > ?d`` to the
      engine, which reads ``<`` as an operator after a term. An "IRI" holding ``)``, ``,``,
      ``&&`` or ``||`` (text that lets the engine close an expression before its ``>``) is
      given as ``<``, the tokens of its inside, and ``>``, so that its brackets, operators
      and words count too. (A real IRI with a bracket, ``<…/Foo_(bar)>``, only counts a
      little more than it should.)
    """
    read = list(tokens(query))
    for index, (kind, text) in enumerate(read):
        upper = text.upper()
        if kind == "iri" and any(mark in text for mark in _CLOSING_MARKS):
            yield "other", "<"
            yield from engine_tokens(text[1:-1])
            yield "other", ">"
        elif kind == "name" and "SERVICE" in upper and upper != "SERVICE":
            before, after = text[: upper.index("SERVICE")], text[upper.index("SERVICE") + 7 :]
            yield from engine_tokens(before)
            yield "name", "SERVICE"
            yield from engine_tokens(after)
        elif kind == "name" and upper.startswith(_GLUED) and upper not in _GLUED:
            keyword = next(word for word in _GLUED if upper.startswith(word))
            yield "name", keyword
            yield from engine_tokens(text[len(keyword) :])
        elif kind == "pname" and upper.startswith("SERVICE") and _opens_group(read, index + 1):
            yield "name", "SERVICE"
            yield from engine_tokens(text[7:])
        else:
            yield kind, text


def _opens_group(read: list[tuple[str, str]], start: int) -> bool:
    """Whether the first token from ``start`` that is not a comment is ``{``."""
    following = (text for kind, text in read[start:] if kind != "comment")
    return next(following, None) == "{"


_CLOSING_MARKS = (")", ",", "&&", "||")
_GLUED = ("FROM", "LOAD")


def service_targets(query: str) -> list[str | None]:
    """What each ``SERVICE`` of ``query`` calls, in order: the IRI written ``<...>``, or
    ``None`` when it is a variable or a prefixed name (which this tokenizer cannot resolve)."""
    targets: list[str | None] = []
    significant = [(kind, text) for kind, text in engine_tokens(query) if kind != "comment"]
    for index, (kind, text) in enumerate(significant):
        if kind != "name" or text.upper() != "SERVICE":
            continue
        following = significant[index + 1 : index + 3]
        if following and following[0][0] == "name" and following[0][1].upper() == "SILENT":
            following = following[1:]
        if following and following[0][0] == "iri":
            targets.append(following[0][1][1:-1])
        else:
            targets.append(None)
    return targets


def keywords(query: str) -> list[str]:
    """The bare words of ``query`` in upper case, in order, as the engine may read them
    (:func:`engine_tokens`): keywords, ``a``, function names, booleans. Prefixed names,
    variables, IRIs, literals, numbers and comments are left out."""
    return [text.upper() for kind, text in engine_tokens(query) if kind == "name"]
