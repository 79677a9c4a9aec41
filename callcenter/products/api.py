"""REST routes for installed products (/api/v1/products).

A product is visible exactly when its end-user customer is (``products_query``); a
customer named in a body that is missing or outside the caller's scope is a 422 naming
the field, worded the same in both cases.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for

from callcenter.api import PAGE_PARAMS, api_route, arg, created, paginate, today
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.pagination import page_schema
from callcenter.customers.models import Customer
from callcenter.customers.services import CustomerNotFound, get_customer
from callcenter.db import db_session
from callcenter.openapi import Param, register_schemas
from callcenter.products.schemas import (
    LIMITS,
    Product,
    ProductAssign,
    ProductCreate,
    ProductPatch,
)
from callcenter.products.serializers import product_to_dict
from callcenter.products.services import (
    assign_product,
    get_product,
    products_query,
    register_product,
    update_product,
)
from callcenter.products.warranty import WarrantyState
from callcenter.users.permissions import Permission

PRODUCT_ID = "/products/<id:product_id>"

PRODUCT_FILTERS = (
    Param("serial", {"type": "string", "maxLength": LIMITS["serial_number"]},
          "Exact serial number."),
    Param("model", {"type": "string", "maxLength": LIMITS["model"]}, "Exact model."),
    Param("customer_id", {"type": "integer", "minimum": 1}, "The end user."),
    Param("warranty", {"enum": [s.value for s in WarrantyState]},
          "Warranty state as of today in the call center's time zone."),
) + PAGE_PARAMS


register_schemas({"ProductPage": page_schema("Product")})


def body_customer(body: dict[str, Any], field: str = "customer_id") -> Customer:
    """The customer a body refers to (its schema checked it is an id), in the caller's
    scope; else 422 naming the field, worded the same whether missing or hidden."""
    value = body[field]
    try:
        return get_customer(db_session(), api_user(), value)
    except CustomerNotFound:
        raise ValidationError({field: Problem("customer.unknown", {"id": value})}) from None


def _today_product(product) -> dict[str, Any]:
    return product_to_dict(product, today())


@api_route("GET", "/products", summary="Search installed products", tag="products",
           permission=Permission.CUSTOMER_READ, query=PRODUCT_FILTERS, response="ProductPage",
           description="Only products whose end user is in the caller's scope.")
def products_list():
    stmt = products_query(api_user(), serial=arg("serial"), model=arg("model"),
                          customer_id=arg("customer_id"), warranty=arg("warranty"),
                          today=today())
    day = today()
    return jsonify(paginate(stmt, lambda p: product_to_dict(p, day)))


@api_route("POST", "/products", summary="Register an installed product", tag="products",
           permission=Permission.PRODUCT_WRITE, body=ProductCreate, response=Product,
           status=201)
def products_create(body: dict[str, Any]):
    customer = body_customer(body)
    data = {k: v for k, v in body.items() if k != "customer_id"}
    product = register_product(db_session(), api_user(), customer, data)
    response = created(_today_product(product))
    response.headers["Location"] = url_for("api.product_get", product_id=product.id)
    return response


@api_route("GET", PRODUCT_ID, summary="An installed product", tag="products",
           permission=Permission.CUSTOMER_READ, response=Product)
def product_get(product_id: int):
    return jsonify(_today_product(get_product(db_session(), api_user(), product_id)))


@api_route("PATCH", PRODUCT_ID, summary="Correct an installed product", tag="products",
           permission=Permission.PRODUCT_WRITE, body=ProductPatch, response=Product,
           errors=(409,),
           description="Serial numbers stay unique; every change is recorded on the "
                       "owner's history. Send the `version` you read: a stale one is a "
                       "409 carrying `current_version`.")
def product_patch(product_id: int, body: dict[str, Any]):
    product = get_product(db_session(), api_user(), product_id)
    update_product(db_session(), api_user(), product, body)
    return jsonify(_today_product(product))


@api_route("POST", PRODUCT_ID + "/assign", summary="Assign a product to its real end user",
           tag="products", permission=Permission.PRODUCT_WRITE, body=ProductAssign,
           response=Product,
           description="Typically from a placeholder owner (the selling branch) to the "
                       "customer who called in. Both must be in the caller's scope.")
def product_assign(product_id: int, body: dict[str, Any]):
    product = get_product(db_session(), api_user(), product_id)
    customer = body_customer(body)
    assign_product(db_session(), api_user(), product, customer)
    return jsonify(_today_product(product))
