"""The words of the site's own pages (navigation, headings) in English and Chinese, and the
language a page is asked in: ``?lang=zh`` for Chinese, English otherwise. The words of the data
(labels of resources and terms) are data, in the ontology and ``odr_kg/labels.ttl``."""

from __future__ import annotations

from flask import Flask, request

# The BCP 47 tag each page language is marked with in <html lang>.
HTML_LANG = {"en": "en", "zh": "zh-Hans"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "site": "ODR knowledge graph",
        "skip": "Skip to the content",
        "home": "Home",
        "lookup": "Procedure lookup",
        "sparql": "SPARQL",
        "ontology": "Ontology",
        "data": "Data",
        "linking": "Linking to us",
        "navigation": "Site",
        "other_language": "中文",
        "formats": "This page as data",
        "confidence": "Confidence",
        "inferred": "inferred",
        "inferred_note": "Statements marked inferred follow from the ontology's class and "
        "property hierarchy (the graph graph/inferred); the others are stated.",
        "incoming": "What links here",
        "from": "From",
        "property": "Property",
        "value": "Value",
        "contents": "Contents",
        "breadcrumb": "Where this is",
        "previous": "Previous",
        "next": "Next",
        "classes": "Classes",
        "properties": "Properties",
        "subclass_of": "Subclass of",
        "subproperty_of": "Subproperty of",
        "domain": "Domain",
        "range": "Range",
        "license": "Data under CC BY 4.0",
        "footer_data": "Dumps, the dataset description and the SPARQL endpoint are open to "
        "everyone; every fact names its source.",
    },
    "zh": {
        "site": "在线争议解决知识图谱",
        "skip": "跳到正文",
        "home": "首页",
        "lookup": "程序查询",
        "sparql": "SPARQL",
        "ontology": "本体",
        "data": "数据",
        "linking": "链接本数据集",
        "navigation": "网站",
        "other_language": "English",
        "formats": "本页数据格式",
        "confidence": "可信度",
        "inferred": "推导",
        "inferred_note": "标为“推导”的陈述由本体的类与属性层级得出（graph/inferred 图），"
        "其余为明示陈述。",
        "incoming": "链接到此处的资源",
        "from": "来自",
        "property": "属性",
        "value": "值",
        "contents": "目录",
        "breadcrumb": "所在位置",
        "previous": "上一条",
        "next": "下一条",
        "classes": "类",
        "properties": "属性",
        "subclass_of": "父类",
        "subproperty_of": "父属性",
        "domain": "定义域",
        "range": "值域",
        "license": "数据采用 CC BY 4.0 许可",
        "footer_data": "数据转储、数据集描述和 SPARQL 端点向所有人开放；每条事实均注明来源。",
    },
}


def page_language() -> str:
    """``zh`` when the request asks ``?lang=zh``, else ``en``."""
    return "zh" if request.args.get("lang") == "zh" else "en"


def init_app(app: Flask) -> None:
    """Give every template ``ui`` (the words in the page's language), ``page_lang`` and
    ``html_lang``; a view passing ``lang`` to its template decides the language."""

    @app.context_processor
    def words() -> dict[str, object]:
        lang = page_language()
        return {"ui": TEXT[lang], "page_lang": lang, "html_lang": HTML_LANG[lang]}
