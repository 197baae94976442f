/// Module NeoX: see ../shared/DESIGN.md for what it owns.
enum NeoXModule {}
