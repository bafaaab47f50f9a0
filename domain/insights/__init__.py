"""Member insight: tags, RFM, cohorts."""
