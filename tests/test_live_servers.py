"""The test servers' ports: a port taken between choosing and binding is noticed and chosen again."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.live import PortTaken, Servers


def test_choosing_again_moves_every_port_in_the_environment_and_the_endpoints(tmp_path: Path) -> None:
    servers = Servers(tmp_path)
    before = (servers.rasa_port, servers.actions_port, servers.web_port)
    old_url = servers.actions_url
    servers._choose_ports()
    assert (servers.rasa_port, servers.actions_port, servers.web_port) != before
    endpoints = servers.endpoints.read_text(encoding="utf-8")
    assert servers.actions_url in endpoints and old_url not in endpoints
    assert servers.env["TRAENINGSGUIDEN_RASA_URL"].endswith(f":{servers.rasa_port}")
    assert servers.env["TRAENINGSGUIDEN_BASE_URL"].endswith(f":{servers.web_port}")


def test_the_web_app_starts_on_a_port_chosen_again(tmp_path: Path) -> None:
    servers = Servers(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", servers.web_port))
        squatter.listen()
        try:
            with pytest.raises(PortTaken):
                servers.start_web()
            servers._choose_ports()
            servers.start_web()  # answers on the new port
        finally:
            servers.stop_web()
