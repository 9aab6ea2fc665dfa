"""Lao PDR LSSO: social security for private-sector employees, its voluntary scheme, and a
placeholder migrant welfare fund."""
