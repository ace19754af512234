"""Fault experiments: run a client against a matrix of faults (``matrix``, shipped in
``matrices/``), as a child process (``clientrun``), and report what it did (``experiment``,
``report``) and what it let go unprotected (``exposure``)."""

from __future__ import annotations

from fakeserver.experiments.experiment import Experiment
from fakeserver.experiments.exposure import Exposure
from fakeserver.experiments.matrix import Case, default_matrix, load_matrix
from fakeserver.experiments.options import ClientCommand, ExperimentOptions
from fakeserver.experiments.results import Outcome, Report, RunResult

__all__ = [
    "Case",
    "ClientCommand",
    "Experiment",
    "ExperimentOptions",
    "Exposure",
    "Outcome",
    "Report",
    "RunResult",
    "default_matrix",
    "load_matrix",
]
