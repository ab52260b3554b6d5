import sys

from vidpipe.cli.main import main

sys.exit(main())
