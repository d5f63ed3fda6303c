"""Accounts and where they sit: users and login sessions, village stations, the departments
register."""
