/// Module Coordinator: see ../shared/DESIGN.md for what it owns.
enum CoordinatorModule {}
