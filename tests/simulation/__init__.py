"""A deterministic simulation of a federation in one process.

See docs/adr/0014-deterministic-simulation.md for what it simulates and what it does not.

- :mod:`~tests.simulation.harness`: nodes (apps over their own SQLite files), the baseline;
- :mod:`~tests.simulation.network`: the simulated network, its faults and crashes;
- :mod:`~tests.simulation.workload`: what consultants and admins do, through the API;
- :mod:`~tests.simulation.invariants`: what must hold after every schedule;
- :mod:`~tests.simulation.schedule`: one seeded schedule, start to invariants;
- ``python -m tests.simulation``: many schedules, or the replay of one seed.
"""
