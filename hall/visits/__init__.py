"""Visits (接访): called from a ticket, live with a media room, ended with an outcome; the rows of
their recordings."""
