/// Module HDF5: see ../shared/DESIGN.md for what it owns.
enum HDF5Module {}
