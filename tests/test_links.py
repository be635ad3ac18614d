"""Outgoing links: owl:sameAs for identity only (the Wikidata ids the reference list gives),
rdfs:seeAlso for pages about a resource, register identifiers with their own source and
confidence; every link is answered by question 17 with its source."""

from __future__ import annotations

from odr_kg import resources
from odr_kg.store import KnowledgeStore

BASE = "https://w3id.org/odr-kg/"
# FACTS.md section 4: the only Wikidata ids seen in a source.
WIKIDATA = {
    f"{BASE}id/agent/alibaba-group": "http://www.wikidata.org/entity/Q1359568",
    f"{BASE}id/place/hong-kong": "http://www.wikidata.org/entity/Q8646",
    f"{BASE}id/place/china": "http://www.wikidata.org/entity/Q148",
}
UNTC_NYC = "https://treaties.un.org/doc/Publication/MTDSG/Volume%20II/Chapter%20XXII/XXII-1.en.xml"
WIPO_LEX_NYC = "http://www.wipo.int/wipolex/en/treaties/territorial/973"


def question(name: str) -> str:
    (entry,) = [e for e in resources.data_files("queries") if e.name.startswith(name)]
    return entry.read_text(encoding="utf-8")


def test_owl_same_as_only_for_the_sourced_wikidata_ids(store: KnowledgeStore) -> None:
    links = {
        row["s"].value: row["o"].value
        for row in store.query(
            "SELECT ?s ?o WHERE { ?s <http://www.w3.org/2002/07/owl#sameAs> ?o }"
        )
    }
    assert links == WIKIDATA


def test_the_new_york_convention_links_its_un_and_wipo_pages(store: KnowledgeStore) -> None:
    assert store.query(
        f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX schema: <http://schema.org/>
        PREFIX eli: <http://data.europa.eu/eli/ontology#>
        PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
        ASK {{
          <{BASE}id/treaty/new-york-convention> rdfs:seeAlso <{UNTC_NYC}> , <{WIPO_LEX_NYC}> ;
              eli:first_date_entry_in_force "1959-06-07"^^xsd:date ;
              schema:identifier [ schema:propertyID "UNTS" ; schema:value "4739" ] ,
                                [ schema:propertyID "WIPO Lex" ; schema:value "973" ] .
        }}"""
    )


def test_every_link_has_a_source_and_a_confidence(store: KnowledgeStore) -> None:
    rows = list(store.query(question("17-")))
    (count,) = store.query(
        """PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX schema: <http://schema.org/>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT (COUNT(*) AS ?n) WHERE {
          VALUES ?link { owl:sameAs skos:exactMatch skos:closeMatch rdfs:seeAlso schema:identifier }
          GRAPH <https://w3id.org/odr-kg/graph/kg> { ?s ?link ?o }
        }"""
    )
    assert len(rows) == int(count["n"].value)
    assert all(row["source"] is not None and row["confidence"] is not None for row in rows)
    by_identifier = {row["identifier"].value: row for row in rows if row["identifier"]}
    assert by_identifier["25567"]["confidence"].value == "low"
    assert by_identifier["4739"]["source"].value == UNTC_NYC
    assert by_identifier["973"]["confidence"].value == "high"
