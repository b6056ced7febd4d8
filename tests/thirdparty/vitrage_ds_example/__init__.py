"""An example third-party vitrage_ds plugin package."""
