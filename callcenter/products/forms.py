"""Web forms for installed products (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from callcenter.products.models import WarrantyType
from callcenter.products.schemas import LIMITS

WARRANTY_LABELS = {WarrantyType.NONE: _l("No warranty"), WarrantyType.STANDARD: _l("Standard"),
                   WarrantyType.EXTENDED: _l("Extended"),
                   WarrantyType.CONTRACT: _l("Service contract")}

class ProductForm(FlaskForm):
    model = StringField(_l("Model"), validators=[DataRequired(), Length(max=LIMITS["model"])])
    serial_number = StringField(_l("Serial number"),
                                validators=[DataRequired(), Length(max=LIMITS["serial_number"])])
    warranty_type = SelectField(_l("Warranty type"),
                                choices=[SelectChoice(k.value, v)
                                         for k, v in WARRANTY_LABELS.items()],
                                default=WarrantyType.STANDARD.value)
    warranty_end = DateField(_l("Warranty ends"), validators=[Optional()])
    installed_on = DateField(_l("Installed on"), validators=[Optional()])


class AssignProductForm(FlaskForm):
    new_customer_id = IntegerField(_l("New end user (customer number)"),
                                   validators=[DataRequired(), NumberRange(min=1)])
