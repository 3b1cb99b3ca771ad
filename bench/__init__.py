"""`make bench`: a synthetic clinic and the benchmark figures of issues 6 and 7.

`bench.synthetic` builds the clinic through COPY; `bench.run` measures and
prints one JSON line per figure on stdout (progress goes to stderr).
"""
