"""Developer scripts: the test fixture generators (tests/fixtures*/) and the
reference makers they drive (tfjs_ref/). Run from the repository root as
`/usr/bin/python3 -m tools.dev.<script>`; see tools/README.md."""
