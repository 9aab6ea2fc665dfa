"""Myanmar Social Security Board (SSB): health and social care, employment injury."""
