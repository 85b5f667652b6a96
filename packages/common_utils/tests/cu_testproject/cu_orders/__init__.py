"""Test app cu_orders."""
