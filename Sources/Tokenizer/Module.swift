/// Module Tokenizer: see ../shared/DESIGN.md for what it owns.
enum TokenizerModule {}
