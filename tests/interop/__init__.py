"""Interoperability: published feeds as strict clients and independent parsers read them."""
