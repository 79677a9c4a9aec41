"""REST routes for a customer's addresses (/api/v1/customers/{id}/addresses, /addresses/{id})."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import select

from callcenter.api import api_route, created
from callcenter.auth import api_user
from callcenter.customers.addresses import (
    add_address,
    get_address,
    remove_address,
    update_address,
)
from callcenter.customers.api import CUSTOMER_ID, READ, live_customer
from callcenter.customers.models import Address
from callcenter.customers.schemas import Address as AddressOut
from callcenter.customers.schemas import AddressCreate, AddressPatch
from callcenter.customers.serializers import address_to_dict
from callcenter.customers.services import get_customer
from callcenter.db import db_session
from callcenter.users.permissions import Permission

ADDRESS_ID = "/addresses/<id:address_id>"


# --- addresses ------------------------------------------------------------------------

@api_route("GET", CUSTOMER_ID + "/addresses", summary="A customer's addresses",
           tag="addresses", permission=READ, response="AddressList")
def addresses_list(customer_id: int):
    customer = get_customer(db_session(), api_user(), customer_id)
    rows = db_session().scalars(select(Address).where(Address.customer_id == customer.id)
                                .order_by(Address.id))
    return jsonify({"items": [address_to_dict(a) for a in rows]})


@api_route("POST", CUSTOMER_ID + "/addresses", summary="Add an address", tag="addresses",
           permission=Permission.CUSTOMER_UPDATE, body=AddressCreate, response=AddressOut,
           status=201, errors=(409,))
def address_create(customer_id: int, body: dict[str, Any]):
    customer = live_customer(customer_id)
    return created(address_to_dict(add_address(db_session(), api_user(), customer, body)))


@api_route("PATCH", ADDRESS_ID, summary="Change an address", tag="addresses",
           permission=Permission.CUSTOMER_UPDATE, body=AddressPatch, response=AddressOut)
def address_patch(address_id: int, body: dict[str, Any]):
    address = get_address(db_session(), api_user(), address_id)
    return jsonify(address_to_dict(update_address(db_session(), api_user(), address, body)))


@api_route("DELETE", ADDRESS_ID, summary="Remove an address", tag="addresses",
           permission=Permission.CUSTOMER_UPDATE, status=204,
           description="The customer's history keeps what the address said.")
def address_delete(address_id: int):
    address = get_address(db_session(), api_user(), address_id)
    remove_address(db_session(), api_user(), address)
    return "", 204
