"""vitrage_ds's options registered on the CONF Vitrage's parse_config filled.

``credentials.py CONFIG OUTPUT``: parse ``CONFIG`` with Vitrage's
``parse_config``, register vitrage_ds's options (raising is the failure
under test), and compare the credentials each side reads: Vitrage's session
from its own ``keystone_client.get_session``, vitrage_ds's from an API
client of the factory its plugins use. Writes what they read (secrets only
as whether they match).
"""

from __future__ import annotations

import types
from typing import Any

import common


def main() -> None:
    config_file, output = common.argv(2)
    conf = common.parse(config_file)

    from vitrage import keystone_client

    from vitrage_ds import config, opts
    from vitrage_ds.http.session import client_factory_from_conf

    config.register_opts(conf)
    opts.register_service_opts(conf)

    vitrage_session = keystone_client.get_session()
    options = types.SimpleNamespace(endpoint_override='http://127.0.0.1:9/v2',
                                    max_concurrency=None)
    vds_session = client_factory_from_conf(conf)('alarming', options).session

    def identity(session: Any) -> dict[str, Any]:
        return dict(session.auth.get_cache_id_elements())

    mine, theirs = identity(vds_session), identity(vitrage_session)
    common.write(output, {
        'same_identity': mine == theirs,
        'identity_keys': sorted(k for k, v in mine.items() if v is not None),
        'auth_url': mine.get('auth_url'),
        'username': mine.get('username'),
        'verify': [vitrage_session.verify, vds_session.verify],
        'region_name': conf.service_credentials.region_name,
        'interface': conf.service_credentials.interface,
        'http_timeout': config.call_timeout(conf),
        'vitrage_notifiers': list(conf.notifiers),
        'vitrage_ds_notifiers': config.enabled_notifiers(conf),
    })


if __name__ == '__main__':
    main()
