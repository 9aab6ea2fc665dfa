"""Vietnam Social Security (VSS): compulsory social, health and unemployment insurance."""
