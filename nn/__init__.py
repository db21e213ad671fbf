"""Neural networks built from Values."""
