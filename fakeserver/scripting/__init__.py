"""What a test asks of the fake: scripted replies (``script``), faults (``faults``) and scenario
files (``scenario``), which hold both.

::

    from fakeserver.scripting import Close, Withhold

    gmail.script.on("ehlo").fault(Withhold("PIPELINING"))
    gmail.script.on("end_of_data", times=1).fault(Close(when="before"))
"""

from __future__ import annotations

from fakeserver.scripting.faults import (
    FAULTS,
    AbortHandshake,
    BareLF,
    Close,
    Coalesce,
    Delay,
    Disconnect,
    Drip,
    Fault,
    Garbage,
    NoFinalCRLF,
    Overlong,
    Reset,
    SplitAt,
    Stall,
    TLSCertificate,
    Withhold,
)
from fakeserver.scripting.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from fakeserver.scripting.script import Expectation, Script, Step

__all__ = [
    "FAULTS",
    "AbortHandshake",
    "BareLF",
    "Close",
    "Coalesce",
    "Delay",
    "Disconnect",
    "Drip",
    "Expectation",
    "Fault",
    "Garbage",
    "NoFinalCRLF",
    "Overlong",
    "Reset",
    "Scenario",
    "ScenarioError",
    "Script",
    "SplitAt",
    "Stall",
    "Step",
    "TLSCertificate",
    "Withhold",
    "load_scenario",
    "parse_scenario",
]
