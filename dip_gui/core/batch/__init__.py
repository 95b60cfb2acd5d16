"""Batches: a folder of photos restored with the same settings (plan, report, one photo, the local runner)."""
