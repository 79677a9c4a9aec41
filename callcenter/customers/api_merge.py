"""REST routes for a customer's likely duplicates and the merge of one into another (/api/v1)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy.orm import selectinload

from callcenter.api import api_route, int_arg, phone_region, today
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import MAX_ID
from callcenter.customers.api import CUSTOMER_ID, READ
from callcenter.customers.duplicates import duplicates_of
from callcenter.customers.merge import merge_customers, merge_details
from callcenter.customers.models import Customer
from callcenter.customers.serializers import customer_to_dict
from callcenter.customers.services import CustomerNotFound, customers_query, get_customer
from callcenter.db import db_session
from callcenter.openapi import Param, ref, register_schemas
from callcenter.users.permissions import Permission

MAX_DUPLICATES = 100

register_schemas({
    "Duplicate": {
        "type": "object", "additionalProperties": False,
        "required": ["customer", "reasons", "score"],
        "properties": {
            "customer": ref("Customer"),
            "reasons": {"type": "array",
                        "items": {"enum": ["tax_id", "phone", "name", "similar_name"]}},
            "score": {"type": "number", "minimum": 0, "maximum": 1,
                      "description": "Higher is likelier; for ordering, not a probability."},
        },
    },
    "DuplicateList": {"type": "object", "required": ["items"], "additionalProperties": False,
                      "properties": {"items": {"type": "array", "items": ref("Duplicate")}}},
    "MergeRequest": {
        "type": "object", "required": ["merged_id"], "additionalProperties": False,
        "properties": {"merged_id": {"type": "integer", "minimum": 1,
                                     "description": "The duplicate folded into this one."}},
    },
    "MergeResult": {
        "type": "object", "required": ["merge", "customer"], "additionalProperties": False,
        "properties": {
            "merge": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "survivor_id", "merged_id", "user_id", "merged_at",
                             "details"],
                "properties": {
                    "id": {"type": "integer"}, "survivor_id": {"type": "integer"},
                    "merged_id": {"type": "integer"},
                    "user_id": {"type": ["integer", "null"]},
                    "merged_at": {"type": "string", "format": "date-time"},
                    "details": {"type": "object",
                                "description": "What moved, and the merged record's data."},
                },
            },
            "customer": ref("CustomerDetail"),
        },
    },
})


# --- duplicates and merge -------------------------------------------------------------

@api_route("GET", CUSTOMER_ID + "/duplicates", summary="Likely duplicates of a customer",
           tag="duplicates", permission=READ, response="DuplicateList",
           query=(Param("limit", {"type": "integer", "minimum": 1,
                                  "maximum": MAX_DUPLICATES, "default": 20}),),
           description="Same phone, same tax id, same or similar name (Chinese, English or "
                       "pinyin); only live customers in the caller's scope.")
def customer_duplicates(customer_id: int):
    user = api_user()
    customer = get_customer(db_session(), user, customer_id)
    limit = int_arg("limit", 20, maximum=MAX_DUPLICATES)
    found = duplicates_of(db_session(), user, customer, limit=limit)
    others = [c.other_id if c.customer_id == customer.id else c.customer_id for c in found]
    rows = {c.id: c for c in db_session().scalars(
        customers_query(user).where(Customer.id.in_(others))
        .options(selectinload(Customer.phones)))}
    region = phone_region()
    return jsonify({"items": [
        {"customer": customer_to_dict(rows[other], region=region), "reasons": list(c.reasons),
         "score": round(c.score, 4)}
        for c, other in zip(found, others, strict=True) if other in rows]})


@api_route("POST", CUSTOMER_ID + "/merge", summary="Merge a duplicate into this customer",
           tag="duplicates", permission=Permission.CUSTOMER_MERGE, body="MergeRequest",
           response="MergeResult",
           description="Contacts, phones, addresses, products, related employees and "
                       "partner references move to this customer; the merged record keeps "
                       "its history and points here (`merged_into_id`).")
def customer_merge(customer_id: int, body: dict[str, Any]):
    errors = {field: Problem("unknown_field") for field in body if field != "merged_id"}
    merged_id = body.get("merged_id")
    if type(merged_id) is not int or not 1 <= merged_id <= MAX_ID:
        errors["merged_id"] = Problem("required" if merged_id is None else "not_id")
    if errors:
        raise ValidationError(errors)
    user = api_user()
    survivor = get_customer(db_session(), user, customer_id)
    try:
        merged = get_customer(db_session(), user, merged_id)
    except CustomerNotFound:
        raise ValidationError({"merged_id": Problem("customer.unknown",
                                                    {"id": merged_id})}) from None
    merge = merge_customers(db_session(), user, survivor, merged)
    return jsonify({
        "merge": {"id": merge.id, "survivor_id": merge.survivor_id,
                  "merged_id": merge.merged_id, "user_id": merge.user_id,
                  "merged_at": merge.merged_at.isoformat(), "details": merge_details(merge)},
        "customer": customer_to_dict(survivor, detail=True, today=today(),
                                     region=phone_region()),
    })
