"""`callcenter bridge`: the one process that talks to the PBX.

It holds the AMI link and the FastAGI server, turns AMI frames into call-state
effects (``telephony.callstate``) and hands those to the call log, the agents'
screens and the wallboard. Only one bridge per PBX is active (``leader``); a second
one waits as a standby and takes over when the first dies. ``telephony/README.md``
has the contract with the web side.
"""
