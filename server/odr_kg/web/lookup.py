"""The procedure lookup as a web page: ``GET /lookup``, a form submitted by GET, so every
answer has a shareable URL; ``/lookup.json`` and ``/lookup.ttl`` give the same answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from odr_kg.lookup_facts import REQUEST_KEYS, LookupInputError
from odr_kg.web.api import answer_response, get_engine, request_language

bp = Blueprint("lookup", __name__)

# The page's own parameters, beside the form's fields.
PAGE_KEYS = ("lang",)
# The fields given once per value (a group of checkboxes), read as the JSON request's list.
LIST_FIELDS = ("notYet",)
# The form's fields: the JSON request's keys, an amount of money as two fields.
MONEY_KEYS = ("paid", "guarantee")
FORM_FIELDS = tuple(
    field
    for key in REQUEST_KEYS
    for field in ((f"{key}Amount", f"{key}Currency") if key in MONEY_KEYS else (key,))
)
TEXT = {
    "en": {
        "title": "Procedure lookup",
        "role": "You are the",
        "channel": "Order",
        "claim": "Claim",
        "paid": "Amount paid",
        "guarantee": "Seller's guarantee amount",
        "currency": "currency",
        "receivedOn": "Date of confirmed receipt",
        "goodsReceivedOn": "Date the goods were received",
        "openedOn": "Date the dispute was opened (empty: not yet opened)",
        "notYet": "Not happened yet (the time limits counted from it have not started)",
        "asOf": "As of (default today)",
        "dissatisfied": "I am dissatisfied with Alibaba's decision",
        "contractForum": "Dispute clause of the contract",
        "contractForumExclusive": "Is the foreign-court clause exclusive?",
        "exclusiveValues": {
            "": "not known",
            "true": "yes, exclusive",
            "false": "no, not exclusive",
        },
        "submit": "Look up",
        "answer": "Answer",
        "applies": "applies",
        "notApplies": "does not apply",
        "decisions": "What Alibaba can decide",
        "advance": "Advance refund",
        "cap": "cap",
        "objections": "Where to object",
        "deadlines": "Deadlines",
        "caveats": "Caveats",
        "basis": "Legal basis",
        "article": "Art. {}",
        "source_only": "source",
        "statedBy": "stated by",
        "confidence": "confidence",
        "passed": "passed",
        "asJson": "Answer as JSON",
        "asTurtle": "Answer as Turtle",
        "noForum": "forum set by the contract",
        "alsoPossibly": "also possibly",
        "available": "available",
        "notAvailable": "not available",
        "errors": "Please correct",
        "approach": "Approach",
        "noDate": "no date",
        "flow": "The four stages of the procedure",
        "summary": "In short",
        "nowStatus": "Where you stand",
        "openNow": "Open now",
        "openSince": "since {date}: ",
        "byWhen": "By when",
        "alibabaMay": "What Alibaba may do",
        "whereObject": "Where to object",
        "conditions": "Conditions not known to hold",
        "exception": "Exception",
        "provisions": "What the sources also say",
        "assumed": "assumed opening date",
        "notStated": "Not stated in the sources",
        "from": "from",
        "by": "by",
        "on": "on",
        "status": {
            "applies": "applies",
            "does-not-apply": "does not apply",
            "conditional": "applies only if the conditions hold",
            "discretionary": "possible, at Alibaba's discretion",
            "not-stated": "not stated in the sources",
            "out-of-time": "out of time",
        },
        "none": "none",
        "statusShort": {
            "applies": "applies",
            "does-not-apply": "does not apply",
            "conditional": "conditional",
            "discretionary": "at Alibaba's discretion",
            "not-stated": "not stated",
            "out-of-time": "out of time",
        },
    },
    "zh": {
        "title": "程序查询",
        "role": "您是",
        "channel": "订单",
        "claim": "投诉类型",
        "paid": "实际支付金额",
        "guarantee": "卖家保障额度",
        "currency": "币种",
        "receivedOn": "确认收货日期",
        "goodsReceivedOn": "收到货物日期",
        "notYet": "尚未发生（自其起算的期限尚未开始）",
        "openedOn": "纠纷发起日期（留空：尚未发起）",
        "asOf": "查询日期（默认今天）",
        "dissatisfied": "我对阿里巴巴的决定不满",
        "contractForum": "合同争议解决条款",
        "contractForumExclusive": "外国法院管辖条款是否为专属管辖？",
        "exclusiveValues": {"": "不明", "true": "是，专属管辖", "false": "否，非专属管辖"},
        "submit": "查询",
        "answer": "结果",
        "applies": "适用",
        "notApplies": "不适用",
        "decisions": "阿里巴巴可作出的决定",
        "advance": "先行退款",
        "cap": "上限",
        "objections": "异议途径",
        "deadlines": "期限",
        "caveats": "说明",
        "basis": "法律依据",
        "article": "第{}条",
        "source_only": "来源",
        "statedBy": "出处",
        "confidence": "可信度",
        "passed": "已届满",
        "asJson": "以 JSON 下载结果",
        "asTurtle": "以 Turtle 下载结果",
        "noForum": "由合同约定",
        "alsoPossibly": "亦可能",
        "available": "可用",
        "notAvailable": "不可用",
        "errors": "请更正",
        "approach": "途径",
        "noDate": "无日期",
        "flow": "程序的四个阶段",
        "summary": "摘要",
        "nowStatus": "目前情况",
        "openNow": "现已可行使",
        "openSince": "自 {date} 起：",
        "byWhen": "期限",
        "alibabaMay": "阿里巴巴可采取的措施",
        "whereObject": "异议途径",
        "conditions": "尚不明确的条件",
        "exception": "例外",
        "provisions": "来源的其他规定",
        "assumed": "假定发起日期",
        "notStated": "来源未说明",
        "from": "起始于",
        "by": "截止于",
        "on": "发生于",
        "status": {
            "applies": "适用",
            "does-not-apply": "不适用",
            "conditional": "须满足条件方适用",
            "discretionary": "可能，由阿里巴巴自行裁量",
            "not-stated": "来源未说明",
            "out-of-time": "已逾期",
        },
        "none": "无",
        "statusShort": {
            "applies": "适用",
            "does-not-apply": "不适用",
            "conditional": "附条件",
            "discretionary": "自行裁量",
            "not-stated": "未说明",
            "out-of-time": "已逾期",
        },
        "fieldErrors": {
            "role": "请选择您的角色",
            "channel": "请选择订单类型",
            "claim": "请选择与您的角色相符的投诉类型",
            "contractForum": "请选择合同的争议解决条款",
            "contractForumExclusive": "仅在合同约定外国法院管辖时说明是否为专属管辖",
            "paidAmount": "请输入不带指数的十进制金额，例如 12000.00（最多18位数字）",
            "guaranteeAmount": "请输入不带指数的十进制金额，例如 5000.00（最多18位数字）",
            "paidCurrency": "请输入三个大写字母的币种代码，例如 USD",
            "guaranteeCurrency": "请输入与实际支付金额相同的三字母币种代码，例如 USD",
            "receivedOn": "请输入不晚于查询日期的日期（年-月-日）",
            "goodsReceivedOn": "请输入不晚于查询日期的日期（年-月-日）",
            "openedOn": "请输入不晚于查询日期的日期（年-月-日）",
            "asOf": "请输入日期（年-月-日）",
            "dissatisfiedWithDecision": "请选择是或否",
            "notYet": "请只勾选确认收货或收到货物，且不要同时填写所勾选事件的日期",
        },
    },
}


# The form input that carries each field of the JSON request.
INPUT_OF_FIELD = {
    "paid.amount": "paidAmount",
    "paid.currency": "paidCurrency",
    "guarantee.amount": "guaranteeAmount",
    "guarantee.currency": "guaranteeCurrency",
}


def request_of_form(args: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON request that the form's fields (named like the JSON keys) describe. A field
    given twice is refused; a parameter that is no field is passed on, to be refused by name
    as the JSON request's unknown keys are (a misspelt date must not be ignored unseen)."""
    for key in args:
        # A group of checkboxes (the events not happened yet) gives one value per box ticked.
        if key not in LIST_FIELDS and len(args.getlist(key)) > 1:
            raise LookupInputError(key, "is given more than once; give it once")
    lookup_request: dict[str, Any] = {
        key: args.get(key) or None for key in ("role", "channel", "claim", "contractForum")
    }
    lookup_request.update(
        {key: args.get(key) for key in args if key not in FORM_FIELDS and key not in PAGE_KEYS}
    )
    for name in MONEY_KEYS:
        amount, currency = args.get(f"{name}Amount"), args.get(f"{name}Currency")
        if amount:
            # Upper-cased in ASCII only: "uſd".upper() is "USD", a currency the user never typed.
            code = currency or ""
            lookup_request[name] = {
                "amount": amount,
                "currency": code.upper() if code.isascii() else code,
            }
    for name in ("receivedOn", "goodsReceivedOn", "openedOn", "asOf"):
        lookup_request[name] = args.get(name) or None
    for name in LIST_FIELDS:
        lookup_request[name] = [value for value in args.getlist(name) if value] or None
    # "true" and "false" are the form's yes and no; anything else is passed on to be refused.
    exclusive = args.get("contractForumExclusive") or None
    if exclusive is not None:
        lookup_request["contractForumExclusive"] = {"true": True, "false": False}.get(
            exclusive, exclusive
        )
    # A checkbox: "on" (or true, 1) when ticked, absent (or false, 0) when not; anything else
    # is passed on to be refused.
    ticked = args.get("dissatisfiedWithDecision") or "false"
    lookup_request["dissatisfiedWithDecision"] = {
        "true": True,
        "on": True,
        "1": True,
        "false": False,
        "0": False,
    }.get(ticked, ticked)
    return lookup_request


def _answer_of_query() -> Any:
    engine = get_engine()
    return engine.lookup(
        engine.facts_from_json(request_of_form(request.args)), request_language(request)
    )


def _encoded_answer_of_query(answer_format: str) -> Response:
    engine = get_engine()
    return answer_response(
        engine, engine.facts_from_json(request_of_form(request.args)), answer_format
    )


@bp.get("/lookup")
def form() -> tuple[str, int]:
    asked = request.args.get("role") or request.args.get("channel") or request.args.get("claim")
    return _page(_answer_of_query().json if asked else None)


def _page(answer: dict[str, Any] | None, error: LookupInputError | None = None) -> tuple[str, int]:
    """The form, filled in from the query, with the answer, or with what to fix (422)."""
    lang = request_language(request)
    engine = get_engine()
    values: dict[str, Any] = {key: request.args.get(key, "") for key in FORM_FIELDS}
    values.update({key: request.args.getlist(key) for key in LIST_FIELDS})
    field_errors: dict[str, str] = {}
    for one in error.errors if error is not None else ():
        key = INPUT_OF_FIELD.get(one.field, one.field)
        allowed = f" ({', '.join(one.allowed)})" if one.allowed else ""
        # The engine words its refusals in English; a page in another language says what to
        # fix in its own words, keeping the allowed values.
        wording = TEXT[lang].get("fieldErrors", {})
        field_errors.setdefault(key, wording.get(key, one.message) + allowed)
    query = {
        key: [value for value in request.args.getlist(key) if value]
        for key in request.args
        if any(request.args.getlist(key))
    }
    return render_template(
        "lookup.html",
        lang=lang,
        text=TEXT[lang],
        vocabulary=engine.vocabulary_json(lang),
        values=values,
        answer=answer,
        error=error,
        field_errors=field_errors,
        base=engine.base,
        json_url=url_for("lookup.as_json", **query),
        turtle_url=url_for("lookup.as_turtle", **query),
        other_lang_url=url_for("lookup.form", **{**query, "lang": "en" if lang == "zh" else "zh"}),
    ), 200 if error is None else error.status


@bp.get("/lookup.json")
def as_json() -> Response:
    return _encoded_answer_of_query("json")


@bp.get("/lookup.ttl")
def as_turtle() -> Response:
    return _encoded_answer_of_query("turtle")


@bp.errorhandler(LookupInputError)
def unacceptable(error: LookupInputError) -> tuple[str | Response, int]:
    """Facts that are not acceptable: the form again, saying what to fix, or for the answer's
    JSON and Turtle addresses, the API's JSON error (422)."""
    if request.endpoint == "lookup.form":
        return _page(None, error)
    return jsonify(error={"status": error.status, **error.to_json()}), error.status
