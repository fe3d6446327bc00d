"""cloudsim: a local emulator of the AWS IoT device-facing services (Device Shadow so far).

Independent of the C++ SDK by design: a second reading of the protocol (PROTOCOLS.md).
"""

__version__ = "0.1.0"
