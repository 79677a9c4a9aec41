"""The kernel: infrastructure every domain uses (signals, domain initialisation, ...)."""
