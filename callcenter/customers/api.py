"""REST routes for customers, their contacts and their change history (/api/v1).

Thin shells: read the request, call the rules in ``services`` / ``contacts``, serialize.
Every lookup goes through the scoped queries, so a record outside the caller's scope
is a 404 exactly like a missing one. Addresses are in ``api_addresses``, duplicates and
the merge in ``api_merge``; installed products are their own domain
(``callcenter.products.api``).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from callcenter.api import (
    PAGE_PARAMS,
    api_route,
    arg,
    created,
    paginate,
    phone_region,
    today,
)
from callcenter.auth import api_user
from callcenter.core.errors import Conflict, Problem, ValidationError
from callcenter.customers.contacts import contacts_query, get_contact, update_contact
from callcenter.customers.history import history_names, history_query
from callcenter.customers.history_words import change_words
from callcenter.customers.models import ChangeRecord, Contact, Customer, Lifecycle, Tier
from callcenter.customers.schemas import Contact as ContactOut
from callcenter.customers.schemas import (
    ContactCreate,
    ContactPatch,
    CustomerCreate,
    CustomerDetail,
    CustomerPatch,
)
from callcenter.customers.serializers import change_to_dict, contact_to_dict, customer_to_dict
from callcenter.customers.services import (
    add_contact,
    create_customer,
    customers_query,
    get_customer,
    update_customer,
)
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission

READ = Permission.CUSTOMER_READ
CUSTOMER_ID = "/customers/<id:customer_id>"

CUSTOMER_FILTERS = (
    Param("q", {"type": "string", "maxLength": 500},
          "Name (Chinese or English, legal forms ignored), phone, serial number or tax id."),
    Param("phone", {"type": "string", "maxLength": 64},
          "A phone number in any format; 422 naming `phone` if it cannot be one."),
    Param("serial", {"type": "string"}, "Serial number of an installed product."),
    Param("tier", {"enum": [m.value for m in Tier]}),
    Param("lifecycle", {"enum": [m.value for m in Lifecycle]}),
    Param("region", {"type": "string"}),
    Param("industry", {"type": "string"}),
) + PAGE_PARAMS


def live_customer(customer_id: int) -> Customer:
    """The customer, in scope and not merged away (writes go to the survivor)."""
    customer = get_customer(db_session(), api_user(), customer_id)
    if customer.merged_into_id is not None:
        raise Conflict("customer.merged_away", id=customer.id, into=customer.merged_into_id)
    return customer


def detail(customer: Customer) -> dict[str, Any]:
    return customer_to_dict(customer, detail=True, today=today(), region=phone_region())


# --- customers ------------------------------------------------------------------------

@api_route("GET", "/customers", summary="Search customers", tag="customers", permission=READ,
           query=CUSTOMER_FILTERS, response="CustomerPage",
           description="Only customers in the caller's scope; merged-away records never.")
def customers_list():
    stmt = customers_query(
        api_user(), q=arg("q"), phone=arg("phone"), serial=arg("serial"), tier=arg("tier"),
        lifecycle=arg("lifecycle"), region=arg("region"), industry=arg("industry"),
        region_code=(region := phone_region()))
    return jsonify(paginate(stmt.options(selectinload(Customer.phones)),
                            lambda customer: customer_to_dict(customer, region=region)))


@api_route("POST", "/customers", summary="Create a customer", tag="customers",
           permission=Permission.CUSTOMER_CREATE, body=CustomerCreate,
           response=CustomerDetail, status=201,
           description="The caller becomes the responsible employee unless one is given.")
def customers_create(body: dict[str, Any]):
    customer = create_customer(db_session(), api_user(), body, region=phone_region())
    response = created(detail(customer))
    response.headers["Location"] = url_for("api.customer_get", customer_id=customer.id)
    return response


@api_route("GET", CUSTOMER_ID, summary="A customer's card", tag="customers", permission=READ,
           response=CustomerDetail,
           description="Phones, contacts, addresses and installed products with their "
                       "warranty state. A merged-away record shows `merged_into_id`.")
def customer_get(customer_id: int):
    return jsonify(detail(get_customer(db_session(), api_user(), customer_id)))


@api_route("PATCH", CUSTOMER_ID, summary="Change some of a customer's fields", tag="customers",
           permission=Permission.CUSTOMER_UPDATE, body=CustomerPatch,
           response=CustomerDetail, errors=(409,),
           description="Every changed field is recorded in the history. `phones` replaces "
                       "the list. Send the `version` you read: a stale one is a 409 "
                       "carrying `current_version`, and nothing changes. A merged-away "
                       "record cannot change (409).")
def customer_patch(customer_id: int, body: dict[str, Any]):
    customer = live_customer(customer_id)
    errors = {}
    # The sold-to identity never changes once created (domain rule); the schema has
    # checked that ``id`` is an id.
    if "id" in body and body["id"] != customer.id:
        errors["id"] = Problem("identity")
    if "external_id" in body and body["external_id"] != customer.external_id:
        errors["external_id"] = Problem("identity")
    if errors:
        raise ValidationError(errors)
    changes = {k: v for k, v in body.items() if k not in ("id", "external_id")}
    update_customer(db_session(), api_user(), customer, changes, region=phone_region())
    return jsonify(detail(customer))


@api_route("GET", CUSTOMER_ID + "/history", summary="Change history: who, when, what",
           tag="customers", permission=READ, query=PAGE_PARAMS, response="ChangePage",
           description="Newest first; includes the history of records merged into it. "
                       "Each change has its values as stored (`old_value`, `new_value`) "
                       "and in words (`display`, in the reader's language).")
def customer_history(customer_id: int):
    user = api_user()
    customer = get_customer(db_session(), user, customer_id)
    stmt = history_query(customer.id).options(selectinload(ChangeRecord.user))
    page = paginate(stmt, lambda record: record)
    names = history_names(db_session(), user, page["items"])
    page["items"] = [change_to_dict(record, change_words(record, names, customer.id,
                                                         phone_region()))
                     for record in page["items"]]
    return jsonify(page)


# --- contacts -------------------------------------------------------------------------

@api_route("GET", CUSTOMER_ID + "/contacts", summary="A customer's contact persons",
           tag="contacts", permission=READ, response="ContactList")
def contacts_list(customer_id: int):
    user = api_user()
    customer = get_customer(db_session(), user, customer_id)
    contacts = db_session().scalars(contacts_query(user, customer.id)
                                    .options(selectinload(Contact.phones)))
    return jsonify({"items": [contact_to_dict(c, region=phone_region()) for c in contacts]})


@api_route("POST", CUSTOMER_ID + "/contacts", summary="Add a contact person", tag="contacts",
           permission=Permission.CUSTOMER_UPDATE, body=ContactCreate, response=ContactOut,
           status=201, errors=(409,))
def contact_create(customer_id: int, body: dict[str, Any]):
    customer = live_customer(customer_id)
    external_id = body.get("external_id")
    if isinstance(external_id, str) and external_id and db_session().scalar(
            select(Contact.id).where(Contact.external_id == external_id)):
        raise ValidationError({"external_id": Problem("contact.external_id_taken")})
    contact = add_contact(db_session(), api_user(), customer, body, region=phone_region())
    return created(contact_to_dict(contact, region=phone_region()))


@api_route("PATCH", "/contacts/<id:contact_id>", summary="Correct a contact person",
           tag="contacts", permission=Permission.CUSTOMER_UPDATE, body=ContactPatch,
           response=ContactOut, errors=(409,),
           description="Send the `version` you read: a stale one is a 409 carrying "
                       "`current_version`.")
def contact_patch(contact_id: int, body: dict[str, Any]):
    contact = get_contact(db_session(), api_user(), contact_id)
    update_contact(db_session(), api_user(), contact, body, region=phone_region())
    return jsonify(contact_to_dict(contact, region=phone_region()))


from callcenter.customers import api_addresses as _addresses_api  # noqa: E402,F401
from callcenter.customers import api_merge as _merge_api  # noqa: E402,F401
