"""One definition of a station's and a part's field limits, the schema's: the API and
the services refuse one character more than it allows, and accept exactly it."""

from __future__ import annotations

import pytest

from callcenter.core.errors import ValidationError
from callcenter.core.schema import parse
from repairs.parts import create_part
from repairs.schemas_stock import PART_LIMITS, STATION_LIMITS, PartCreate, StationCreate
from repairs.stations import create_station


@pytest.mark.parametrize("field", sorted(STATION_LIMITS))
def test_station_text_limits_are_the_schemas_everywhere(field, session, make_user):
    limit, admin = STATION_LIMITS[field], make_user("admin")
    body = {"name": "Depot"}
    assert parse(StationCreate, {**body, field: "x" * limit})[field] == "x" * limit
    with pytest.raises(ValidationError) as info:
        parse(StationCreate, {**body, field: "x" * (limit + 1)})
    assert info.value.errors[field].params == {"max": limit}
    station = create_station(session, admin, {**body, field: "y" * limit})
    assert getattr(station, field) == "y" * limit
    with pytest.raises(ValidationError) as info:
        create_station(session, admin, {"name": "Other", field: "z" * (limit + 1)})
    assert info.value.errors[field].code == "too_long"


@pytest.mark.parametrize("field", ["sku", "name", "unit"])
def test_part_text_limits_are_the_schemas_everywhere(field, session, make_user):
    limit, admin = PART_LIMITS[field], make_user("admin")
    body = {"sku": "S-1", "name": "Part", "unit_price": "1.00"}
    assert parse(PartCreate, {**body, field: "x" * limit})[field] == "x" * limit
    with pytest.raises(ValidationError) as info:
        parse(PartCreate, {**body, field: "x" * (limit + 1)})
    assert info.value.errors[field].params == {"max": limit}
    part = create_part(session, admin, {**body, field: "y" * limit})
    assert getattr(part, field) == "y" * limit
    with pytest.raises(ValidationError) as info:
        create_part(session, admin, {**body, "sku": "S-2", field: "z" * (limit + 1)})
    assert info.value.errors[field].code == "too_long"
