"""python -m durable: the durable command."""

from .cli import main

main(prog_name="durable")
