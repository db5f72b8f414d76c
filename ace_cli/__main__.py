from ace_cli.main import entry

entry()
