"""The benchmark and reliability drills (issue 11). See bench/README.md."""
