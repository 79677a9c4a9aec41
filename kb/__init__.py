"""The knowledge base: articles agents search during a call (known faults, fixes,
product documentation), in Chinese and English.

A top-level package as the layout promises; it builds on the kernel
(``callcenter.core``) and is linked from tickets and installed products by id, never
by reaching into their models.
"""
