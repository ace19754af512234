"""Fault experiments: run a client against a matrix of faults and report what it did."""
