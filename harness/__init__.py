"""Test harness: a real livekit-server, real livekit-agents workers and real rtc participants, all on loopback."""
