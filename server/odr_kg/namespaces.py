"""The project's vocabulary as closed namespaces: a typo raises instead of minting an IRI.

Each term here is declared in ``ontology/odr.ttl``; ``tests/test_ontology.py`` checks both ways.
The terms are written with :data:`~odr_kg.resources.DEFAULT_BASE`; code serving another base
asks :func:`odr_term` for a term's IRI there.
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import DefinedNamespace, Namespace

from odr_kg.resources import DEFAULT_BASE, rebase


class ODR(DefinedNamespace):
    """The odr-kg ontology, ``https://w3id.org/odr-kg/def/``."""

    _NS = Namespace(DEFAULT_BASE + "def/")
    _fail = True

    # Classes
    AdvanceRefund: URIRef
    Agreement: URIRef
    ArbitrationInstitution: URIRef
    Arrangement: URIRef
    Article: URIRef
    Buyer: URIRef
    Case: URIRef
    Channel: URIRef
    ClaimType: URIRef
    Condition: URIRef
    Confidence: URIRef
    ContractingEntity: URIRef
    ContractingEntityRule: URIRef
    Court: URIRef
    DayCount: URIRef
    Decision: URIRef
    DecisionFamily: URIRef
    EscalationStep: URIRef
    Forum: URIRef
    ForumChoice: URIRef
    ForumClause: URIRef
    Objection: URIRef
    ObjectionRoute: URIRef
    OnlineDisputeResolutionCentre: URIRef
    Part: URIRef
    Party: URIRef
    PartyRole: URIRef
    Place: URIRef
    Platform: URIRef
    ProcedureKind: URIRef
    Provision: URIRef
    Remedy: URIRef
    RuleDocument: URIRef
    RuleDocumentVersion: URIRef
    Seller: URIRef
    Service: URIRef
    Source: URIRef
    SourceVersion: URIRef
    Stage: URIRef
    TimeLimit: URIRef
    TransactionContract: URIRef
    Treaty: URIRef
    TreatyApplication: URIRef
    TriggerEvent: URIRef

    # Properties
    actor: URIRef
    advanceRefund: URIRef
    against: URIRef
    againstRole: URIRef
    amount: URIRef
    amountPaid: URIRef
    appliesBetween: URIRef
    audience: URIRef
    automatic: URIRef
    caseProperty: URIRef
    buyer: URIRef
    capBy: URIRef
    channel: URIRef
    claimType: URIRef
    claimedBy: URIRef
    claimsNotHappened: URIRef
    silentBefore: URIRef
    compulsoryPowers: URIRef
    condition: URIRef
    deadlineFor: URIRef
    endsCoverage: URIRef
    fullyInForceOn: URIRef
    outerBound: URIRef
    readingNote: URIRef
    requiresAmount: URIRef
    satisfies: URIRef
    routeCondition: URIRef
    claimTypeCovered: URIRef
    complainant: URIRef
    confidence: URIRef
    conflictsWith: URIRef
    contractingEntity: URIRef
    countedFrom: URIRef
    dateSigned: URIRef
    dayCount: URIRef
    days: URIRef
    decision: URIRef
    exception: URIRef
    exclusiveJurisdiction: URIRef
    forum: URIRef
    forumChoice: URIRef
    forumClause: URIRef
    forumFromContract: URIRef
    governingLaw: URIRef
    governs: URIRef
    goodsReceivedOn: URIRef
    guaranteeAmount: URIRef
    handledIn: URIRef
    handlesClaim: URIRef
    excludesClaim: URIRef
    inTensionWith: URIRef
    notYet: URIRef
    inVersion: URIRef
    legalBasis: URIRef
    memberLocation: URIRef
    minDays: URIRef
    nextStage: URIRef
    notHandledIn: URIRef
    notStated: URIRef
    objection: URIRef
    offersAdvanceRefund: URIRef
    onDay: URIRef
    openedOn: URIRef
    operates: URIRef
    place: URIRef
    procedureKind: URIRef
    qualifiedInstitution: URIRef
    receivedOn: URIRef
    remedy: URIRef
    remedyCondition: URIRef
    reservation: URIRef
    respondent: URIRef
    retrievedOn: URIRef
    roleOf: URIRef
    route: URIRef
    seller: URIRef
    since: URIRef
    sourceGrade: URIRef
    sourceNote: URIRef
    stage: URIRef
    stageOrder: URIRef
    supplements: URIRef
    transaction: URIRef
    treaty: URIRef
    whenForumChoice: URIRef
    wording: URIRef


def odr_term(name: str, base: str = DEFAULT_BASE) -> str:
    """The IRI of the ontology term ``name`` in a graph published under ``base``; a name the
    ontology does not declare raises :class:`AttributeError`."""
    return rebase(str(getattr(ODR, name)), base)


def odr_namespace(base: str = DEFAULT_BASE) -> str:
    """The ontology's namespace in a graph published under ``base``."""
    return rebase(str(ODR._NS), base)
