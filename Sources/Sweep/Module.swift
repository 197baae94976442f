/// Module Sweep: see ../shared/DESIGN.md for what it owns.
enum SweepModule {}
