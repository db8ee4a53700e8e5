"""The bundled model's scripts: train models/fashion.bin, make its example
image and detection sets, check the model and evaluate fcn-detect. Run from
the repository root as `/usr/bin/python3 -m tools.bundled.<script>`; see
tools/README.md and models/README.md."""
