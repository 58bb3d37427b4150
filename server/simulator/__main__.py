"""`python -m server.simulator` runs the fleet as `realname simulate` does."""
import argparse
import sys

from .cli import add_arguments, main

parser = argparse.ArgumentParser(description="simulated attendance devices 模拟考勤设备")
add_arguments(parser)
sys.exit(main(parser.parse_args()))
