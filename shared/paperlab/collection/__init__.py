"""The collection: catalog model, papermill runner and report (no maths in here)."""
