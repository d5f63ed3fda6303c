"""Meetings (协调会 / 联席会议 / 包案调度会): scheduling, invitations and links, lobby, host
controls, attendance, minutes and decisions."""
