"""The CSV import of master data: customers, contacts and installed products.

A top-level package rather than a subpackage of ``customers``: one import file writes
into two domains (customers and their contacts, and the products domain's installed
base), so it belongs to neither. It is an adapter at the edge, like the REST API: it
reads a file, checks each row with the domains' own rules (``clean_phones``, the
enums, the field limits) and writes in batches.

- ``importer``: ``import_csv``, the streaming reader and its rules (the module's
  docstring lists the columns per kind);
- ``rows``: one record's cells to column values, or ``RowInvalid``;
- ``write`` and ``sql``: the per-batch upsert, per database;
- ``batches``: batches in order, each in a savepoint, on a writer thread on PostgreSQL;
- ``cli`` (``callcenter import``), ``views`` (upload and progress pages) and ``jobs``
  (the background job that runs an uploaded file).
"""
