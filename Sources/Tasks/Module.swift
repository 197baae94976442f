/// Module Tasks: see ../shared/DESIGN.md for what it owns.
enum TasksModule {}
