import sys

from harness_ext.cli import main

sys.exit(main())
