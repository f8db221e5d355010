"""The `statelane` command line: thin typer commands over `engine` and `asl`."""
