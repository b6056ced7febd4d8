"""The ``vitrage-ds`` command line (see :mod:`vitrage_ds.cli.app`)."""
