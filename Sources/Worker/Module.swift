/// Module Worker: see ../shared/DESIGN.md for what it owns.
enum WorkerModule {}
