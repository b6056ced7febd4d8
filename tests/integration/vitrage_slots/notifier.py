"""Vitrage's notifier service's plugins and default endpoint, on given messages.

``notifier.py CONFIG INPUT OUTPUT``: parse ``CONFIG`` with Vitrage's
``parse_config``, load the notifier plugins of ``[DEFAULT] notifiers`` with
``VitrageNotifierService.get_notifier_plugins`` and hand each message of
``INPUT`` (JSON list of ``{event_type, payload}``) to Vitrage's
``VitrageDefaultEventEndpoint.info``, as its listener on ``vitrage.graph``
does. ``OUTPUT`` names the plugins loaded.
"""

from __future__ import annotations

import uuid

import common


def main() -> None:
    config_file, source, output = common.argv(3)
    common.parse(config_file)

    from vitrage.notifier.service import VitrageDefaultEventEndpoint, VitrageNotifierService

    plugins = VitrageNotifierService.get_notifier_plugins()
    endpoint = VitrageDefaultEventEndpoint(plugins)
    for message in common.read(source):
        endpoint.info({}, 'vitrage.graph', message['event_type'], message['payload'],
                      {'message_id': str(uuid.uuid4()), 'timestamp': message.get('timestamp')})
    for plugin in plugins:
        close = getattr(plugin, 'close', None)
        if close is not None:  # what the process's exit would cut short
            close()
    common.write(output, {'plugins': [type(p).__module__ + '.' + type(p).__name__
                                      for p in plugins]})


if __name__ == '__main__':
    main()
