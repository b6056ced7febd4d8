"""vitrage_ds's classes for Vitrage 15's own slots.

Set Vitrage's class-path options in ``vitrage.conf`` to these classes and
Vitrage runs vitrage_ds's drivers and notifier with its own transformers,
evaluator and services (see ``doc/source/running-with-vitrage.rst``):

=====================  =============================================
``[heat.stack] driver``  ``vitrage_ds.vitrage.heat.HeatStackDriver``
``[aodh] driver``        ``vitrage_ds.vitrage.aodh.AodhDriver``
``[aodh] notifier``      ``vitrage_ds.vitrage.aodh_notifier.AodhNotifier``
=====================  =============================================

Importing this package imports nothing of Vitrage; the modules above import
``vitrage`` (and raise :class:`ImportError` saying so when it is missing),
and the rest of vitrage_ds never imports them.
"""
