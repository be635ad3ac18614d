"""The ontology parses, has a proper header, and labels every term in English and Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from odr_kg import resources
from odr_kg.namespaces import ODR

ONTOLOGY_IRI = rdflib.URIRef("https://w3id.org/odr-kg/def")


LOOKUP_IRI = rdflib.URIRef("https://w3id.org/odr-kg/def/lookup")


def ontology_file(name: str) -> rdflib.Graph:
    (entry,) = [entry for entry in resources.ontology_files() if entry.name == name]
    return rdflib.Graph().parse(data=entry.read_text(encoding="utf-8"), format="turtle")


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return ontology_file("odr.ttl")


@pytest.fixture(scope="module")
def lookup_vocabulary() -> rdflib.Graph:
    return ontology_file("lookup.ttl")


def declared_terms(ontology: rdflib.Graph) -> set[rdflib.URIRef]:
    kinds = (
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.NamedIndividual,
    )
    return {term for kind in kinds for term in ontology.subjects(RDF.type, kind)}


def test_header_has_version_license_and_dates(ontology: rdflib.Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    version_iri = ontology.value(ONTOLOGY_IRI, OWL.versionIRI)
    version = ontology.value(ONTOLOGY_IRI, OWL.versionInfo)
    assert version_iri is not None and str(version_iri).endswith(str(version))
    for predicate in ("license", "modified"):
        assert ontology.value(ONTOLOGY_IRI, rdflib.DCTERMS[predicate]) is not None


def test_every_term_is_labelled_in_english_and_chinese(ontology: rdflib.Graph) -> None:
    unlabelled = []
    for term in declared_terms(ontology):
        languages = {label.language for label in ontology.objects(term, RDFS.label)}
        if not {"en", "zh"} <= languages:
            unlabelled.append(str(term))
    assert unlabelled == []


def test_every_term_has_a_definition_and_is_defined_by_the_ontology(
    ontology: rdflib.Graph,
) -> None:
    skos_definition = rdflib.SKOS.definition
    for term in declared_terms(ontology):
        assert ontology.value(term, skos_definition) is not None, term
        assert ontology.value(term, RDFS.isDefinedBy) == ONTOLOGY_IRI, term


def test_closed_namespace_matches_the_ontology(ontology: rdflib.Graph) -> None:
    in_python = {ODR[name] for name in ODR.__annotations__}
    assert in_python == declared_terms(ontology)


def test_closed_namespace_refuses_a_typo() -> None:
    with pytest.raises(AttributeError):
        _ = ODR.legalBasiss


def test_ontology_reuses_the_standard_vocabularies(ontology: rdflib.Graph) -> None:
    parents = {str(parent) for parent in ontology.objects(None, RDFS.subClassOf)}
    for namespace in (
        "http://data.europa.eu/eli/ontology#",
        "http://www.w3.org/2004/02/skos/core#",
        "http://www.w3.org/ns/prov#",
        "http://www.w3.org/ns/org#",
        "http://schema.org/",
    ):
        assert any(parent.startswith(namespace) for parent in parents), namespace


def test_lookup_vocabulary_declares_every_term_the_rules_derive(
    lookup_vocabulary: rdflib.Graph,
) -> None:
    declared = {str(term) for term in declared_terms(lookup_vocabulary)}
    used = set()
    for entry in Path(str(resources.data_dir("queries").joinpath("rules"))).rglob("*.rq"):
        used |= set(re.findall(r"\blookup:(\w+)", entry.read_text(encoding="utf-8")))
    assert used
    assert {f"{LOOKUP_IRI}/{name}" for name in used} <= declared
    for term in declared_terms(lookup_vocabulary):
        languages = {label.language for label in lookup_vocabulary.objects(term, RDFS.label)}
        assert {"en", "zh"} <= languages, term
        assert lookup_vocabulary.value(term, RDFS.isDefinedBy) == LOOKUP_IRI, term
