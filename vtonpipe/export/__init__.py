"""`vtonpipe export`: an output folder -> a dataset folder in the VITON-HD or DressCode layout.

layouts.py holds the folder tables and naming rules, selection.py decides which persons, garments
and pairs go (and why the others do not), files.py places files (links, copies, conversions)
without clobbering what it did not write, run.py ties them together and words the summary.
"""
