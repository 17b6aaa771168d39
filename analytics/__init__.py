"""The DuckDB read model projected from the event log: usage, cost, tool-call and latency reports."""
