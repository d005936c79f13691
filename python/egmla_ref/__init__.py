"""PyTorch reference of the egmla-serve model (DESIGN.md section 3) and golden-data tools."""
