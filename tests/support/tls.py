"""Throwaway TLS material for tests: a CA, a server certificate for 127.0.0.1 and a client
certificate, made by the ``openssl`` command line in a temporary directory.

Without ``openssl`` the tests that need it skip, or fail under ``CI=true``.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.utils import unavailable

__all__ = ["TLSFiles", "client_context", "make_tls_files", "tls_files_fixture"]


@dataclass(frozen=True)
class TLSFiles:
    """PEM files: the CA, the server's pair (CN and SAN 127.0.0.1), a client's pair."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed none of the above


def _openssl() -> str:
    binary = shutil.which("openssl")
    if binary is None:
        reason = "openssl is not installed (apt-get install openssl)"
        unavailable(reason)
    assert binary is not None
    return binary


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(openssl: str, directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    _run(
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
        "-subj", f"/CN={name}", cwd=directory,
    )  # fmt: skip
    return cert, key


def _signed(
    openssl: str, directory: Path, name: str, ca: tuple[Path, Path], extensions: str
) -> tuple[Path, Path]:
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    ext = directory / f"{name}.ext"
    ext.write_text(extensions + "\n")
    _run(
        openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}", cwd=directory,
    )  # fmt: skip
    _run(
        openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-set_serial", str(sum(map(ord, name))), "-out", str(cert), "-days", "2",
        "-extfile", str(ext), cwd=directory,
    )  # fmt: skip
    return cert, key


def make_tls_files(directory: Path) -> TLSFiles:
    """Make a CA, a server pair for 127.0.0.1/localhost, a client pair, another CA."""
    openssl = _openssl()
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(openssl, directory, "pitchcast-test-ca")
    server = _signed(openssl, directory, "server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost")
    client = _signed(openssl, directory, "client", ca, "extendedKeyUsage=clientAuth")
    other, _ = _ca(openssl, directory, "someone-else-ca")
    return TLSFiles(
        ca=ca[0],
        server_cert=server[0],
        server_key=server[1],
        client_cert=client[0],
        client_key=client[1],
        other_ca=other,
    )


def client_context(files: TLSFiles) -> ssl.SSLContext:
    """A client context that trusts the test CA and presents the client certificate."""
    context = ssl.create_default_context(cafile=str(files.ca))
    context.load_cert_chain(str(files.client_cert), str(files.client_key))
    return context


@pytest.fixture(scope="session", name="tls_files")
def tls_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """One set of TLS files for the session."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))
