"""Test app cu_reports."""
