"""The per-app interception CA: generating it, and issuing a certificate for each host an
instance reaches over intercepted HTTPS."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from collections import OrderedDict
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = datetime.timedelta(days=3650)
LEAF_LIFETIME = datetime.timedelta(days=7)
# Clocks in Pods may lag the proxy's a little.
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class CaKeyPair:
    """PEM texts. The key never leaves the proxy and its Secret."""

    cert_pem: bytes
    key_pem: bytes

    def __repr__(self) -> str:
        return "CaKeyPair(<certificate>, <key withheld>)"


def generate_ca(common_name: str, now: datetime.datetime | None = None) -> CaKeyPair:
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CaKeyPair(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


class CaInvalid(ValueError):
    """The stored CA cannot be used; the text names what is wrong, never the key."""


def load_ca(pair: CaKeyPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(pair.cert_pem)
        key = serialization.load_pem_private_key(pair.key_pem, password=None)
    except ValueError as error:
        raise CaInvalid(f"the CA certificate or key is not valid PEM ({type(error).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise CaInvalid("the CA key does not belong to the CA certificate")
    return cert, key


def _subject_alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)


class LeafIssuer:
    """Server-side TLS contexts for intercepted hosts, signed by the app's CA, kept for the
    most recent `capacity` hosts."""

    def __init__(self, pair: CaKeyPair, capacity: int = 1024) -> None:
        self._ca_cert, self._ca_key = load_ca(pair)
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._capacity = capacity

    def certificate(self, host: str, now: datetime.datetime | None = None) -> x509.Certificate:
        now = now or datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self._ca_cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + LEAF_LIFETIME, self._ca_cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([_subject_alternative_name(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()), critical=False
            )
            .sign(self._ca_key, hashes.SHA256())
        )

    def context(self, host: str) -> ssl.SSLContext:
        host = host.lower()
        if host in self._contexts:
            self._contexts.move_to_end(host)
            return self._contexts[host]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        context.sni_callback = self._by_server_name
        chain = self.certificate(host).public_bytes(serialization.Encoding.PEM) + self._ca_cert.public_bytes(
            serialization.Encoding.PEM
        )
        key = self._leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # ssl loads certificates only from files: a private file, removed at once.
        descriptor, path = tempfile.mkstemp(prefix="lunora-egress-", suffix=".pem")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(chain + key)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        self._contexts[host] = context
        if len(self._contexts) > self._capacity:
            self._contexts.popitem(last=False)
        return context

    def _by_server_name(
        self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> None:
        # A client may name another host in its TLS hello than in its CONNECT; answer for that one.
        if server_name and self._contexts.get(server_name.lower()) is not context:
            connection.context = self.context(server_name)
