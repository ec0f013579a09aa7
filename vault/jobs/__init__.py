"""Scheduled jobs: `vault jobs run` does what is due, once, whichever machine runs it.

`lock.py` makes one run at a time across machines (a PostgreSQL advisory lock;
a file lock on SQLite); `steps.py` holds the jobs, each calling the feature
service that owns its rule; `runner.py` runs them and journals each in
`job_runs` (`last_runs` for the administrator's overview). docs/operations.md
lists the jobs.
"""
