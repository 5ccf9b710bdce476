from __future__ import annotations

import pytest

from lunora_operator.local.egress.server import parse_address, parse_static_hosts


def test_addresses() -> None:
    assert parse_address("10.244.0.1:0", "--listen") == ("10.244.0.1", 0)
    assert parse_address("[::]:3128", "--listen") == ("::", 3128)
    with pytest.raises(ValueError, match="--control must be host:port"):
        parse_address("3129", "--control")


def test_static_hosts() -> None:
    assert parse_static_hosts(["A.test=127.0.0.1", "b.test=::1"]) == {"a.test": "127.0.0.1", "b.test": "::1"}
    with pytest.raises(ValueError, match="--resolve must be HOST=IP, not 'a\\.test=localhost'"):
        parse_static_hosts(["a.test=localhost"])
