"""Tests of the offline Managed Agents API emulator (recorder.emulator), driven through the real SDK."""
