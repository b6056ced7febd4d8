"""Which values read from Heat are secrets, and how the tables mask them.

Heat hands its readers secrets in a few known places: resolved resource
attributes (an ``OS::Heat::RandomString``'s ``value``, often a password; an
``OS::Nova::KeyPair``'s ``private_key``; a wait condition's ``token``...),
server metadata and derived software configs (``deploy_password``,
``deploy_signal_id`` URLs that carry a signature) and whatever a template
author names ``db_password``. :func:`mask` replaces them by :data:`MASK`, the
string Heat itself shows for a hidden parameter.

A value is a secret when:

* it is an attribute :data:`SECRET_ATTRIBUTES` lists for its resource type
  (Heat 27's resource types, checked in Heat's source), or a property
  :data:`SECRET_PROPERTIES` lists (an event's ``resource_properties``);
* or it sits under a key whose name matches :data:`SECRET_NAME`
  (``password``, ``admin_pass``, ``secret``, ``token``, ``private_key``,
  ``signature``, ``deploy_signal_id``...), at any depth
  of a JSON value;
* or it is the ``value`` of a ``{"name": ..., "value": ...}`` item (a
  software config input) whose name matches :data:`SECRET_NAME`.

``None`` stays ``None`` (nothing is hidden where there is nothing), and
masking never raises: any other value comes back unchanged. Masking is a
safety net for known names, not a guarantee: a template's own text and a
software config's body are never masked, and a resolved property that a
hidden parameter gave its value is masked only by its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ['MASK', 'SECRET_ATTRIBUTES', 'SECRET_NAME', 'SECRET_PROPERTIES', 'is_secret_name',
           'mask', 'mask_attribute', 'mask_properties']

#: What a masked value reads (Heat's own mask for hidden parameters).
MASK = '******'

#: Resolved attributes that hold secrets, by resource type.
SECRET_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    'OS::Heat::RandomString': frozenset({'value'}),
    'AWS::IAM::AccessKey': frozenset({'SecretAccessKey'}),
    'OS::Nova::KeyPair': frozenset({'private_key'}),
    'OS::Barbican::Secret': frozenset({'decrypted_payload'}),
    'OS::Barbican::Order': frozenset({'private_key'}),
    'OS::Heat::WaitConditionHandle': frozenset({'token', 'curl_cli', 'signal'}),
    'OS::Heat::SwiftSignalHandle': frozenset({'token', 'endpoint', 'curl_cli'}),
    'OS::Heat::ScalingPolicy': frozenset({'alarm_url', 'signal_url'}),
    'AWS::AutoScaling::ScalingPolicy': frozenset({'AlarmUrl'}),
    'OS::Zaqar::SignedQueueURL': frozenset({'signature', 'query_str'}),
}

#: Properties that hold secrets under a name that does not say so, by
#: resource type (what an event's ``resource_properties`` may carry).
SECRET_PROPERTIES: Mapping[str, frozenset[str]] = {
    'OS::Barbican::Secret': frozenset({'payload'}),
    'OS::Neutron::IPsecSiteConnection': frozenset({'psk'}),
}

#: Names that say a value is a secret (searched, case-insensitive).
SECRET_NAME = re.compile(
    r'passw(or)?d|passphrase|admin_?pass|secret|token|private_?key|credential|signature'
    r'|api_?key|access_?key|signal_id|signal_url|alarm_?url|curl_cli', re.IGNORECASE)


def is_secret_name(name: Any) -> bool:
    """Whether ``name`` (a key, an attribute or input name) says "secret"."""
    return isinstance(name, str) and SECRET_NAME.search(name) is not None


def mask(value: Any, name: Any = None) -> Any:
    """``value`` with its secrets replaced by :data:`MASK` (see the module).

    :param name: the key ``value`` sits under, if any.
    """
    if value is None:
        return None
    if is_secret_name(name):
        return MASK
    if isinstance(value, Mapping):
        item_is_secret = is_secret_name(value.get('name')) and 'value' in value
        return {key: (MASK if item_is_secret and key == 'value' and inner is not None
                      else mask(inner, key))
                for key, inner in value.items()}
    if isinstance(value, list):
        return [mask(inner) for inner in value]
    return value


def mask_attribute(resource_type: Any, name: Any, value: Any) -> Any:
    """A resolved attribute ``name`` of a ``resource_type`` resource, masked."""
    secret = SECRET_ATTRIBUTES.get(resource_type) if isinstance(resource_type, str) else None
    if secret is not None and name in secret and value is not None:
        return MASK
    return mask(value, name)


def mask_properties(resource_type: Any, properties: Any) -> Any:
    """A ``resource_type`` resource's ``properties`` (an object), masked: the
    type's :data:`SECRET_PROPERTIES`, then as :func:`mask` does."""
    if not isinstance(properties, Mapping):
        return mask(properties)
    secret = SECRET_PROPERTIES.get(resource_type) if isinstance(resource_type, str) else None
    return {key: (MASK if secret is not None and key in secret and value is not None
                  else mask(value, key))
            for key, value in properties.items()}
