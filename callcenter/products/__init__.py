"""The installed base (设备): products sold and in service, their warranty state, and
their assignment to the real end user. Repair orders and service contracts build on it.

A product belongs to one customer (its end user) and is visible exactly when that
customer is; this domain uses the customers domain only through its public functions
(``get_customer``, ``visible_to``, ``record_changes``).
"""
