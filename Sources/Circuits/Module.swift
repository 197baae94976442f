/// Module Circuits: see ../shared/DESIGN.md for what it owns.
enum CircuitsModule {}
