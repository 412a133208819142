"""The providers behind one interface: Kaleyra (v1, v2) and Meta; pydantic models and one error type."""
