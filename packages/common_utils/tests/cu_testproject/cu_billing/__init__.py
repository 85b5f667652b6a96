"""Test app cu_billing."""
