"""The templates render only with every value they name, so no deployment ships a stray `@@NAME@@`."""

from __future__ import annotations

import pytest

from deploy.render import NGINX_TEMPLATE, PLACEHOLDER, TemplateError, render, render_nginx, render_pgbouncer


def test_the_nginx_site_lists_every_node_and_keeps_no_placeholder() -> None:
    site = render_nginx(nodes=["127.0.0.1:8001", "127.0.0.1:8002"], listen=["443 ssl"], server_name="api.example.com")

    assert "    server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;\n" in site
    assert "    server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;\n" in site
    assert "    listen 443 ssl;\n" in site
    assert PLACEHOLDER.search(site) is None


def test_pgbouncer_pools_transactions_and_keeps_no_placeholder() -> None:
    ini = render_pgbouncer(postgres_port=5433)

    assert "pool_mode = transaction\n" in ini
    assert "evotodo = host=127.0.0.1 port=5433 dbname=evotodo\n" in ini
    assert PLACEHOLDER.search(ini) is None


def test_a_missing_or_unknown_value_is_refused() -> None:
    with pytest.raises(TemplateError, match="needs"):
        render(NGINX_TEMPLATE, {"LISTEN": "80"})
    with pytest.raises(TemplateError, match="at least one"):
        render_nginx(nodes=[])
