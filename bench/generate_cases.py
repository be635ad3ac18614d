"""Synthetic case graphs for benchmarks and differential tests: seeded and reproducible.

Each case follows the model of ``cases/*.ttl`` and ``ontology/case-shapes.ttl``: a case with its
channel, claim type, dates, parties, a transaction with the amount paid (and, under Trade
Assurance, the seller's guarantee), often a decision with its remedy and legal basis, an advance
refund within the guarantee, an objection by route A (against Alibaba, at HKIAC) or route B
(against the counterparty, in the Chinese courts). About 25 triples a case. A share of the cases
(``--invalid``) carries one fault from :data:`FAULTS`, each breaking the shape it names.

    python bench/generate_cases.py 1000 --out /tmp/cases            # one .nt file a case
    python bench/generate_cases.py 100000 --single /tmp/cases.nq    # one N-Quads file
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KG = "https://w3id.org/odr-kg/"
ODR = f"{KG}def/"
CASES = "https://example.org/cases/"
SCHEMA = "http://schema.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
TDR = f"{KG}eli/alibaba/transaction-dispute-rules/art_"

CURRENCIES = ("USD", "EUR", "CNY", "GBP", "JPY", "AUD", "CAD", "HKD")
TRADE_ASSURANCE_CLAIMS = ("non-delivery", "quality", "shortage", "damage", "non-payment")
OFFLINE_CLAIMS = ("non-delivery", "non-payment")
# The articles grounding each remedy (TDR; the families of odrsh:DecisionGroundingShape).
REFUND_ARTICLES = ("31", "32", "40", "41", "46", "48", "55", "56")
DAMAGES_ARTICLES = ("24", "30", "35", "36", "49")
REMEDIES = {
    "refund": REFUND_ARTICLES,
    "partial-refund": REFUND_ARTICLES,
    "return-and-refund": REFUND_ARTICLES,
    "compensation": DAMAGES_ARTICLES,
    "liquidated-damages": DAMAGES_ARTICLES,
}
# One fault per invalid case, and the shape it breaks.
FAULTS = {
    "lowercase-currency": "MonetaryAmountCurrencyShape",
    "amount-as-string": "MonetaryAmountValueShape",
    "missing-channel": "CaseChannelShape",
    "unknown-claim-type": "CaseClaimTypeShape",
    "buyer-is-seller": "TransactionContractBuyerShape",
    "advance-refund-above-guarantee": "AdvanceRefundCapShape",
    "remedy-wrong-article": "DecisionGroundingShape",
    "offline-quality-claim": "ClaimChannelShape",
}


@dataclass(frozen=True)
class Case:
    """One generated case: its name, its triples as N-Triples lines, and its fault if any."""

    name: str
    lines: list[str]
    fault: str | None


def iri(value: str) -> str:
    return f"<{value}>"


def literal(value: str, datatype: str | None = None) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"' + (f"^^<{XSD}{datatype}>" if datatype else "")


def generate(count: int, seed: int = 1, invalid_share: float = 0.1) -> Iterator[Case]:
    """``count`` cases; the same ``seed`` gives the same cases."""
    rng = random.Random(seed)
    for number in range(count):
        fault = rng.choice(sorted(FAULTS)) if rng.random() < invalid_share else None
        yield make_case(rng, f"gen-{seed}-{number:07d}", fault)


def make_case(rng: random.Random, name: str, fault: str | None) -> Case:
    base = f"{CASES}{name}/"
    node = {part: iri(base + part) for part in ("case", "order", "buyer", "seller", "decision")}
    node |= {part: iri(base + part) for part in ("advance-refund", "objection")}
    lines: list[str] = []

    def add(subject: str, predicate: str, obj: str) -> None:
        lines.append(f"{subject} {iri(predicate)} {obj} .")

    def money(subject: str, predicate: str, key: str, amount: float, currency: str) -> None:
        amount_node = iri(f"{base}{key}")
        add(subject, predicate, amount_node)
        add(amount_node, RDF_TYPE, iri(f"{SCHEMA}MonetaryAmount"))
        value = literal(f"{amount:.2f}", None if fault == "amount-as-string" else "decimal")
        add(amount_node, f"{SCHEMA}value", value)
        add(amount_node, f"{SCHEMA}currency", literal(currency))

    trade_assurance = fault in ("advance-refund-above-guarantee", "remedy-wrong-article") or (
        fault != "offline-quality-claim" and rng.random() < 0.75
    )
    channel = "trade-assurance" if trade_assurance else "offline"
    claims = TRADE_ASSURANCE_CLAIMS if trade_assurance else OFFLINE_CLAIMS
    claim = "quality" if fault == "offline-quality-claim" else rng.choice(claims)
    if fault == "unknown-claim-type":
        claim = "late-delivery"
    currency = rng.choice(CURRENCIES)
    paid = round(rng.lognormvariate(8, 1.2), 2) + 1
    received = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(900))
    opened = received + dt.timedelta(days=rng.randrange(1, 30))
    buyer_complains = claim != "non-payment"
    complainant, respondent = (
        (node["buyer"], node["seller"]) if buyer_complains else (node["seller"], node["buyer"])
    )

    case = node["case"]
    add(case, RDF_TYPE, iri(f"{ODR}Case"))
    add(case, f"{ODR}transaction", node["order"])
    if fault != "missing-channel":
        add(case, f"{ODR}channel", iri(f"{KG}id/channel/{channel}"))
    add(case, f"{ODR}claimType", iri(f"{KG}id/claim/{claim}"))
    add(case, f"{ODR}openedOn", literal(opened.isoformat(), "date"))
    add(case, f"{ODR}complainant", complainant)
    add(case, f"{ODR}respondent", respondent)
    add(node["buyer"], RDF_TYPE, iri(f"{ODR}Buyer"))
    add(node["seller"], RDF_TYPE, iri(f"{ODR}Seller"))
    order = node["order"]
    add(order, RDF_TYPE, iri(f"{ODR}TransactionContract"))
    add(order, f"{ODR}buyer", node["buyer"])
    add(order, f"{ODR}seller", node["buyer"] if fault == "buyer-is-seller" else node["seller"])
    money(
        order,
        f"{ODR}amountPaid",
        "paid",
        paid,
        currency.lower() if fault == "lowercase-currency" else currency,
    )
    add(order, f"{ODR}receivedOn", literal(received.isoformat(), "date"))
    guarantee = None
    if trade_assurance:
        guarantee = round(paid * rng.uniform(0.3, 1.0), 2)
        money(order, f"{ODR}guaranteeAmount", "guarantee", guarantee, currency)
    if trade_assurance and (rng.random() < 0.6 or fault in ("remedy-wrong-article",)):
        remedy = rng.choice(sorted(REMEDIES))
        articles = REMEDIES[remedy]
        if fault == "remedy-wrong-article":
            articles = DAMAGES_ARTICLES if articles is REFUND_ARTICLES else REFUND_ARTICLES
        add(case, f"{ODR}decision", node["decision"])
        add(node["decision"], RDF_TYPE, iri(f"{ODR}Decision"))
        add(node["decision"], f"{ODR}remedy", iri(f"{KG}id/remedy/{remedy}"))
        add(node["decision"], f"{ODR}legalBasis", iri(TDR + rng.choice(articles)))
    if guarantee is not None and (
        fault == "advance-refund-above-guarantee" or (buyer_complains and rng.random() < 0.3)
    ):
        above = fault == "advance-refund-above-guarantee"
        advance = guarantee + 1 if above else round(guarantee * rng.uniform(0.2, 1.0), 2)
        add(case, f"{ODR}advanceRefund", node["advance-refund"])
        add(node["advance-refund"], RDF_TYPE, iri(f"{ODR}AdvanceRefund"))
        money(node["advance-refund"], f"{ODR}amount", "advance", advance, currency)
    if rng.random() < 0.35:
        objection = node["objection"]
        add(case, f"{ODR}objection", objection)
        add(objection, RDF_TYPE, iri(f"{ODR}Objection"))
        if trade_assurance and buyer_complains and rng.random() < 0.5:
            add(objection, f"{ODR}route", iri(f"{KG}id/route/A"))
            add(objection, f"{ODR}forum", iri(f"{KG}id/forum/hkiac"))
            add(objection, f"{ODR}against", iri(f"{KG}id/agent/alibaba-com"))
        else:
            add(objection, f"{ODR}route", iri(f"{KG}id/route/B"))
            add(objection, f"{ODR}forum", iri(f"{KG}id/forum/chinese-peoples-courts"))
            add(objection, f"{ODR}against", respondent)
    return Case(name, lines, fault)


def write(cases: Iterator[Case], out: Path | None, single: Path | None) -> int:
    """Write one ``<name>.nt`` file a case into ``out``, or all of them as N-Quads (one
    graph a case, ``<base>graph/case/<name>``) or N-Triples into ``single``."""
    written = 0
    if single is not None:
        with single.open("w", encoding="utf-8") as output:
            quads = single.suffix == ".nq"
            for case in cases:
                graph = f" <{KG}graph/case/{case.name}> ." if quads else " ."
                output.writelines(line[:-2] + graph + "\n" for line in case.lines)
                written += 1
        return written
    assert out is not None
    out.mkdir(parents=True, exist_ok=True)
    for case in cases:
        (out / f"{case.name}.nt").write_text("\n".join(case.lines) + "\n", encoding="utf-8")
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="how many cases")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid", type=float, default=0.1, help="share of invalid cases")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="a folder: one N-Triples file a case")
    target.add_argument("--single", type=Path, help="one file: .nq (a graph a case) or .nt")
    args = parser.parse_args(argv)
    written = write(generate(args.count, args.seed, args.invalid), args.out, args.single)
    print(f"{written} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
