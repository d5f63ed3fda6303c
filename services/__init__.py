"""Application services: they coordinate hall (the rules and rows), signaling (media rooms, the
event bus) and recording (files) for one process; `web` calls them, they never import `web`."""
