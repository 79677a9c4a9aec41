"""The service desk's settings from the environment: working hours, mail for notices,
the attachment limit. A bad value stops the start with a message naming the variable;
an empty one (as docker compose passes an unset one) means the default."""

from __future__ import annotations

from datetime import time

import pytest

from callcenter.config import DEFAULT_SERVICE_HOURS, ConfigError, load_settings


def settings(tmp_path, **env):
    return load_settings({"CALLCENTER_INSTANCE": str(tmp_path), **env})


def test_defaults_and_empty_values(tmp_path):
    for env in ({}, {"SERVICE_HOURS": "", "SLA_ESCALATION": "", "SMTP_HOST": "",
                     "TICKET_ATTACHMENT_MAX_BYTES": ""}):
        s = settings(tmp_path, **env)
        assert s.service_hours == DEFAULT_SERVICE_HOURS
        assert s.escalation_ladder == "0.8:warn,1.0:lead,1.5:up"
        assert s.smtp is None and s.ticket_attachment_max_bytes == 10 * 1024 * 1024


def test_service_hours(tmp_path):
    s = settings(tmp_path, SERVICE_HOURS="08:30-12:00, 13:30-17:30")
    assert s.service_hours == ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))


@pytest.mark.parametrize("raw", ["9-17", "09:00", "18:00-09:00", "09:00-13:00,12:00-18:00",
                                 "25:00-26:00"])
def test_bad_service_hours_name_the_variable(tmp_path, raw):
    with pytest.raises(ConfigError, match="SERVICE_HOURS"):
        settings(tmp_path, SERVICE_HOURS=raw)


def test_smtp(tmp_path):
    s = settings(tmp_path, SMTP_HOST="mail.example.com", SMTP_FROM="service@example.com",
                 SMTP_SECURITY="ssl", SMTP_USERNAME="u", SMTP_PASSWORD="p")
    assert (s.smtp.host, s.smtp.port, s.smtp.security) == ("mail.example.com", 465, "ssl")
    assert settings(tmp_path, SMTP_HOST="m", SMTP_FROM="a@b.cn", SMTP_SECURITY="").smtp.port \
        == 25
    with pytest.raises(ConfigError, match="SMTP_FROM"):
        settings(tmp_path, SMTP_HOST="m")
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        settings(tmp_path, SMTP_HOST="m", SMTP_FROM="a@b.cn", SMTP_SECURITY="tls1.0")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        settings(tmp_path, SMTP_HOST="m", SMTP_FROM="a@b.cn", SMTP_PORT="smtp")


def test_attachment_limit(tmp_path):
    assert settings(tmp_path, TICKET_ATTACHMENT_MAX_BYTES="2048").ticket_attachment_max_bytes \
        == 2048
    for bad in ("0", "-1", "ten"):
        with pytest.raises(ConfigError, match="TICKET_ATTACHMENT_MAX_BYTES"):
            settings(tmp_path, TICKET_ATTACHMENT_MAX_BYTES=bad)
