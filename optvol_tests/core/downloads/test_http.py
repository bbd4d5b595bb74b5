"""``fetch`` at its limits, against a real loopback server (HTTP, and HTTPS with a
certificate this machine does not trust): a server that trickles, a body too large with
or without its length announced, a host that does not exist or does not answer now."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from optvol.core.downloads.http import DownloadError, fetch
from optvol_tests.loopback import QuietHandler, serving
from optvol_tests.sources import Answer


def test_a_body_that_trickles_past_the_deadline_is_cut_off_and_retried(served):
    # Every read answers well within the timeout; the whole body does not.
    url = served.serve("/slow.csv", Answer(b"x" * 1000, delay=0.1, pieces=10))
    with pytest.raises(DownloadError, match=r"took over 0.3 s .*\(after 3 retries\)"):
        fetch(url, timeout=5, deadline=0.3)
    assert served.waits == [1, 2, 4]
    assert fetch(url, timeout=5, deadline=30).body == b"x" * 1000


@pytest.mark.parametrize("announced", [True, False], ids=["announced", "streamed"])
def test_a_body_over_the_size_limit_is_refused_at_once(served, announced):
    url = served.serve("/big.json", Answer(b"{" * 5000, no_length=not announced))
    message = "the body is 5,000 bytes, over" if announced else "the body is over the limit"
    with pytest.raises(DownloadError, match=message):
        fetch(url, max_bytes=1000)
    assert served.waits == [] and served.hits("/big.json") == 1
    assert len(fetch(url, max_bytes=5000).body) == 5000


def test_a_body_without_a_length_is_read_to_its_end(served):
    url = served.serve("/plain.csv", Answer(b"a,b\n1,2\n" * 3000, no_length=True, pieces=4))
    assert fetch(url).body == b"a,b\n1,2\n" * 3000


def _name_lookup_fails(monkeypatch, errno: int) -> None:
    """No name server can be reached from here: getaddrinfo answers as one would."""

    def lookup(host, *args, **kwargs):
        raise socket.gaierror(errno, f"lookup of {host} failed")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


def test_a_host_that_does_not_exist_is_refused_at_once(served, monkeypatch):
    _name_lookup_fails(monkeypatch, socket.EAI_NONAME)
    with pytest.raises(DownloadError, match="GET http://no.such.host.invalid/x: no such host"):
        fetch("http://no.such.host.invalid/x")
    assert served.waits == []


def test_a_name_server_that_does_not_answer_now_is_retried(served, monkeypatch):
    _name_lookup_fails(monkeypatch, socket.EAI_AGAIN)
    with pytest.raises(DownloadError, match=r"cannot connect: .*\(after 3 retries\)"):
        fetch("http://stooq.invalid/x")
    assert served.waits == [1, 2, 4]


@pytest.fixture
def https_url(tmp_path):
    """An HTTPS server on a loopback port whose certificate nobody signed."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    with serving(Handler, tls=(cert, key)) as url:
        yield f"{url}/x"


def test_a_certificate_that_is_refused_is_not_retried(served, https_url):
    with pytest.raises(DownloadError, match="the server's certificate was refused: self"):
        fetch(https_url)
    assert served.waits == []


def test_a_chunked_body_cut_short_says_how_much_came_and_is_retried(served):
    class Chunked(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"464\r\n" + b"x" * 1124 + b"\r\n")  # one chunk, never the last
            self.wfile.flush()
            self.close_connection = True

    cut = pytest.raises(DownloadError, match=r"cut short after 1,124 bytes \(after 3 retries")
    with serving(Chunked) as url, cut:
        fetch(f"{url}/chunked.csv")
    assert served.waits == [1, 2, 4]
