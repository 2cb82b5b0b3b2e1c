"""MARC records from XML: safe parsing, both of Aleph's dialects, ISBNs, the field rules.

Pure functions over bytes and trees, no I/O: the message model builds its values from
here, and the catalogue client parses what Aleph sends with the same safe parser.
"""
