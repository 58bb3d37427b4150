"""Background work: `realname worker` processes run the jobs queued in the `jobs` collection.

A job kind is a name and `async def run(ctx, job) -> result`: `job` is the jobs document (its
`params` are what the submitter stored), `ctx` a JobContext (ctx.db, ctx.config, ctx.resumed —
True when an earlier worker died on this job — and `await ctx.progress({...})`). The returned
value (a small dict, or None) is stored as the job's `result`; an exception fails a one-off job
with its message. Kinds are listed in `kinds.py` as JobKind(name, run) or, for periodic work,
JobKind(name, run, every=lambda config: seconds). Submit with store.jobs.submit(db, name, params).
A killed worker's job is run again after its lease expires, so `run` must be safe to resume:
checkpoint progress in the database and skip what a checkpoint says is done.
Any number of workers may run; a job and each periodic interval run on exactly one of them.
"""
