"""One definition of a field's limit: the schema's. The API, the services, the web form
and the CSV import all refuse one character more than it allows, and accept exactly it."""

from __future__ import annotations

import pytest
from wtforms.validators import Length

from callcenter.calls.schemas import DISPOSITIONS, MAX_NOTES, CallWrapup
from callcenter.core.errors import ValidationError
from callcenter.core.schema import parse
from callcenter.customers.contacts import update_contact
from callcenter.customers.forms import AddressForm, ContactForm, CustomerForm
from callcenter.customers.schemas import (
    ADDRESS_LIMITS,
    CONTACT_LIMITS,
    CUSTOMER_LIMITS,
    MAX_PHONES,
    AddressCreate,
    ContactCreate,
    ContactPatch,
    CustomerCreate,
    CustomerPatch,
)
from callcenter.customers.services import add_contact, create_customer, update_customer
from callcenter.imports.rows import (
    ImportContext,
    RowInvalid,
    clean_contact,
    clean_customer,
    clean_product,
)
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


def _schema_refuses_one_more(schema, body: dict, field: str, limit: int) -> None:
    # An e-mail field must hold an address (the one e-mail rule) as well as fit.
    fits = "x" * (limit - 6) + "@a.com" if field == "email" else "x" * limit
    assert parse(schema, {**body, field: fits})[field] == fits
    with pytest.raises(ValidationError) as info:
        parse(schema, {**body, field: "x" + fits})
    assert info.value.errors[field].code == "too_long"
    assert info.value.errors[field].params == {"max": limit}


@pytest.mark.parametrize("field", ["name", "region", "industry", "tax_id", "email", "notes"])
def test_customer_text_limits_are_the_schemas_everywhere(field, session, make_user,
                                                         make_customer):
    limit = CUSTOMER_LIMITS[field]
    _schema_refuses_one_more(CustomerCreate, {"name": "Bus Co"}, field, limit)
    _schema_refuses_one_more(CustomerPatch, {}, field, limit)

    assert _form_max(CustomerForm, field) == limit

    agent = make_user("agent")
    with pytest.raises(ValidationError) as info:
        create_customer(session, agent, {"name": "Bus Co", field: "y" * (limit + 1)},
                        region="CN")
    assert info.value.errors[field].code == "too_long"
    customer = make_customer(agent, "Bus Co")
    with pytest.raises(ValidationError) as info:
        update_customer(session, agent, customer, {field: "y" * (limit + 1)}, region="CN")
    assert info.value.errors[field].code == "too_long"

    ctx = ImportContext(session, None, "CN")
    cells = {"external_id": "C1", "name": "Bus Co"}
    # The import's e-mail cell must look like an address as well as fit.
    fits = "z" * (limit - 6) + "@a.com" if field == "email" else "z" * limit
    assert clean_customer(ctx, 2, {**cells, field: fits}).values[field] == fits
    with pytest.raises(RowInvalid) as row:
        clean_customer(ctx, 2, {**cells, field: "z" + fits})
    assert row.value.field == field


def test_customer_external_id_limit_is_the_schemas_in_api_and_import(session):
    limit = CUSTOMER_LIMITS["external_id"]
    _schema_refuses_one_more(CustomerCreate, {"name": "Bus Co"}, "external_id", limit)
    ctx = ImportContext(session, None, "CN")
    assert clean_customer(ctx, 2, {"external_id": "k" * limit, "name": "N"}).key == "k" * limit
    with pytest.raises(RowInvalid):
        clean_customer(ctx, 2, {"external_id": "k" * (limit + 1), "name": "N"})


@pytest.mark.parametrize("field", ["name", "position", "email"])
def test_contact_text_limits_are_the_schemas_everywhere(field, session, make_user,
                                                        make_customer):
    limit = CONTACT_LIMITS[field]
    _schema_refuses_one_more(ContactCreate, {"name": "Li Si"}, field, limit)
    _schema_refuses_one_more(ContactPatch, {}, field, limit)

    assert _form_max(ContactForm, field) == limit

    agent = make_user("agent")
    customer = make_customer(agent, "Bus Co")
    with pytest.raises(ValidationError) as info:
        add_contact(session, agent, customer, {"name": "Li Si", field: "y" * (limit + 1)},
                    region="CN")
    assert info.value.errors[field].code == "too_long"
    contact = add_contact(session, agent, customer, {"name": "Li Si"}, region="CN")
    with pytest.raises(ValidationError) as info:
        update_contact(session, agent, contact, {field: "y" * (limit + 1)}, region="CN")
    assert info.value.errors[field].code == "too_long"

    ctx = ImportContext(session, None, "CN")
    cells = {"external_id": "K1", "customer_external_id": "C1", "name": "Li Si"}
    fits = "z" * (limit - 6) + "@a.com" if field == "email" else "z" * limit
    assert clean_contact(ctx, 2, {**cells, field: fits}).values[field] == fits
    with pytest.raises(RowInvalid) as row:
        clean_contact(ctx, 2, {**cells, field: "z" + fits})
    assert row.value.field == field


def test_phone_count_is_the_schemas_in_api_and_service(session, make_user):
    numbers = [f"1381234{i:04d}" for i in range(MAX_PHONES + 1)]
    assert len(parse(CustomerCreate, {"name": "N", "phones": numbers[:-1]})["phones"]) \
        == MAX_PHONES
    with pytest.raises(ValidationError) as info:
        parse(CustomerCreate, {"name": "N", "phones": numbers})
    assert info.value.errors["phones"].params == {"max": MAX_PHONES}
    agent = make_user("agent")
    with pytest.raises(ValidationError) as info:
        create_customer(session, agent, {"name": "N", "phones": numbers}, region="CN")
    assert info.value.errors["phones"].params == {"max": MAX_PHONES}


def test_customer_and_contact_bodies_refuse_unknown_and_read_only_fields():
    with pytest.raises(ValidationError) as info:
        parse(CustomerCreate, {"name": "N", "id": 3, "created_at": "x", "colour": "red",
                               "phones": [{"number": "13812345678", "kind": "m"}]})
    assert {k: p.code for k, p in info.value.errors.items()} == {
        "id": "read_only", "created_at": "read_only", "colour": "unknown_field",
        "phones[0].kind": "unknown_field"}
    with pytest.raises(ValidationError) as info:
        parse(ContactPatch, {"customer_id": 5, "age": 3, "phones": [None]})
    assert {k: p.code for k, p in info.value.errors.items()} == {
        "customer_id": "read_only", "age": "unknown_field", "phones[0]": "not_text"}


def test_wrapup_note_limit_and_dispositions_are_the_schemas():
    note = "n" * MAX_NOTES
    assert parse(CallWrapup, {"disposition": "callback", "notes": note})["notes"] == note
    with pytest.raises(ValidationError) as info:
        parse(CallWrapup, {"disposition": "callback", "notes": note + "n"})
    assert info.value.errors["notes"].params == {"max": MAX_NOTES}
    with pytest.raises(ValidationError) as info:
        parse(CallWrapup, {"disposition": "fixed", "agent": "me"})
    assert {k: p.code for k, p in info.value.errors.items()} == {
        "disposition": "choice", "agent": "unknown_field"}
    assert info.value.errors["disposition"].params == {"choices": ", ".join(DISPOSITIONS)}
