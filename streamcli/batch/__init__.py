"""`streamcli batch`: many requests from one JSONL input, here or via the Batch APIs.

`streamcli batch`: many requests from one JSONL input, run here with concurrency
(`runner`) or handed to the providers' Batch APIs (`api`), written as one result line
per item (`lines`, `output`), the provider batches recorded in the state database
(`ledger`).
"""
