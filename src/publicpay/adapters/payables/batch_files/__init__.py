"""Batch registration files (P5): reading CSV and Excel uploads into rows, the downloadable
template, and the per-row report as an Excel workbook."""
