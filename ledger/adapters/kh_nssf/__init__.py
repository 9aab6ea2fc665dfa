"""Cambodia National Social Security Fund (NSSF): occupational risk, health care, pension."""
