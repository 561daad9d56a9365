"""HTTP servers on 127.0.0.1 that speak model vendors' wire formats, for tests and benchmarks."""
