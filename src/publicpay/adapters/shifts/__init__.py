"""The cash office's documents: the deposit slip PDF (现金解款单) and the shift report workbook."""
