/// Module ZeroMQ: see ../shared/DESIGN.md for what it owns.
enum ZeroMQModule {}
