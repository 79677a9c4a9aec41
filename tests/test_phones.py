import pytest

from callcenter.customers.phones import InvalidPhone, normalise_phone, try_normalise_phone

SAME_MOBILE = ["13812345678", "+86 138 1234 5678", "008613812345678", "013812345678",
               "+8613812345678", "138-1234-5678", "(+86) 138 1234 5678"]


@pytest.mark.parametrize("raw", SAME_MOBILE)
def test_mobile_formats_normalise_to_one_e164(raw):
    assert normalise_phone(raw, "CN").e164 == "+8613812345678"


@pytest.mark.parametrize("raw", ["010-6234 5678", "(010)62345678", "01062345678",
                                 "+86 10 6234 5678", "(010)62345678 ext. 12"])
def test_landline_formats(raw):
    assert normalise_phone(raw, "CN").e164 == "+861062345678"


def test_extension_is_kept_apart():
    assert normalise_phone("(010)62345678 ext. 12", "CN").extension == "12"


@pytest.mark.parametrize("raw", ["", "   ", "anonymous", "<unknown>", "12", "abc",
                                 "+44207946095812345678901", "1" * 200,
                                 "'; DROP TABLE customers; --", "<script>alert(1)</script>"])
def test_garbage_is_rejected_with_a_message(raw):
    with pytest.raises(InvalidPhone) as info:
        normalise_phone(raw, "CN")
    assert str(info.value)
    assert try_normalise_phone(raw, "CN") is None
