"""The PBX library: talking to Asterisk, with no knowledge of the call center.

``ami`` (the Manager Interface client), ``agi`` (the FastAGI protocol and server),
``callstate`` (AMI events to call effects, a pure state machine) and ``simulator`` (a
PBX that speaks AMI and FastAGI, for development and tests). Nothing here imports
``callcenter``; the glue that applies the effects to the domains is ``callcenter.bridge``.
"""
