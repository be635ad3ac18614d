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

import functools
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


@functools.lru_cache(maxsize=8)
def engine_tokens(query: str) -> tuple[tuple[str, str], ...]:
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
    # A request reads the tokens of its query several times (the checks of SERVICE and LOAD,
    # the shape limits, the store's FROM test): they are read once.
    return tuple(_engine_tokens(query))


def _engine_tokens(query: str) -> Iterator[tuple[str, str]]:
    # A stack, not recursion: a query of thousands of glued keywords must not exhaust Python's
    # stack. An item is ("text", t), still to be read, or a token ready to give.
    pending: list[tuple[str, str]] = [("text", query)]
    while pending:
        kind, text = pending.pop()
        if kind != "text":
            yield kind, text
            continue
        read = list(tokens(text))
        items: list[tuple[str, str]] = []
        for index, token in enumerate(read):
            items += _read_as_engine(read, index, *token)
        pending += reversed(items)


def _read_as_engine(
    read: list[tuple[str, str]], index: int, kind: str, text: str
) -> list[tuple[str, str]]:
    """One token as the engine may read it: tokens, and texts ("text", t) to read again."""
    upper = text.upper()
    if kind == "iri" and any(mark in text for mark in _CLOSING_MARKS):
        return [("other", "<"), ("text", text[1:-1]), ("other", ">")]
    if kind == "name" and "SERVICE" in upper and upper != "SERVICE":
        parts = _SERVICE.split(text)  # the rest, with each SERVICE between
        return [
            ("name", "SERVICE") if part.upper() == "SERVICE" else ("text", part)
            for part in parts
            if part
        ]
    if kind == "name" and upper.startswith(_GLUED) and upper not in _GLUED:
        items = []
        while upper.startswith(_GLUED) and upper not in _GLUED:
            keyword = next(word for word in _GLUED if upper.startswith(word))
            items.append(("name", keyword))
            text, upper = text[len(keyword) :], upper[len(keyword) :]
        return [*items, ("text", text)]
    if kind == "pname" and upper.startswith("SERVICE") and _opens_group(read, index + 1):
        return [("name", "SERVICE"), ("text", text[7:])]
    return [(kind, text)]


def _opens_group(read: list[tuple[str, str]], start: int) -> bool:
    """Whether the first token from ``start`` that is not a comment is ``{``."""
    following = (text for kind, text in read[start:] if kind != "comment")
    return next(following, None) == "{"


_CLOSING_MARKS = (")", ",", "&&", "||")
_GLUED = ("FROM", "LOAD")
_SERVICE = re.compile("(SERVICE)", re.IGNORECASE)


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
