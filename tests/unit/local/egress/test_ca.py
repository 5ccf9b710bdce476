from __future__ import annotations

import asyncio
import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from lunora_operator.local.egress.ca import CaInvalid, CaKeyPair, LeafIssuer, generate_ca, load_ca


def test_the_generated_ca_is_a_ca_and_its_key_matches() -> None:
    pair = generate_ca("test CA")
    cert, _ = load_ca(pair)
    assert cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    assert cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=3000)
    assert "key withheld" in repr(pair)
    assert "PRIVATE" not in repr(pair)


def test_a_key_of_another_ca_is_refused() -> None:
    one, other = generate_ca("one"), generate_ca("other")
    with pytest.raises(CaInvalid, match="does not belong"):
        load_ca(CaKeyPair(one.cert_pem, other.key_pem))
    with pytest.raises(CaInvalid, match="not valid PEM"):
        load_ca(CaKeyPair(b"nope", one.key_pem))


@pytest.mark.parametrize(
    ("host", "name"),
    [("api.example.test", x509.DNSName("api.example.test")), ("10.1.2.3", None), ("[::1]", None)],
)
def test_leaf_certificates_name_the_host_and_chain_to_the_ca(
    host: str, name: x509.GeneralName | None
) -> None:
    pair = generate_ca("test CA")
    ca_cert, _ = load_ca(pair)
    leaf = LeafIssuer(pair).certificate(host)
    leaf.verify_directly_issued_by(ca_cert)
    names = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    if name is not None:
        assert list(names) == [name]
    else:
        assert [type(n) for n in names] == [x509.IPAddress]


async def test_a_client_trusting_the_ca_completes_a_handshake_for_the_host() -> None:
    pair = generate_ca("test CA")
    issuer = LeafIssuer(pair)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi")
        await writer.drain()
        writer.close()

    # The server's context is the one for another host: the client's SNI picks the right one.
    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=issuer.context("other.test"))
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cadata=pair.cert_pem.decode())
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client, server_hostname="api.example.test"
    )
    assert await reader.read() == b"hi"
    writer.close()
    other = ssl.create_default_context(cadata=generate_ca("x").cert_pem.decode())
    with pytest.raises(ssl.SSLError):
        await asyncio.open_connection("127.0.0.1", port, ssl=other, server_hostname="api.example.test")
    server.close()


def test_contexts_are_kept_for_the_most_recent_hosts() -> None:
    issuer = LeafIssuer(generate_ca("test CA"), capacity=2)
    first = issuer.context("a.test")
    assert issuer.context("A.test") is first
    issuer.context("b.test")
    issuer.context("c.test")
    assert issuer.context("a.test") is not first
