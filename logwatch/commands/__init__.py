"""One module per subcommand; `common` builds what they share from the options."""
