import sys

from gatedrnn.cli import main

sys.exit(main())
