"""Templates of the projects `gymhall port` and `gymhall init` write (package data)."""
