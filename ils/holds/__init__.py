"""A hold's life: acceptance, the queue, allocation, series order, the pickup deadline (the glossary's core)."""
