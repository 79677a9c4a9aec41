"""One definition of a field's limit: the schema's. The API, the services, the web form
and the CSV import all refuse one character more than it allows, and accept exactly it."""

from __future__ import annotations

import pytest
from wtforms.validators import Length

from callcenter.core.errors import ValidationError
from callcenter.core.schema import parse
from callcenter.customers.forms import AddressForm
from callcenter.customers.schemas import ADDRESS_LIMITS, AddressCreate
from callcenter.imports.rows import ImportContext, RowInvalid, clean_product
from callcenter.products.forms import ProductForm
from callcenter.products.schemas import LIMITS, ProductCreate
from callcenter.products.services import register_product


def _form_max(form_class, field: str) -> int:
    validators = getattr(form_class, field).kwargs["validators"]
    return next(v.max for v in validators if isinstance(v, Length))


@pytest.mark.parametrize("field", ["model", "serial_number"])
def test_product_text_limits_are_the_schemas_everywhere(field, session, make_user,
                                                        make_customer):
    limit = LIMITS[field]
    body = {"customer_id": 1, "model": "K9", "serial_number": "SN-1"}
    assert parse(ProductCreate, {**body, field: "x" * limit})[field] == "x" * limit
    with pytest.raises(ValidationError) as info:
        parse(ProductCreate, {**body, field: "x" * (limit + 1)})
    assert info.value.errors[field].params == {"max": limit}

    assert _form_max(ProductForm, field) == limit

    agent = make_user("agent")
    owner = make_customer(agent, "Bus Co")
    with pytest.raises(ValidationError) as info:
        register_product(session, agent, owner, {"model": "K9", "serial_number": "SN-2",
                                                 field: "y" * (limit + 1)})
    assert info.value.errors[field].code == "too_long"

    ctx = ImportContext(session, agent, "CN")
    cells = {"external_id": "P1", "customer_external_id": "C1", "model": "K9",
             "serial_number": "SN-3"}
    assert clean_product(ctx, 2, {**cells, field: "z" * limit}).values[field] == "z" * limit
    with pytest.raises(RowInvalid) as row:
        clean_product(ctx, 2, {**cells, field: "z" * (limit + 1)})
    assert row.value.field == field


@pytest.mark.parametrize("field", ["line", "city", "province", "postcode"])
def test_address_limits_are_the_schemas_in_api_and_form(field):
    limit = ADDRESS_LIMITS[field]
    body = {"line": "1 Main St"}
    assert parse(AddressCreate, {**body, field: "a" * limit})[field] == "a" * limit
    with pytest.raises(ValidationError):
        parse(AddressCreate, {**body, field: "a" * (limit + 1)})
    assert _form_max(AddressForm, field) == limit


def test_unknown_and_read_only_fields_are_refused_with_their_codes():
    with pytest.raises(ValidationError) as info:
        parse(AddressCreate, {"line": "x", "id": 3, "colour": "red", "country": "C1"})
    assert {k: p.code for k, p in info.value.errors.items()} == {
        "id": "read_only", "colour": "unknown_field", "country": "country_code"}
