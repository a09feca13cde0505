"""The learning service: study sessions, heartbeats, face checks during study and the hour ledger."""
