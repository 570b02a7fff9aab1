"""The SSRF guard (``mlflow_registry_ext.webhooks.ssrf``): at creation and at connect time."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.webhooks.service import WebhookService
from mlflow_registry_ext.webhooks.ssrf import ALLOW_PRIVATE_ENV, BlockedAddress, check_url, is_public_address
from mlflow_registry_ext.webhooks.transport import HttpTransport, TransportError


@pytest.fixture(autouse=True)
def guard_on(monkeypatch):
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)


REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "::a9fe:a9fe",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo wrapping 127.0.0.1
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_and_their_ipv6_disguises(address):
    assert not is_public_address(address)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(BlockedAddress):
        check_url(f"https://{host}/hook")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert is_public_address(address)
    host = f"[{address}]" if ":" in address else address
    assert check_url(f"https://{host}/hook") == f"https://{host}/hook"


@pytest.mark.parametrize("host", ["127.1", "0177.0.0.1", "2130706433", "0x7f.0.0.1", "0x7f000001"])
def test_non_canonical_ip_literals_are_refused(host):
    with pytest.raises(BlockedAddress, match="not a canonical IP"):
        check_url(f"http://{host}/")


def test_names_are_resolved_and_every_address_must_be_public():
    with pytest.raises(BlockedAddress, match="resolves to 127.0.0.1"):
        check_url("https://localhost/hook")
    with pytest.raises(BlockedAddress, match="169.254.169.254"):
        check_url("https://metadata.example/", resolve=lambda h: ["93.184.216.34", "169.254.169.254"])
    assert check_url("https://ci.example/", resolve=lambda h: ["93.184.216.34"]) == "https://ci.example/"

    def unresolvable(host):
        raise OSError("Name or service not known")

    with pytest.raises(BlockedAddress, match="Cannot resolve"):
        check_url("https://nowhere.invalid/", resolve=unresolvable)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "https:///nohost", "http://h:99999/"])
def test_malformed_urls(url):
    with pytest.raises(ValueError):
        check_url(url)


def test_private_targets_allowed_when_configured(monkeypatch):
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "true")
    assert check_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
    with pytest.raises(ValueError):
        check_url("gopher://127.0.0.1/")


def test_creating_a_subscription_refuses_internal_targets(sqlite_gov_db):
    service = WebhookService(sqlite_gov_db)
    for url in ("http://169.254.169.254/latest/meta-data", "http://[::ffff:127.0.0.1]:8080/", "http://localhost/"):
        with pytest.raises(InvalidInput, match="not a public address"):
            service.create(url, ["*"])
    assert service.list() == []


def test_connect_time_check_stops_dns_rebinding(sqlite_gov_db, receiver, monkeypatch):
    # The name passed the creation check (it resolved to a public address then); at sending time
    # it resolves to loopback. The connection is refused before any byte is sent.
    url = f"http://localhost:{receiver.port}/hook"
    assert check_url(url, resolve=lambda h: ["93.184.216.34"]) == url
    with pytest.raises(TransportError) as caught:
        HttpTransport(timeout=5).send(url, b"{}", {"webhook-id": "e1"})
    assert caught.value.kind == "blocked"
    assert receiver.deliveries == []

    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "true")
    assert HttpTransport(timeout=5).send(url, b"{}", {"webhook-id": "e1"}).status_code == 200
    assert len(receiver.deliveries) == 1
