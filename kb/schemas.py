"""What the knowledge base's API accepts and answers (and the limits the services
read: ``kb.items.LIMITS`` agrees with these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from callcenter.core.pagination import list_schema, page_schema
from callcenter.core.schema import Id, Schema, json_schemas
from callcenter.openapi import register_schemas

Title = Annotated[str, Field(min_length=1, max_length=200)]
Body = Annotated[str, Field(max_length=100_000, description="Markdown.")]
DefectText = Annotated[str, Field(max_length=10_000)]
Solution = Annotated[str, Field(max_length=20_000, description="Markdown: the steps.")]
ModelName = Annotated[str, Field(min_length=1, max_length=120)]
Tag = Annotated[str, Field(min_length=1, max_length=60)]
Kind = Literal["article", "defect"]
Lang = Literal["zh", "en"]
Status = Literal["draft", "published", "archived"]


class KbItemCreate(Schema):
    read_only = frozenset({"id", "version", "created_at", "updated_at", "views",
                           "helpful", "not_helpful", "body_html", "history_url"})

    title: Title
    kind: Kind = "article"
    lang: Lang = "zh"
    body: Body = ""
    status: Status = "draft"
    external_id: Annotated[str | None, Field(max_length=100, description=(
        "Your key for it (an import's `key`); unique."))] = None
    category_id: Id | None = None
    defect_code_id: Id | None = None
    symptom: DefectText = ""
    cause: DefectText = ""
    solution: Solution = ""
    models: Annotated[list[ModelName], Field(max_length=50, description=(
        "The product models it covers."))] = []
    tags: Annotated[list[Tag], Field(max_length=30)] = []


class KbItemPatch(Schema):
    read_only = KbItemCreate.read_only - {"version"}

    version: Annotated[Id | None, Field(description=(
        "The `version` you read; when no longer current, nothing changes and the answer "
        "is 409 with `current_version`."))] = None
    title: Title | None = None
    kind: Kind | None = None
    lang: Lang | None = None
    body: Body | None = None
    status: Status | None = None
    external_id: Annotated[str | None, Field(max_length=100)] = None
    category_id: Id | None = None
    defect_code_id: Id | None = None
    symptom: DefectText | None = None
    cause: DefectText | None = None
    solution: Solution | None = None
    models: Annotated[list[ModelName] | None, Field(max_length=50)] = None
    tags: Annotated[list[Tag] | None, Field(max_length=30)] = None


class KbItem(Schema):
    id: int
    external_id: str | None
    kind: Kind
    lang: Lang
    title: str
    body: str
    body_html: Annotated[str, Field(description="The body rendered, sanitised HTML.")]
    status: Status
    category_id: int | None
    defect_code_id: int | None
    symptom: str
    cause: str
    solution: str
    models: list[str]
    tags: list[str]
    views: int
    helpful: int
    not_helpful: int
    version: int
    created_at: datetime
    updated_at: datetime


class KbFeedbackIn(Schema):
    helpful: bool


class KbHit(Schema):
    id: int
    external_id: str | None
    kind: Kind
    lang: Lang
    title: str
    snippet: Annotated[str, Field(description=(
        "Safe HTML: the entry's text around the words found, escaped, the words in "
        "<mark>."))]
    score: float
    status: Status


class KbSynonymIn(Schema):
    terms: Annotated[str, Field(min_length=1, max_length=500, description=(
        "Words or phrases meaning the same, separated by commas."))]


class KbSynonym(Schema):
    id: int
    terms: str


class KbDefectCodeIn(Schema):
    code: Annotated[str, Field(min_length=1, max_length=40, description=(
        "Upper case letters, digits, . _ - (e.g. AC-CMP-NOISE)."))]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    name_en: Annotated[str, Field(max_length=200)] = ""
    defect_class: Literal["service", "product"]
    active: bool = True


class KbDefectCode(Schema):
    code: str
    name: str
    name_en: str
    defect_class: Literal["service", "product"]


class KbCategoryIn(Schema):
    path: Annotated[str, Field(min_length=1, max_length=500, description=(
        'Names from the top, separated by "/", e.g. 服务/空调/压缩机.'))]


class KbCategoryNames(Schema):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    name_en: Annotated[str, Field(max_length=120)] = ""


class KbCategory(Schema):
    id: int
    parent_id: int | None
    name: str
    name_en: str
    depth: int
    path: str


class KbVersion(Schema):
    version: int
    title: str
    status: Status
    changed_by_id: int | None
    changed_at: datetime


register_schemas({
    **json_schemas([KbHit, KbSynonym, KbVersion, KbDefectCode, KbCategory],
                   mode="serialization"),
    "KbCategoryList": list_schema("KbCategory"),
    "KbDefectCodeList": list_schema("KbDefectCode"),
    "KbItemPage": page_schema("KbItem"),
    "KbSearchResult": {**list_schema("KbHit"), "properties": {
        **list_schema("KbHit")["properties"],
        "corrected": {"type": "object", "additionalProperties": {"type": "string"},
                      "description": "Typos corrected: asked word → word searched."}}},
    "KbSynonymList": list_schema("KbSynonym"),
    "KbVersionList": list_schema("KbVersion"),
})
