"""The run: one driver for every command, fed by a source and moved by the clock it is given."""
