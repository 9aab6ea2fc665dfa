"""Malaysia SOCSO (PERKESO): employment injury for foreign workers."""
