"""The CSV importer on both backends: upserts, line numbers, bad rows, encodings, links."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from callcenter.core.errors import PermissionDenied
from callcenter.customers.models import ChangeRecord, Contact, Customer, Phone, Tier
from callcenter.customers.services import find_customer_by_phone
from callcenter.imports.importer import ImportFileError, import_csv
from callcenter.products.models import InstalledProduct, WarrantyType

CUSTOMERS = """external_id,name,phones,tax_id,region,industry,lifecycle,tier,email,responsible
C1,北京华通汽车有限公司,13812345678;010-6234 5678,91110000MA01,华北,transport,current,vip,,boss
C2,Acme Trading Co.,+86 139 1234 5678|(010)62345679 ext. 12,,,,,,info@acme.example,
C3,张伟,008613712345678,,,,,,,
"""


def run(session, actor, kind, text, *, encoding="utf-8", **kw):
    data = text.encode(encoding) if isinstance(text, str) else text
    return import_csv(session, actor, kind, io.BytesIO(data), region="CN", **kw)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(make_user):
    make_user("supervisor", username="boss", department="Service/Beijing")
    return make_user("admin", username="importer")


def test_good_file_imports_everything(session, admin):
    result = run(session, admin, "customers", CUSTOMERS)
    assert (result.rows_read, result.created, result.skipped, result.errors) == (3, 3, 0, [])
    c1 = session.scalar(select(Customer).where(Customer.external_id == "C1"))
    assert (c1.name, c1.tier.value, c1.lifecycle.value, c1.tax_id, c1.region) == (
        "北京华通汽车有限公司", "vip", "current", "91110000MA01", "华北")
    assert c1.responsible.username == "boss"
    assert [p.e164 for p in c1.phones] == ["+8613812345678", "+861062345678"]
    c2 = session.scalar(select(Customer).where(Customer.external_id == "C2"))
    assert [(p.e164, p.extension) for p in c2.phones] == [("+8613912345678", ""),
                                                          ("+861062345679", "12")]
    assert c2.responsible_id == admin.id  # no responsible given: the importer
    assert c2.email == "info@acme.example" and c2.tier == Tier.ORDINARY
    # Caller-ID lookup finds imported numbers typed any way.
    assert find_customer_by_phone(session, "+86 137 1234 5678", region="CN").external_id == "C3"
    history = session.scalars(select(ChangeRecord).where(ChangeRecord.customer_id == c1.id))
    assert [(h.field, h.new_value, h.user_id) for h in history] == [
        ("imported", "北京华通汽车有限公司", admin.id)]


def test_reimport_is_idempotent_and_updates_only_what_changed(session, admin):
    run(session, admin, "customers", CUSTOMERS)
    before = (count(session, Customer), count(session, Phone), count(session, ChangeRecord))
    again = run(session, admin, "customers", CUSTOMERS)
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 3, 0)
    assert (count(session, Customer), count(session, Phone),
            count(session, ChangeRecord)) == before

    changed = CUSTOMERS.replace("13812345678;010-6234 5678", "13812345678").replace(
        ",vip,", ",major,")
    result = run(session, admin, "customers", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    c1 = session.scalar(select(Customer).where(Customer.external_id == "C1"))
    session.refresh(c1)
    assert c1.tier == Tier.MAJOR and [p.e164 for p in c1.phones] == ["+8613812345678"]
    fields = {h.field: (h.old_value, h.new_value) for h in session.scalars(
        select(ChangeRecord).where(ChangeRecord.customer_id == c1.id,
                                   ChangeRecord.field != "imported"))}
    assert fields == {"tier": ("vip", "major"),
                      "phones": ('["+8613812345678", "+861062345678"]', '["+8613812345678"]')}


def test_empty_cells_and_missing_columns_keep_current_values(session, admin):
    run(session, admin, "customers", CUSTOMERS)
    result = run(session, admin, "customers",
                 "external_id,name,tier,phones\nC1,北京华通汽车有限公司,,\n")
    assert result.unchanged == 1
    c1 = session.scalar(select(Customer).where(Customer.external_id == "C1"))
    assert c1.tier == Tier.VIP and len(c1.phones) == 2 and c1.tax_id == "91110000MA01"


def test_bad_rows_are_reported_by_physical_line_and_never_half_written(session, admin):
    text = (
        "external_id,name,phones,tier\n"                       # 1
        'C1,"Multi\nline ok?",13812345678,\n'                   # 2-3: newline in a name
        "C2,Good One,13912345678,\n"                            # 4
        "C3,Bad Phone,13912345678;12345,\n"                     # 5
        "\n"                                                    # 6: blank, ignored
        "C4,=cmd|' /C calc'!A0,,\n"                             # 7
        "C5,Too few\n"                                          # 8
        "C6,Too many,,,surplus\n"                               # 9
        "C7,Bad tier,,platinum\n"                               # 10
        f"C8,{'x' * 201},,\n"                                   # 11
        ",No id,,\n"                                            # 12
        "C9,Trailing empty cells are fine,,,,\n"                # 13
    )
    result = run(session, admin, "customers", text)
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "name"), (5, "phones"), (7, "name"), (8, ""), (9, ""), (10, "tier"),
        (11, "name"), (12, "external_id")]
    assert [e.code for e in result.errors] == [
        "control_chars", "phone.invalid", "import.formula", "import.cell_count",
        "import.cell_count", "choice", "import.too_long", "required"]
    assert result.errors[1].problem.params["value"] == "12345"
    assert result.errors[6].problem.params == {"max": 200, "length": 201}
    # Worded where shown; outside a request, in English.
    assert "control characters" in result.errors[0].message
    assert "12345" in result.errors[1].message
    assert "formula" in result.errors[2].message
    assert (result.rows_read, result.created, result.skipped) == (10, 2, 8)
    assert result.rows_read == result.created + result.updated + result.unchanged \
        + result.skipped
    assert sorted(session.scalars(select(Customer.external_id))) == ["C2", "C9"]
    # The rejected row's valid phone was not stored on its own.
    assert find_customer_by_phone(session, "13912345678", region="CN").external_id == "C2"
    assert count(session, Phone) == 1


def test_a_batch_the_database_rejects_keeps_its_good_rows(session, admin):
    run(session, admin, "customers", CUSTOMERS)
    rows = ["external_id,serial_number,model,customer_external_id,warranty_type,warranty_end"]
    for i in range(1, 13):
        serial = "SN-DUP" if i in (4, 9) else f"SN-{i}"      # same serial, two products
        rows.append(f"P{i},{serial},Bus K9,C{1 + i % 3},extended,2026-06-30")
    result = run(session, admin, "products", "\n".join(rows) + "\n", batch_size=5)
    assert (result.created, result.skipped) == (11, 1)
    assert result.errors[0][:2] == (10, "serial_number")    # P9 is on line 10
    assert result.errors[0].code == "product.taken_race"
    serials = set(session.scalars(select(InstalledProduct.serial_number)))
    assert len(serials) == 11 and "SN-DUP" in serials
    p1 = session.scalar(select(InstalledProduct).where(InstalledProduct.external_id == "P1"))
    assert p1.warranty_type == WarrantyType.EXTENDED and p1.customer.external_id == "C2"
    assert str(p1.warranty_end) == "2026-06-30"


def test_contacts_and_products_link_by_external_id(session, admin):
    run(session, admin, "customers", CUSTOMERS)
    contacts = ("external_id,customer_external_id,name,position,phones,email\n"
                "K1,C1,李娜,车队经理,13612345678,li@example.com\n"
                "K2,C404,Nobody,,,\n"
                "K3,C2,Jane Roe,Buyer,,\n")
    result = run(session, admin, "contacts", contacts)
    assert (result.created, result.skipped) == (2, 1)
    assert result.errors[0][:2] == (3, "customer_external_id")
    k1 = session.scalar(select(Contact).where(Contact.external_id == "K1"))
    assert k1.customer.external_id == "C1" and [p.e164 for p in k1.phones] == ["+8613612345678"]
    assert find_customer_by_phone(session, "136 1234 5678", region="CN").external_id == "C1"
    again = run(session, admin, "contacts", contacts)
    assert (again.created, again.unchanged, count(session, Phone)) == (0, 2, 6)

    # A new number replaces the old one (no duplicates left behind).
    run(session, admin, "contacts", contacts.replace("13612345678", "13612345679"))
    assert find_customer_by_phone(session, "13612345678", region="CN") is None
    assert count(session, Phone) == 6
    run(session, admin, "contacts", contacts)

    # The person moves to another customer: their phone goes with them.
    run(session, admin, "contacts", "external_id,customer_external_id,name\nK1,C3,李娜\n")
    assert find_customer_by_phone(session, "13612345678", region="CN").external_id == "C3"

    products = ("external_id,serial_number,model,customer_external_id,installed_on\n"
                "P1,LCK6120-001,LCK6120,C1,2023/05/01\n")
    assert run(session, admin, "products", products).created == 1
    # Re-assigned from C1 to the real end user C3: recorded on both customers.
    result = run(session, admin, "products", products.replace(",C1,", ",C3,"))
    assert result.updated == 1
    product = session.scalar(select(InstalledProduct).where(InstalledProduct.external_id == "P1"))
    assert product.customer.external_id == "C3"
    owners = set(session.scalars(select(ChangeRecord.customer_id).where(
        ChangeRecord.entity == "product", ChangeRecord.field == "customer_id")))
    assert owners == {product.customer_id, session.scalar(
        select(Customer.id).where(Customer.external_id == "C1"))}


def test_gb18030_file_is_recognised(session, admin):
    result = run(session, admin, "customers", CUSTOMERS, encoding="gb18030")
    assert result.created == 3 and result.encoding == "gb18030"
    assert [n.code for n in result.notices] == ["import.read_gb18030"]
    names = set(session.scalars(select(Customer.name)))
    assert "北京华通汽车有限公司" in names and "张伟" in names


def test_stray_bytes_reject_only_their_row_and_a_bom_is_dropped(session, admin):
    data = ("\ufeffexternal_id,name\nC1,Fine\n".encode()
            + b"C2,Caf\xe9 M\xfcller\n" + "C3,也可以\n".encode())
    result = run(session, admin, "customers", data)
    assert result.created == 2
    assert [(e.line, e.field) for e in result.errors] == [(3, "name")]
    assert result.errors[0].code == "import.not_utf8"
    assert "UTF-8" in result.errors[0].message


@pytest.mark.parametrize("text, code, message", [
    ("", "import.empty", "The file is empty."),
    ("external_id,nmae\nC1,x\n", "import.unknown_columns", "Unknown columns: nmae."),
    ("external_id,phones\nC1,138\n", "import.columns_missing",
     "Required columns missing: name."),
    ("external_id,name,name\n", "import.columns_twice", "Columns named twice: name."),
])
def test_unusable_files_raise(session, admin, text, code, message):
    # A code and its values, worded where it is shown; str() is English, for logs.
    with pytest.raises(ImportFileError) as raised:
        run(session, admin, "customers", text)
    assert raised.value.problem.code == code and str(raised.value).startswith(message)


def test_spreadsheet_files_are_refused_with_advice(session, admin):
    with pytest.raises(ImportFileError, match="CSV UTF-8"):
        run(session, admin, "customers", b"PK\x03\x04\x14\x00\x06\x00rest-of-xlsx")


def test_semicolon_delimited_files_work(session, admin):
    result = run(session, admin, "customers", "external_id;name;phones\nC1;Acme;13812345678\n")
    assert result.created == 1


def test_permission_and_scope_apply(session, make_user, admin):
    with pytest.raises(PermissionDenied):
        run(session, make_user("agent"), "customers", CUSTOMERS)
    run(session, admin, "customers", CUSTOMERS)
    outsider = make_user("supervisor", scope="own", department="Sales")
    result = run(session, outsider, "customers", CUSTOMERS.replace(",vip,", ",small,"))
    assert result.updated == 0 and result.skipped == 3
    assert {e.field for e in result.errors} == {"external_id"}
    assert session.scalar(select(Customer.tier).where(Customer.external_id == "C1")) == Tier.VIP
    # Their contacts may not hang off customers they cannot see either.
    result = run(session, outsider, "contacts",
                 "external_id,customer_external_id,name\nK1,C1,Someone\n")
    assert result.errors[0][:2] == (2, "customer_external_id")


def test_duplicate_external_id_in_one_file_last_row_wins(session, admin):
    result = run(session, admin, "customers",
                 "external_id,name,tier\nC1,First,vip\nC1,Second,\n")
    assert (result.created, result.updated) == (1, 1)
    customer = session.scalar(select(Customer).where(Customer.external_id == "C1"))
    assert (customer.name, customer.tier) == ("Second", Tier.VIP)


def test_progress_is_reported_per_batch(session, admin):
    rows = "".join(f"C{i},Customer {i}\n" for i in range(1, 26))
    seen = []
    run(session, admin, "customers", "external_id,name\n" + rows, batch_size=10,
        progress=lambda r, b, t: seen.append((r, b, t)))
    assert [r for r, _b, _t in seen] == [10, 20, 25]
    assert seen[-1][1] == seen[-1][2] > 0
