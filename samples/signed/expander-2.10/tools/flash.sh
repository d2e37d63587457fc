#!/bin/sh
# fwkit sample: a real set would call sg_write_buffer here. It flashes nothing.
echo "would flash PUF21000.bin"
