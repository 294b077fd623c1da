"""The drift sweep: what each desired rule's regions hold, compared with what pullthrough last left there.

- ``request``: the sweep's input (scheduled event or on-demand request) and its mode;
- ``desired``: a desired rule item of the table as the sweep reads it (regions, what the last rollout deployed);
- ``inventory``: the reads, one region at a time, a fixed number of calls per region whatever the rule count;
- ``compare``: pure comparison of desired and held, findings in plain words;
- ``sweep``: the run (read, compare), then its writes: the report recorded and announced, and repair rollouts.
"""
