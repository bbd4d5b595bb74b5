"""tools/install.py (``make install``) hands uv the settings pip is configured with."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "install.py"
spec = importlib.util.spec_from_file_location("install", SCRIPT)
install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install)

# `pip config list` as it reads on a machine with local wheels and indexes.
LISTING = """\
:env:.cert='/etc/ssl/certs/ca-certificates.crt'
:env:.default-timeout='180'
:env:.disable-pip-version-check='1'
:env:.find-links='/opt/wheels'
global.cert='/etc/ssl/certs/old.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/other-wheels'
"""


def test_the_environment_overrides_the_install_section_which_overrides_global():
    settings = install.pip_settings(
        "global.index-url='https://a/simple'\ninstall.index-url='https://b/simple'\n"
        "global.find-links='/g'\n:env:.find-links='/e'\ninstall.find-links='/i'\n"
        "freeze.find-links='/f'\nnot a setting\n"
    )
    assert settings == {"index-url": "https://b/simple", "find-links": "/e"}


def test_indexes_find_links_and_constraints_reach_uv_as_options():
    options, env = install.uv_options(install.pip_settings(LISTING))
    assert options == [
        "--extra-index-url", "file:///opt/pypi/simple",
        "--extra-index-url", "file:///opt/pypi-more/simple",
        "--find-links", "/opt/wheels",
        "--constraint", "/etc/xdg/pip/constraints.txt",
        "--index-strategy", "unsafe-best-match",
    ]  # fmt: skip
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "UV_HTTP_TIMEOUT": "180"}


def test_an_index_url_no_index_and_trusted_hosts_are_passed_on_and_nothing_else_by_default():
    options, _ = install.uv_options(
        {"index-url": "https://mirror/simple", "no-index": "true", "trusted-host": "mirror a"}
    )
    assert options == [
        "--index-url", "https://mirror/simple",
        "--allow-insecure-host", "mirror", "--allow-insecure-host", "a",
        "--no-index",
    ]  # fmt: skip
    assert install.uv_options({}) == ([], {})
