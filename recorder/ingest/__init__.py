"""Getting events from the Managed Agents API into the log: API access (raw JSON through the SDK), wall-clock
deadlines, retries, polling, streaming, secret scrubbing, and the bridge from asyncio to the store."""
