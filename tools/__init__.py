"""fcn's Python tools (tools/README.md).

fcn-convert and its package fcnconv are what users run; dev/ holds the
fixture generators and reference makers, bundled/ the scripts that train and
check the bundled model and make its demo and evaluation sets. The scripts in
dev/ and bundled/ are modules of this package, run from the repository root:

    /usr/bin/python3 -m tools.dev.gen_fixtures
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository
FCN_CONVERT = os.path.join(ROOT, "tools", "fcn-convert")
