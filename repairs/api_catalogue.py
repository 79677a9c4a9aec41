"""REST routes for service stations (/api/v1/stations) and the parts catalogue
(/api/v1/parts): list, read, create, change. Thin: the rules are in ``repairs.stations``
and ``repairs.parts``. Stations and parts are master data: whoever may read stock
(``stock.read``) sees all of them; writing needs ``station.manage`` / ``part.manage``.
A stale ``version`` on a PATCH is a 409 carrying ``current_version``."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for

from callcenter.api import PAGE_PARAMS, api_route, arg, created, paginate
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from repairs import schemas_stock as schemas
from repairs.parts import create_part, get_part, parts_query, update_part
from repairs.serializers_stock import part_to_dict, parts_to_dicts, station_to_dict
from repairs.stations import create_station, get_station, stations_query, update_station

STATION_ID = "/stations/<id:station_id>"
PART_ID = "/parts/<id:part_id>"
ACTIVE = Param("active", {"enum": ["true", "false"]}, "Only active (true) or inactive ones.")


def active_arg() -> bool | None:
    value = arg("active")
    if value not in (None, "true", "false"):
        raise ValidationError({"active": Problem("choice", {"choices": "true, false"})})
    return None if value is None else value == "true"


# --- stations -------------------------------------------------------------------------

@api_route("GET", "/stations", summary="List service stations", tag="stock",
           permission=Permission.STOCK_READ, response="StationPage",
           query=(Param("q", {"type": "string", "maxLength": 120},
                        "Part of the name or the address."), ACTIVE) + PAGE_PARAMS)
def stations_list():
    stmt = stations_query(q=arg("q"), active=active_arg())
    return jsonify(paginate(stmt, station_to_dict))


@api_route("POST", "/stations", summary="Add a service station", tag="stock",
           permission=Permission.STATION_MANAGE, body=schemas.StationCreate,
           response=schemas.Station, status=201,
           description="`name` is unique. `customer_id` (the dealer's customer record) must "
                       "be in your scope: otherwise a 422 naming it, as if it did not exist.")
def station_create(body: dict[str, Any]):
    station = create_station(db_session(), api_user(), body)
    response = created(station_to_dict(station))
    response.headers["Location"] = url_for("api.station_get", station_id=station.id)
    return response


@api_route("GET", STATION_ID, summary="A service station", tag="stock",
           permission=Permission.STOCK_READ, response=schemas.Station)
def station_get(station_id: int):
    return jsonify(station_to_dict(get_station(db_session(), station_id)))


@api_route("PATCH", STATION_ID, summary="Change a service station", tag="stock",
           permission=Permission.STATION_MANAGE, body=schemas.StationPatch,
           response=schemas.Station, errors=(409,),
           description="Send the `version` you read: a stale one is a 409 carrying "
                       "`current_version`. `active: false` stops its stock moving.")
def station_patch(station_id: int, body: dict[str, Any]):
    station = get_station(db_session(), station_id)
    update_station(db_session(), api_user(), station, body)
    return jsonify(station_to_dict(station))


# --- parts ----------------------------------------------------------------------------

@api_route("GET", "/parts", summary="List the parts catalogue", tag="stock",
           permission=Permission.STOCK_READ, response="PartPage",
           query=(Param("q", {"type": "string", "maxLength": 200},
                        "Part of the SKU or the name."),
                  Param("fits", {"type": "string", "maxLength": schemas.MODEL_LIMIT},
                        "A product model: the parts that fit it."), ACTIVE) + PAGE_PARAMS)
def parts_list():
    stmt = parts_query(q=arg("q"), fits=arg("fits"), active=active_arg())
    page = paginate(stmt, lambda p: p)
    page["items"] = parts_to_dicts(db_session(), page["items"])
    return jsonify(page)


@api_route("POST", "/parts", summary="Add a part to the catalogue", tag="stock",
           permission=Permission.PART_MANAGE, body=schemas.PartCreate,
           response=schemas.Part, status=201,
           description="`sku` is unique; `unit_price` is decimal text with at most 2 "
                       "decimals (answered as \"12.50\").")
def part_create(body: dict[str, Any]):
    part = create_part(db_session(), api_user(), body)
    response = created(part_to_dict(db_session(), part))
    response.headers["Location"] = url_for("api.part_get", part_id=part.id)
    return response


@api_route("GET", PART_ID, summary="A part", tag="stock",
           permission=Permission.STOCK_READ, response=schemas.Part)
def part_get(part_id: int):
    return jsonify(part_to_dict(db_session(), get_part(db_session(), part_id)))


@api_route("PATCH", PART_ID, summary="Change a part", tag="stock",
           permission=Permission.PART_MANAGE, body=schemas.PartPatch,
           response=schemas.Part, errors=(409,),
           description="Send the `version` you read: a stale one is a 409 carrying "
                       "`current_version`. `fits` replaces the list. A new price applies to "
                       "issues from now on.")
def part_patch(part_id: int, body: dict[str, Any]):
    part = get_part(db_session(), part_id)
    update_part(db_session(), api_user(), part, body)
    return jsonify(part_to_dict(db_session(), part))
