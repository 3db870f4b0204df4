"""`dq view`: a self-contained static site (leaderboard, pair explorer, doc view) over dq results.

    dq view RESULTS_DIR... --out SITE_DIR

Python API: ``harness_ext.view.site.build_site(paths, out_dir) -> index.html path``.
"""
