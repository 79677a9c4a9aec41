"""The knowledge base (知识库) and the product-defect library (产品缺陷库).

One table holds both kinds of entry, because agents search them together: an
**article** (title, Markdown body) and a **defect** (a product model's symptom, cause and
solution steps, classified by a defect code as a service defect or a product defect).
Each entry is in one language (zh or en), sits in a category of a tree on several
levels, carries tags and the product models it covers, and goes draft → published →
archived. Every save keeps a ``KbItemVersion`` (who, when, the whole text), so what
changed can be shown.

Search reads ``kb_search``: the entry's text cut into words once, at every save
(``kb.index``), and each database's own full-text index over it (SQLite FTS5, a
PostgreSQL tsvector with a GIN index: migration 0009).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, enum_type, utcnow


class ItemKind(enum.StrEnum):
    ARTICLE = "article"
    DEFECT = "defect"


class ItemStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class DefectClass(enum.StrEnum):
    SERVICE = "service"     # 服务缺陷: how the service was done (a wrong repair, a late visit)
    PRODUCT = "product"     # 产品缺陷: the product itself (design, material, manufacture)


class KbCategory(Base):
    """A node of the category tree (service, sales, marketing, and below them)."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"))
    #: "/1/4/9/": a subtree is one prefix match.
    path: Mapped[str] = mapped_column(String(500), default="", index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")

    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        # The constraint above lets top-level names repeat (NULL parents are all
        # different to SQL); this one holds a level's names unique, roots included, so
        # parallel adds of one path make one category (tests/knowledge/test_kb_concurrency).
        Index("uq_kb_categories_level_name", text("coalesce(parent_id, 0)"), "name",
              unique=True),
    )


class DefectCode(Base):
    """The defect-code taxonomy: a code such as ``AC-CMP-NOISE``, its name and class."""

    __tablename__ = "kb_defect_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    defect_class: Mapped[DefectClass] = mapped_column(enum_type(DefectClass, "defect_class"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class KbItem(Base):
    __tablename__ = "kb_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The key it was imported with (``callcenter kb import``): importing it again
    #: updates this entry.
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[ItemKind] = mapped_column(enum_type(ItemKind, "kb_item_kind"), index=True)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ItemStatus] = mapped_column(enum_type(ItemStatus, "kb_item_status"),
                                               default=ItemStatus.DRAFT, index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"),
                                                    index=True)
    # --- a defect's own fields ---
    defect_code_id: Mapped[int | None] = mapped_column(ForeignKey("kb_defect_codes.id"),
                                                       index=True)
    symptom: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    # --- use ---
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    helpful: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_helpful: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The resolved ticket it was written from, if any.
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id",
                                                                    ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KbItemModel(Base):
    """A product model an entry covers (an article may cover several)."""

    __tablename__ = "kb_item_models"

    item_id: Mapped[int] = mapped_column(ForeignKey("kb_items.id", ondelete="CASCADE"),
                                         primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True, index=True)


class KbItemTag(Base):
    __tablename__ = "kb_item_tags"

    item_id: Mapped[int] = mapped_column(ForeignKey("kb_items.id", ondelete="CASCADE"),
                                         primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class KbItemVersion(Base):
    """The entry as one save left it: the whole text, so two versions can be compared."""

    __tablename__ = "kb_item_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("kb_items.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    symptom: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ItemStatus] = mapped_column(enum_type(ItemStatus, "kb_item_status"))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("item_id", "version"),)


class KbFeedback(Base):
    """One user's "helpful" or "not helpful" on an entry (the last one counts)."""

    __tablename__ = "kb_feedback"

    item_id: Mapped[int] = mapped_column(ForeignKey("kb_items.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbSynonym(Base):
    """A group of words that mean the same to a caller ("不制冷, 不冷, no cooling"):
    a query with one of them also finds the others. Editors keep them."""

    __tablename__ = "kb_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbSearchDoc(Base):
    """The entry's words as the search index holds them: ``title_words`` and
    ``body_words`` are the text cut into words (``kb.text.words``) and joined by
    spaces. The full-text index over them is each database's own (migration 0009)."""

    __tablename__ = "kb_search"

    item_id: Mapped[int] = mapped_column(ForeignKey("kb_items.id", ondelete="CASCADE"),
                                         primary_key=True)
    title_words: Mapped[str] = mapped_column(Text, default="")
    body_words: Mapped[str] = mapped_column(Text, default="")


class KbTerm(Base):
    """How many entries hold a word: the vocabulary an English typo is corrected
    against (``kb.search``), kept up to date at every save (``kb.index``)."""

    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


Index("ix_kb_items_status_kind", KbItem.status, KbItem.kind)
Index("ix_kb_item_versions_item", KbItemVersion.item_id, KbItemVersion.version)
