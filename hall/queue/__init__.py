"""The queue (排队): lines, rooms, tickets, offers, positions, presence, officers' availability,
live views and figures."""
