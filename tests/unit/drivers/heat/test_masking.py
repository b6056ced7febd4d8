"""masking: which values read from Heat are secrets, and what they become."""

from __future__ import annotations

import testtools

from vitrage_ds.drivers.heat.masking import (MASK, is_secret_name, mask, mask_attribute,
                                             mask_properties)


class TestSecretNames(testtools.TestCase):

    def test_names_that_say_secret(self) -> None:
        for name in ('password', 'db_password', 'adminPass', 'passwd', 'SecretAccessKey',
                     'token', 'private_key', 'deploy_signal_id', 'signal_url', 'api_key'):
            self.assertTrue(is_secret_name(name), name)

    def test_names_that_do_not(self) -> None:
        for name in ('name', 'first_address', 'value', 'role', 'deploy_action',
                     'bypass', None, 3):
            self.assertFalse(is_secret_name(name), name)


class TestMask(testtools.TestCase):

    def test_a_value_under_a_secret_name_is_masked_whatever_its_type(self) -> None:
        self.assertEqual([MASK, MASK, MASK], [mask('p', 'password'), mask({'a': 1}, 'token'),
                                              mask(7, 'secret')])

    def test_none_stays_none(self) -> None:
        self.assertIsNone(mask(None, 'password'))

    def test_keys_at_any_depth(self) -> None:
        self.assertEqual({'a': [{'b': {'token': MASK, 'c': 1}}]},
                         mask({'a': [{'b': {'token': 't', 'c': 1}}]}))

    def test_the_value_of_a_secret_named_item(self) -> None:
        self.assertEqual([{'name': 'deploy_password', 'type': 'String', 'value': MASK},
                          {'name': 'deploy_password', 'value': None},
                          {'name': 'role', 'value': 'web'}],
                         mask([{'name': 'deploy_password', 'type': 'String', 'value': 'p'},
                               {'name': 'deploy_password', 'value': None},
                               {'name': 'role', 'value': 'web'}]))

    def test_other_values_are_unchanged(self) -> None:
        value = {'name': 'web', 'ports': [1, 2], 'ok': True}
        self.assertEqual(value, mask(value))
        self.assertEqual('x', mask('x', 'name'))


class TestMaskAttribute(testtools.TestCase):

    def test_a_random_string_s_value(self) -> None:
        self.assertEqual(MASK, mask_attribute('OS::Heat::RandomString', 'value', 'Zq8'))

    def test_the_same_name_in_another_type_is_not_a_secret(self) -> None:
        self.assertEqual('x', mask_attribute('OS::Heat::Value', 'value', 'x'))

    def test_secret_names_in_any_type(self) -> None:
        self.assertEqual({'token': MASK}, mask_attribute('My::Type', 'signal', {'token': 't'}))
        self.assertEqual(MASK, mask_attribute(None, 'private_key', 'k'))


class TestMaskProperties(testtools.TestCase):

    def test_a_secret_s_payload(self) -> None:
        self.assertEqual({'name': 'db', 'payload': MASK},
                         mask_properties('OS::Barbican::Secret', {'name': 'db', 'payload': 'p'}))

    def test_the_same_name_in_another_type_is_not_a_secret(self) -> None:
        self.assertEqual({'payload': 'p'}, mask_properties('OS::Zaqar::Queue', {'payload': 'p'}))

    def test_secret_names_at_any_depth(self) -> None:
        self.assertEqual({'admin_pass': MASK, 'networks': [{'port': 'p', 'token': MASK}]},
                         mask_properties('OS::Nova::Server', {
                             'admin_pass': 'a', 'networks': [{'port': 'p', 'token': 't'}]}))

    def test_no_properties_stay_as_they_are(self) -> None:
        self.assertEqual({}, mask_properties('OS::Heat::Stack', {}))
        self.assertIsNone(mask_properties('OS::Barbican::Secret', None))
