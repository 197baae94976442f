/// Module Results: see ../shared/DESIGN.md for what it owns.
enum ResultsModule {}
