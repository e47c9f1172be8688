"""The spark-submit entry points: thin scripts, one per job (a package only so that import-linter can check
what they import)."""
