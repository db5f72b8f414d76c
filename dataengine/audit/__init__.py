"""Looking at a corpus and deciding about it.

    summary.py  two streaming passes over the Parquet index: counts, score ranges and
                histograms, and bounded samples (per task, per score band, rejected)
    strips.py   one JPEG strip per sampled pair (input frames | mask | target), read from
                only the shards that hold the sampled keys
    plots.py    score histograms as PNG (matplotlib), kept vs rejected
    page.py     the static HTML page (jinja2)
    report.py   `ace data audit DIR` -> DIR/report/index.html
    export.py   `ace data export DIR --out NEW`: new shards of the accepted samples only
    cli.py      the audit, select, curate and export subcommands of `ace data`

The report opens from disk (relative links, no script, no network) and stays bounded in
size however large the corpus: it samples.
"""
