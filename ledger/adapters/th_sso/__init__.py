"""Thailand Social Security Office (SSO)."""
