"""Case files (信访事项): registration, lifecycle and timeline, parties, notices, documents,
deadlines, links, departments' work, evaluation and the public query."""
